import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeRun, runCommand } from '../../src/commands/run.js';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import type { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { MemorySink, shopDatabase, waitFor } from '../helpers.js';

const PASSWORD = 'pa$$:w"rd';
const yaml = (sink: string) => `
name: shop
source:
  adapter: postgres
  connection: postgres://cdc:\${PG_PASSWORD}@db.example:5432/shop
  tables: { include: ['shop.*'] }
sink: ${sink}
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

function stdoutCapture() {
  const chunks: string[] = [];
  return {
    output: {
      write(c: Uint8Array, cb: (e?: Error | null) => void) {
        chunks.push(Buffer.from(c).toString('utf8'));
        cb();
        return true;
      },
    },
    text: () => chunks.join(''),
  };
}

describe('highwater run (in-process)', () => {
  it('runs a snapshot to stdout with JSON logs naming the pipeline, stores the checkpoint file, exits 0', async () => {
    const pipeline = parsePipeline(yaml('{ type: stdout }'), join(dir, 'shop.yaml'), { PG_PASSWORD: PASSWORD });
    const stderr = capture();
    const stdout = stdoutCapture();
    const code = await executeRun(
      {
        pipeline,
        adapter: memoryAdapter(shopDatabase(25)) as SourceAdapter<unknown>,
        sourceOptions: { tables: { include: ['shop.*'] }, startup: { mode: 'snapshot' } },
      },
      { progress: 'off' },
      { stderr: stderr.stream, stdout: stdout.output, handleSignals: false },
    );
    expect(code).toBe(0);
    expect(stdout.text().trimEnd().split('\n')).toHaveLength(25);
    const logs = stderr
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(logs.every((l) => l.pipeline === 'shop' && typeof l.level === 'string')).toBe(true);
    expect(logs.map((l) => l.msg)).toContain('pipeline finished: everything is read');
    const stored = JSON.parse(await readFile(join(dir, 'shop.checkpoint.json'), 'utf8'));
    expect(stored.complete).toBe(true);
  });

  it('stops on request with exit code 0', async () => {
    const pipeline = parsePipeline(yaml('{ type: file, path: out/events.jsonl }'), join(dir, 'shop.yaml'), {
      PG_PASSWORD: PASSWORD,
    });
    let runner: PipelineRunner | null = null;
    const running = executeRun(
      {
        pipeline,
        adapter: memoryAdapter(shopDatabase(5)) as SourceAdapter<unknown>,
        sourceOptions: { tables: { include: ['shop.*'] } },
      },
      { progress: 'off', logFormat: 'pretty' },
      { stderr: capture().stream, handleSignals: false, onRunner: (r) => (runner = r) },
    );
    await waitFor(() => runner?.state === 'stream', 'the stream');
    runner!.stop();
    expect(await running).toBe(0);
    expect((await readFile(join(dir, 'out', 'events.jsonl'), 'utf8')).trimEnd().split('\n')).toHaveLength(5);
  });

  it('a sink whose close() never settles: the stop ends anyway, exit code 1 naming what timed out', async () => {
    const pipeline = parsePipeline(yaml('{ type: stdout }'), join(dir, 'shop.yaml'), { PG_PASSWORD: PASSWORD });
    const sink = new MemorySink(true);
    sink.close = () => new Promise<void>(() => undefined);
    const stderr = capture();
    let runner: PipelineRunner | null = null;
    const running = executeRun(
      {
        pipeline,
        adapter: memoryAdapter(shopDatabase(5)) as SourceAdapter<unknown>,
        sourceOptions: { tables: { include: ['shop.*'] } },
        sink,
        closeTimeoutMs: 200,
      },
      { progress: 'off' },
      { stderr: stderr.stream, handleSignals: false, onRunner: (r) => (runner = r) },
    );
    await waitFor(() => runner?.state === 'stream', 'the stream');
    runner!.stop();
    expect(await running).toBe(1);
    const errors = stderr
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string; code?: string })
      .filter((l) => l.level === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'HW_CLOSE_TIMEOUT',
        msg: expect.stringContaining("the memory sink's close() did not settle within 200 ms"),
      }),
    ]);
  });

  it('reports a failure in one line without the password, exit code 1; the stack only at debug level', async () => {
    const pipeline = parsePipeline(yaml('{ type: stdout }'), join(dir, 'shop.yaml'), { PG_PASSWORD: PASSWORD });
    const base = memoryAdapter(shopDatabase(1)) as SourceAdapter<unknown>;
    const adapter: SourceAdapter<unknown> = {
      ...base,
      createIntrospector: async () => {
        throw new Error(
          `connect to postgres://cdc:${PASSWORD}@db.example:5432/shop failed: password "${PASSWORD}" rejected`,
        );
      },
    };
    const setup = {
      pipeline,
      adapter,
      sourceOptions: { tables: { include: ['shop.*'] }, retry: { attempts: 0, initialDelayMs: 1, maxDelayMs: 1 } },
    };
    for (const logFormat of ['json', 'pretty'] as const) {
      const stderr = capture();
      const code = await executeRun(
        setup,
        { progress: 'off', logFormat },
        { stderr: stderr.stream, stdout: stdoutCapture().output, handleSignals: false },
      );
      expect(code).toBe(1);
      const text = stderr.text();
      expect(text).not.toContain('pa$$');
      const errorLines = text.split('\n').filter((l) => l.includes('error'));
      expect(errorLines).toHaveLength(1);
      expect(errorLines[0]).toContain(
        'the memory source could not start: connect to postgres://cdc:***@db.example:5432/shop failed',
      );
      expect(text).not.toContain('    at ');
    }
    const debug = capture();
    await executeRun(
      setup,
      { progress: 'off', logLevel: 'debug' },
      { stderr: debug.stream, stdout: stdoutCapture().output, handleSignals: false },
    );
    expect(debug.text()).toContain('    at ');
    expect(debug.text()).not.toContain('pa$$');
  });

  it('exits 2 with the file and the field for a bad pipeline file, before connecting anywhere', async () => {
    const file = join(dir, 'bad.yaml');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, yaml('{ type: stdout, format: avro }')));
    const stderr = capture();
    expect(await runCommand(file, {}, { stderr: stderr.stream, env: { PG_PASSWORD: PASSWORD } })).toBe(2);
    expect(stderr.text()).toMatch(/^highwater run: .*bad\.yaml: invalid pipeline:\n {2}sink\.format: /);
  });

  it('makes a SQL sink without connecting (open() connects)', async () => {
    const pipeline = parsePipeline(
      yaml('{ type: postgres, connection: "postgres://t:x@127.0.0.1:1/t" }'),
      join(dir, 'shop.yaml'),
      { PG_PASSWORD: PASSWORD },
    );
    const { createSink } = await import('../../src/sinks/create-sink.js');
    const sink = await createSink(pipeline, { pipelineName: 'shop', logger: { info() {}, warn() {}, debug() {} } });
    expect(sink.name).toBe('postgres');
    expect(sink.storesCheckpoints).toBe(true);
  });
});
