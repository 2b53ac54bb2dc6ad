import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/commands/run.js';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-cluster-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pipeline = (sink: string, cluster: string) => `
name: shop
source:
  adapter: postgres
  connection: postgres://cdc@db.example:5432/shop
  tables: { include: ['shop.*'] }
sink: ${sink}
cluster: ${cluster}
`;

describe('highwater run with a cluster section', () => {
  it('refuses a sink that cannot absorb a chunk written twice, before connecting to anything', async () => {
    const file = join(dir, 'shop.yaml');
    await writeFile(file, pipeline('{ type: file, path: out.jsonl }', "{ nats: { url: 'nats://127.0.0.1:1' } }"));
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (c: Buffer) => (text += c.toString()));
    const code = await runCommand(file, { logFormat: 'json' }, { stderr, handleSignals: false });
    expect(code).toBe(2);
    expect(text).toContain('sink type file cannot be used with cluster');
    expect(text).toContain('HW_CONFIG');
  });

  it('checks the cluster section: a NATS URL is required, timings have a floor, unknown fields are errors', () => {
    const sink = "{ type: postgres, connection: 'postgres://t@h/db' }";
    expect(() => parsePipeline(pipeline(sink, '{ nats: {} }'), 'p.yaml', {})).toThrow(/cluster\.nats\.url/);
    expect(() =>
      parsePipeline(pipeline(sink, "{ nats: { url: 'nats://n:4222', ackWaitMs: 10 } }"), 'p.yaml', {}),
    ).toThrow(/ackWaitMs/);
    expect(() => parsePipeline(pipeline(sink, "{ nats: { url: 'nats://n:4222' }, reader: 2 }"), 'p.yaml', {})).toThrow(
      /reader/,
    );
    const ok = parsePipeline(
      pipeline(sink, "{ nats: { url: ['nats://a:4222', 'nats://b:4222'], replicas: 3 }, readers: 2 }"),
      'p.yaml',
      {},
    );
    expect(ok.config.cluster?.nats.url).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(ok.config.cluster?.readers).toBe(2);
  });
});
