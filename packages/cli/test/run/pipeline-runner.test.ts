import {
  ConfigError,
  MemoryCheckpointStore,
  PermissionError,
  type SourceAdapter,
  TableNotFoundError,
} from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { changes, MemorySink, shopDatabase, waitFor } from '../helpers.js';

const tables = { include: ['shop.*'] };

describe('PipelineRunner', () => {
  it('snapshots, streams, stops gracefully with the checkpoint stored, and a restart neither loses nor repeats', async () => {
    const db = shopDatabase(300);
    const store = new MemoryCheckpointStore();
    const first = new MemorySink();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables, chunkSize: 40, batchSize: 25 },
      sink: first,
      checkpointStore: store,
    });
    const running = runner.run();
    await waitFor(() => changes(first.events).filter((c) => c.startsWith('r:')).length === 300, 'the snapshot');
    for (let id = 301; id <= 320; id++) db.insert('shop.orders', { id, note: 'new' });
    await waitFor(() => changes(first.events).includes('c:320'), 'the inserts');
    expect(runner.state).toBe('stream');
    runner.stop();
    const summary = await running;
    expect(summary.reason).toBe('stopped');
    expect(runner.state).toBe('stopped');
    expect(first.closed).toBe(1);
    // The store holds the checkpoint of the last batch written, not an older one.
    expect(await store.load()).toEqual(first.batches.at(-1)!.checkpoint);
    expect(summary.batches).toBe(first.batches.length);

    // Changes made while the pipeline is down are delivered by the next run, once.
    db.update('shop.orders', [5], { note: 'changed' });
    db.delete('shop.orders', [6]);
    db.insert('shop.orders', { id: 321, note: 'late' });
    const second = new MemorySink();
    const again = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables, chunkSize: 40, batchSize: 25 },
      sink: second,
      checkpointStore: store,
    });
    const rerun = again.run();
    await waitFor(() => changes(second.events).includes('c:321'), 'the changes made while stopped');
    again.stop();
    await rerun;
    expect(changes(second.events)).toEqual(['u:5', 'd:6', 'c:321']);
    const all = changes([...first.events, ...second.events]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('says stream (state, log) only once the sink has stored the whole snapshot, not when the source has read it', async () => {
    const db = shopDatabase(30);
    const sink = new MemorySink();
    let release: () => void = () => undefined;
    sink.gate = new Promise((resolve) => (release = resolve));
    const lines: string[] = [];
    const log = (_: object, message: string) => lines.push(message);
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables, batchSize: 1000 },
      sink,
      checkpointStore: new MemoryCheckpointStore(),
      logger: { info: log, warn: log, debug: () => undefined },
    });
    const running = runner.run();
    // The source has read every row; the sink still holds the batch that carries them.
    await waitFor(() => runner.metrics()?.state === 'stream', 'the source to finish reading');
    expect(sink.batches).toHaveLength(0);
    expect(runner.state).toBe('snapshot');
    expect(runner.storedPhase).toBeNull();
    expect(lines.some((l) => l.startsWith('snapshot stored'))).toBe(false);
    release();
    await waitFor(() => runner.state === 'stream', 'the snapshot to be stored');
    expect(runner.storedPhase).toBe('stream');
    expect(lines).toContain('snapshot stored: every table is in the sink and checkpointed; streaming changes');
    runner.stop();
    await running;
  });

  it('resumes from the checkpoint a checkpoint-storing sink returns, without a store', async () => {
    const db = shopDatabase(50);
    const sink = new MemorySink(true);
    const first = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables },
      sink,
    });
    const running = first.run();
    await waitFor(() => sink.stored.events.length >= 50, 'the snapshot');
    first.stop();
    await running;
    db.insert('shop.orders', { id: 51, note: 'after' });
    const resumed = new MemorySink(true, sink.stored);
    const second = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables },
      sink: resumed,
    });
    const rerun = second.run();
    await waitFor(() => changes(resumed.events).includes('c:51'), 'the insert');
    second.stop();
    await rerun;
    expect(changes(resumed.events)).toEqual(['c:51']);
  });

  it('finishes the batch being written when stopped mid-write and stores exactly its checkpoint', async () => {
    const db = shopDatabase(200);
    const store = new MemoryCheckpointStore();
    const sink = new MemorySink();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables, chunkSize: 20, batchSize: 20 },
      sink,
      checkpointStore: store,
    });
    let release!: () => void;
    let writing = false;
    sink.onWrite = () => {
      if (sink.batches.length === 2 && !writing) {
        writing = true;
        sink.gate = new Promise<void>((resolve) => {
          release = resolve;
        });
      }
    };
    const running = runner.run();
    await waitFor(() => writing, 'the third write');
    runner.stop();
    expect(runner.state).toBe('stopping');
    release();
    await running;
    expect(sink.batches).toHaveLength(3);
    expect(await store.load()).toEqual(sink.batches[2]!.checkpoint);
  });

  it('writes nothing when the source cannot start, and closes the sink', async () => {
    const db = shopDatabase(10);
    const base = memoryAdapter(db) as SourceAdapter<unknown>;
    const adapter: SourceAdapter<unknown> = {
      ...base,
      createIntrospector: async () => {
        throw new PermissionError('permission denied for table orders');
      },
    };
    const sink = new MemorySink(true);
    const runner = new PipelineRunner({
      adapter,
      source: { tables, retry: { attempts: 0, initialDelayMs: 1, maxDelayMs: 1 } },
      sink,
    });
    await expect(runner.run()).rejects.toBeInstanceOf(PermissionError);
    expect(sink.batches).toHaveLength(0);
    expect(sink.closed).toBe(1);
    expect(runner.state).toBe('failed');
  });

  it('fails on a table that does not exist, before writing', async () => {
    const sink = new MemorySink();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(1)) as SourceAdapter<unknown>,
      source: { tables: { include: ['shop.nope'] } },
      sink,
      checkpointStore: new MemoryCheckpointStore(),
    });
    await expect(runner.run()).rejects.toBeInstanceOf(TableNotFoundError);
    expect(sink.batches).toHaveLength(0);
  });

  it('stops when the sink fails, after closing the source and the sink', async () => {
    const sink = new MemorySink();
    sink.gate = Promise.reject(new Error('disk full'));
    const store = new MemoryCheckpointStore();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(5)) as SourceAdapter<unknown>,
      source: { tables },
      sink,
      checkpointStore: store,
    });
    await expect(runner.run()).rejects.toThrow('disk full');
    expect(await store.load()).toBeNull();
    expect(sink.closed).toBe(1);
    expect(runner.source?.metrics().state).toBe('closed');
  });

  it('ends with reason done after a snapshot-mode run, and stop() before run() stops at once', async () => {
    const sink = new MemorySink();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(30)) as SourceAdapter<unknown>,
      source: { tables, startup: { mode: 'snapshot' } },
      sink,
      checkpointStore: new MemoryCheckpointStore(),
    });
    const summary = await runner.run();
    expect(summary.reason).toBe('done');
    expect(summary.checkpoint?.complete).toBe(true);
    expect(changes(sink.events)).toHaveLength(30);

    const early = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(30)) as SourceAdapter<unknown>,
      source: { tables },
      sink: new MemorySink(),
      checkpointStore: new MemoryCheckpointStore(),
    });
    early.stop();
    expect((await early.run()).batches).toBe(0);
  });

  it('refuses a sink that does not store checkpoints without a store', () => {
    expect(
      () =>
        new PipelineRunner({
          adapter: memoryAdapter(shopDatabase(1)) as SourceAdapter<unknown>,
          source: { tables },
          sink: new MemorySink(false),
        }),
    ).toThrow(ConfigError);
  });
});
