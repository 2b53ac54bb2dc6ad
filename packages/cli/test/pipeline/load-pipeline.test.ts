import { ConfigError } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import { redact } from '../../src/pipeline/redact.js';
import { createAdapter } from '../../src/sources/create-adapter.js';

const minimal = `
source:
  adapter: postgres
  connection: postgres://cdc:\${PG_PASSWORD}@db:5432/shop
  tables: { include: ['public.*'] }
sink:
  type: stdout
`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('pipeline files', () => {
  it('fills defaults, substitutes the environment and remembers the secret', () => {
    const p = parsePipeline(minimal, '/etc/hw/shop.yaml', { PG_PASSWORD: 's3cr:et#1' });
    expect(p.name).toBe('shop');
    expect(p.checkpointPath).toBe('/etc/hw/shop.checkpoint.json');
    expect(p.config.source.connection).toBe('postgres://cdc:s3cr:et#1@db:5432/shop');
    expect(p.config.source.startup).toBe('initial');
    expect(p.config.sink).toEqual({ type: 'stdout', format: 'native' });
    expect(p.config.metrics).toBeUndefined();
    expect(p.secrets).toContain('s3cr:et#1');
    expect(redact(`failed: ${p.config.source.connection as string}`, p.secrets)).toBe(
      'failed: postgres://cdc:***@db:5432/shop',
    );
  });

  it('accepts adapter: oracle with its LogMiner options, and builds the Oracle adapter', async () => {
    const text = minimal
      .replace(
        'adapter: postgres',
        'adapter: oracle\n  options: { windowScns: 5000, pollMs: 200, rowidKeys: true, redoFlushMs: 4000, pdb: FREEPDB1, pdbMining: root }',
      )
      .replace('postgres://', 'oracle://')
      .replace('@db:5432/shop', '@db:1521/FREEPDB1');
    const p = parsePipeline(text, 'orders.yaml', { PG_PASSWORD: 'x' });
    expect(p.config.source).toMatchObject({
      adapter: 'oracle',
      options: {
        windowScns: 5000,
        pollMs: 200,
        rowidKeys: true,
        redoFlushMs: 4000,
        pdb: 'FREEPDB1',
        pdbMining: 'root',
      },
    });
    expect((await createAdapter(p.config.source, p.name)).name).toBe('oracle');
    const e = errorOf(() =>
      parsePipeline(text.replace('pollMs: 200', 'slotName: x'), 'orders.yaml', { PG_PASSWORD: 'x' }),
    );
    expect(e.message).toContain('unknown field slotName');
  });

  it('reads a nats sink with its defaults, and builds it with the pipeline name', async () => {
    const text = minimal.replace(
      'type: stdout',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the pipeline file's own ${…} syntax
      "type: nats\n  url: 'nats://hw:${NATS_PASSWORD}@broker:4222'\n  streamLimits: { maxBytes: 1000000 }",
    );
    const p = parsePipeline(text, 'shop.yaml', { PG_PASSWORD: 'x', NATS_PASSWORD: 'n4ts' });
    expect(p.config.sink).toEqual({
      type: 'nats',
      url: 'nats://hw:n4ts@broker:4222',
      format: 'native',
      streamLimits: { maxBytes: 1_000_000 },
    });
    expect(p.secrets).toContain('n4ts');
    const { createSink } = await import('../../src/sinks/create-sink.js');
    const sink = await createSink(p, { pipelineName: p.name, logger: { info() {}, warn() {}, debug() {} } });
    expect(sink).toMatchObject({
      name: 'nats',
      storesCheckpoints: true,
      stream: 'highwater-shop',
      subjectPrefix: 'shop',
    });
    const e = errorOf(() =>
      parsePipeline(text.replace('maxBytes: 1000000', 'maxBytes: -1'), 'shop.yaml', {
        PG_PASSWORD: 'x',
        NATS_PASSWORD: 'n',
      }),
    );
    expect(e.message).toContain('sink.streamLimits.maxBytes');
  });

  it('names the variable and the field when the environment lacks it', () => {
    const e = errorOf(() => parsePipeline(minimal, 'shop.yaml', {}));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the message quotes the file's ${…} syntax
    expect(e.message).toContain('shop.yaml: source.connection uses ${PG_PASSWORD}');
    expect(e.message).toContain('PG_PASSWORD is not set');
  });

  it('names the file, every bad field and what is allowed', () => {
    const bad = minimal.replace('adapter: postgres', 'adapter: postgres\n  chunkSize: -3\n  tabels: {}');
    const e = errorOf(() => parsePipeline(bad, 'shop.yaml', { PG_PASSWORD: 'x' }));
    expect(e.message).toMatch(/^shop\.yaml: invalid pipeline:/);
    expect(e.message).toContain('source.chunkSize:');
    expect(e.message).toContain('source: unknown field tabels');
  });

  it('says which sink types exist', () => {
    const e = errorOf(() =>
      parsePipeline(minimal.replace('type: stdout', 'type: kafka'), 'p.yaml', { PG_PASSWORD: 'x' }),
    );
    expect(e.message).toContain('sink.type');
    expect(e.message).toMatch(/stdout.*file.*postgres.*mysql/);
  });

  it('takes sink.schemaChanges (evolve, lenient, ignore, exception) and names what is allowed otherwise', () => {
    const sql = (mode: string) =>
      minimal.replace('type: stdout', `type: postgres\n  connection: postgres://w@t/db\n  schemaChanges: ${mode}`);
    for (const mode of ['evolve', 'lenient', 'ignore', 'exception']) {
      expect(parsePipeline(sql(mode), 'p.yaml', { PG_PASSWORD: 'x' }).config.sink).toMatchObject({
        schemaChanges: mode,
      });
    }
    const e = errorOf(() => parsePipeline(sql('try_evolve'), 'p.yaml', { PG_PASSWORD: 'x' }));
    expect(e.message).toContain('sink.schemaChanges');
    expect(e.message).toMatch(/evolve.*lenient.*ignore.*exception/);
  });

  it('reports YAML syntax errors with the file', () => {
    const e = errorOf(() => parsePipeline('source: [unclosed', 'p.yaml'));
    expect(e.message).toMatch(/^p\.yaml: not valid YAML/);
  });
});

describe('redact', () => {
  it('hides long secrets anywhere and short ones only inside URLs', () => {
    expect(redact('auth failed with s3cret for mysql', ['s3cret', 'y'])).toBe('auth failed with *** for mysql');
    expect(redact('mysql://u:y@h/db', ['y'])).toBe('mysql://u:***@h/db');
  });
});
