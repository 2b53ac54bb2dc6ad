import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../src/checkpoint/memory-checkpoint-store.js';
import { ConfigError, ConnectionLostError, HighwaterError } from '../../src/errors/errors.js';
import type { ChangeEvent, SourceEvent } from '../../src/events/source-event.js';
import { createSource } from '../../src/source/create-source.js';
import type { SourceRetry } from '../../src/source/source-options.js';
import type { EventBatch } from '../../src/source/event-batch.js';
import type { SourceAdapter, UndecodedRows } from '../../src/spi/source-adapter.js';
import type { Row } from '../../src/values/value.js';

function tableOf(rows: number): MemoryDatabase {
  const db = new MemoryDatabase();
  db.createTable({
    name: 'app.t',
    columns: [
      { name: 'id', type: { kind: 'int32' } },
      { name: 'v', type: { kind: 'string' } },
    ],
    primaryKey: ['id'],
  });
  db.insertMany(
    'app.t',
    Array.from({ length: rows }, (_, id) => ({ id, v: `v${id}` })),
  );
  return db;
}

/** `app.t` (1000 rows, see {@link tableOf}) and `app.u` (500 rows of ids). */
function twoTables(): MemoryDatabase {
  const db = tableOf(1_000);
  db.createTable({ name: 'app.u', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
  db.insertMany(
    'app.u',
    Array.from({ length: 500 }, (_, id) => ({ id })),
  );
  return db;
}

/**
 * The memory adapter with deferred decoding, each undecoded piece's `decode()` replaced by `decode`
 * (given the piece and its chunk's range as JSON, and the piece's number within the chunk).
 */
function withDecode(
  db: MemoryDatabase,
  decode: (rows: UndecodedRows, chunk: string, piece: number) => readonly Row[],
): SourceAdapter<number> {
  const adapter = memoryAdapter(db, { deferDecoding: true, chunkBatchSize: 30 });
  return {
    ...adapter,
    createChunkReader: async () => {
      const reader = await adapter.createChunkReader();
      const read = reader.readUndecodedChunk?.bind(reader);
      if (read === undefined) throw new Error('deferDecoding did not give readUndecodedChunk');
      return {
        readChunk: (table, range) => reader.readChunk(table, range),
        readUndecodedChunk: async function* (table, range) {
          const chunk = JSON.stringify(range);
          let n = 0;
          for await (const rows of read(table, range)) {
            const piece = n++;
            yield { count: rows.count, decode: () => decode(rows, chunk, piece) };
          }
        },
        close: () => reader.close(),
      };
    },
  };
}

async function readSnapshot(iterator: AsyncIterator<EventBatch>): Promise<{ reads: number; last: EventBatch }> {
  let reads = 0;
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) throw new Error('ended before the snapshot finished');
    reads += value.events.filter((e) => e.kind === 'change' && e.op === 'r').length;
    if (Object.values(value.checkpoint.tables).every((t) => t.phase === 'stream')) return { reads, last: value };
  }
}

describe('source runtime', () => {
  it('slows reading down for a slow consumer: rows read stay bounded by the queue, not the table', async () => {
    const db = tableOf(50_000);
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['app.t'] },
      chunkSize: 100,
      parallelism: 2,
      batchSize: 100,
      maxQueuedBatches: 2,
    });
    const iterator = source[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Queue (2 batches) + one chunk per reader waiting to be released + the batch in hand, at 100 rows each.
    const read = source.metrics().snapshot.rowsRead;
    expect(read).toBeLessThanOrEqual((2 + 2 + 2) * 100);
    const { reads } = await readSnapshot(iterator);
    expect(reads + 100).toBeGreaterThanOrEqual(50_000);
    await source.close();
  });

  it('recovers from failed chunk reads and dropped log connections without losing or repeating rows', async () => {
    const db = tableOf(2_000);
    db.faults.failChunkReads(3, { afterBatches: 1 });
    const retries: SourceRetry[] = [];
    const source = createSource({
      adapter: memoryAdapter(db, { chunkBatchSize: 10 }),
      tables: { include: ['app.t'] },
      chunkSize: 50,
      retry: { attempts: 5, initialDelayMs: 0, maxDelayMs: 0 },
      onRetry: (retry) => retries.push(retry),
      phaseHooks: {
        afterRead: (split) => {
          if (split.index % 7 === 0) {
            db.update('app.t', [split.index], { v: `changed${split.index}` });
            db.faults.dropLogConnections({ afterItems: 0 });
          }
        },
      },
    });
    const seen = new Map<number, string>();
    let reads = 0;
    for await (const batch of source) {
      for (const e of batch.events) {
        if (e.kind !== 'change') continue;
        if (e.op === 'r') reads++;
        seen.set(e.after?.id as number, e.after?.v as string);
      }
      if (
        Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream') &&
        Number(batch.checkpoint.position) >= db.logEnd()
      )
        break;
    }
    await source.close();
    expect(db.faults.pendingChunkReadFailures).toBe(0);
    // Every retry is reported, with the error that caused it: the three failed chunk reads and the dropped log connections.
    expect(retries.filter((r) => r.reader === 'chunk')).toHaveLength(3);
    expect(retries.some((r) => r.reader === 'log')).toBe(true);
    for (const r of retries) {
      expect(r.error).toBeInstanceOf(ConnectionLostError);
      expect(r).toMatchObject({ attempts: 5, delayMs: 0 });
      expect(r.attempt).toBeGreaterThanOrEqual(1);
    }
    expect(reads).toBe(2_000);
    for (const row of db.snapshotRows('app.t')) expect(seen.get(row.id as number)).toBe(row.v);
    expect(db.openConnections()).toEqual([]);
  });

  it('fails with the typed error once retries are used up, and closes every connection', async () => {
    const db = tableOf(100);
    db.faults.failChunkReads(10);
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['app.t'] },
      retry: { attempts: 2, initialDelayMs: 0, maxDelayMs: 0 },
    });
    const consume = async () => {
      for await (const _ of source) {
        // nothing: the first chunk never succeeds
      }
    };
    await expect(consume()).rejects.toBeInstanceOf(ConnectionLostError);
    expect(source.metrics().state).toBe('failed');
    expect(db.openConnections()).toEqual([]);
  });

  it('wraps an unexpected adapter failure in a coded error that keeps the cause', async () => {
    const db = tableOf(10);
    const adapter = memoryAdapter(db);
    const broken: SourceAdapter<number> = {
      ...adapter,
      createChunkReader: async () => {
        throw new TypeError('driver exploded');
      },
    };
    const source = createSource({ adapter: broken, tables: { include: ['app.t'] } });
    const error = await (async () => {
      try {
        for await (const _ of source) {
          // unreachable
        }
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(HighwaterError);
    expect((error as HighwaterError).code).toBe('HW_ADAPTER');
    expect((error as HighwaterError).message).toContain('driver exploded');
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('keeps the checkpoint small however many chunks the snapshot had', async () => {
    const sizes: number[] = [];
    for (const chunkSize of [20_000, 10]) {
      const db = tableOf(20_000);
      const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.t'] }, chunkSize });
      const { last } = await readSnapshot(source[Symbol.asyncIterator]());
      await source.close();
      sizes.push(JSON.stringify(last.checkpoint).length);
      expect(source.metrics().snapshot.splitsDone).toBe(chunkSize === 10 ? 2_000 : 1);
    }
    // 2,000 finished chunks cost no more than one: finished chunks are not listed. The rest is the
    // table's definition (`schemas`, a fixed size per table: two columns here).
    expect(sizes[1]).toBeLessThanOrEqual((sizes[0] as number) + 20);
    expect(sizes[1]).toBeLessThan(600);
  });

  it('reports snapshot progress and stream metrics', async () => {
    const db = tableOf(1_000);
    const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.t'] }, chunkSize: 100 });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const during = source.metrics().snapshot.tables;
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ table: 'app.t', done: false });
    expect(during[0]?.splitsTotal).toBeGreaterThanOrEqual(10);
    await readSnapshot(iterator);
    db.update('app.t', [1], { v: 'x' });
    let change: ChangeEvent | undefined;
    while (change === undefined) {
      const { value } = await iterator.next();
      change = value?.events.find((e: SourceEvent): e is ChangeEvent => e.kind === 'change' && e.op === 'u');
    }
    const m = source.metrics();
    expect(m.state).toBe('stream');
    expect(m.snapshot).toMatchObject({
      tablesTotal: 1,
      tablesDone: 1,
      splitsDone: 10,
      splitsTotal: 10,
      rowsRead: 1_000,
      tables: [{ table: 'app.t', done: true, splitsDone: 10, splitsTotal: 10, rowsRead: 1_000 }],
    });
    expect(m.log).toEqual({ entriesBehind: 0 });
    expect(m.eventsEmitted).toBeGreaterThanOrEqual(1_001);
    expect(m.currentFetchEventTimeLag).not.toBeNull();
    expect(m.currentEmitEventTimeLag).not.toBeNull();
    expect(m.position).toBe(db.logEnd());
    await source.close();
  });

  it('saves each processed batch to the checkpoint store and acknowledges the log only then', async () => {
    const db = tableOf(300);
    const store = new MemoryCheckpointStore();
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['app.t'] },
      chunkSize: 100,
      checkpointStore: store,
      heartbeatIntervalMs: 20,
    });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(await store.load()).toBeNull(); // not processed yet
    await iterator.next();
    expect(await store.load()).toEqual(first.value?.checkpoint);
    await readSnapshot(iterator);
    db.insert('app.t', { id: 1_000, v: 'new' });
    const ackedBefore = db.acknowledgedOffset;
    for (;;) {
      const { value } = await iterator.next();
      if (value?.events.some((e: SourceEvent) => e.kind === 'change' && e.op === 'c')) break;
    }
    await iterator.next(); // processing the insert's batch commits it
    expect(db.acknowledgedOffset).toBeGreaterThan(ackedBefore);
    await source.close();
  });

  it('rejects bad options with a ConfigError naming the setting', () => {
    const adapter = memoryAdapter(new MemoryDatabase());
    expect(() => createSource({ adapter, tables: { include: ['a.b'] }, chunkSize: 0 })).toThrow(/chunkSize/);
    expect(() => createSource({ adapter, tables: { include: [] } })).toThrow(ConfigError);
    expect(() =>
      createSource({ adapter, tables: { include: ['a.b'] }, startup: { mode: 'sometime' } as never }),
    ).toThrow(/startup.mode/);
    expect(() =>
      createSource({
        adapter,
        tables: { include: ['a.b'] },
        startup: { mode: 'timestamp', timestamp: 'yesterday-ish' },
      }),
    ).toThrow(/startup.timestamp/);
  });

  it('stops capturing a table dropped in the middle of its snapshot and carries on with the others', async () => {
    const db = twoTables();
    let dropped = false;
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['app.*'] },
      chunkSize: 50,
      phaseHooks: {
        afterRead: (split) => {
          if (split.table === 'app.t' && split.index === 3 && !dropped) {
            dropped = true;
            db.dropTable('app.t');
          }
        },
      },
    });
    let droppedEvent = false;
    const readsOfU = new Set<number>();
    for await (const batch of source) {
      for (const e of batch.events) {
        if (e.kind === 'schema' && e.table === 'app.t' && e.schema === null) droppedEvent = true;
        if (e.kind === 'change' && e.op === 'r' && e.source.table === 'app.u') readsOfU.add(e.after?.id as number);
      }
      if (Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) break;
    }
    expect(droppedEvent).toBe(true);
    expect(readsOfU.size).toBe(500);
    await source.close();
    expect(db.openConnections()).toEqual([]);
  });

  it('captures a table dropped and created again under its name anew, with a snapshot of its own', async () => {
    const db = tableOf(100);
    const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.*'] }, chunkSize: 30 });
    const reads = new Set<number>();
    let recreated = false;
    const deadline = Date.now() + 20_000;
    for await (const batch of source) {
      if (!recreated && Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) {
        recreated = true;
        db.dropTable('app.t');
        db.createTable({
          name: 'app.t',
          columns: [
            { name: 'id', type: { kind: 'int32' } },
            { name: 'v', type: { kind: 'string' } },
          ],
          primaryKey: ['id'],
        });
        db.insertMany(
          'app.t',
          Array.from({ length: 10 }, (_, i) => ({ id: 1000 + i, v: 'again' })),
        );
      }
      for (const e of batch.events) {
        if (recreated && e.kind === 'change' && e.op === 'r' && (e.after?.id as number) >= 1000)
          reads.add(e.after?.id as number);
      }
      if (reads.size === 10 || Date.now() > deadline) break;
    }
    await source.close();
    // Without it, the log's drop ended the capture and the new table's rows never came.
    expect([...reads].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 1000 + i));
  });

  it('a chunk read that finds its table gone waits for the log to report the drop, then carries on with the others', async () => {
    // Postgres finds a dropped table in the catalog, after the chunk read already failed: the log
    // reader here holds back the batch with the drop as such an adapter would.
    const db = twoTables();
    const adapter = memoryAdapter(db);
    const lateDrops: SourceAdapter<number> = {
      ...adapter,
      async createLogReader(request) {
        const reader = await adapter.createLogReader(request);
        return {
          ...reader,
          acknowledge: (offset) => reader.acknowledge(offset),
          close: () => reader.close(),
          async *[Symbol.asyncIterator]() {
            for await (const batch of reader) {
              if (batch.some((i) => i.kind === 'schema' && i.schema === null)) {
                await new Promise((resolve) => setTimeout(resolve, 300));
              }
              yield batch;
            }
          },
        };
      },
    };
    let dropped = false;
    const abandoned: string[] = [];
    const source = createSource({
      adapter: lateDrops,
      tables: { include: ['app.*'] },
      chunkSize: 50,
      onSnapshotAbandoned: (table, reason) => abandoned.push(`${table}: ${reason}`),
      phaseHooks: {
        afterLowWatermark: (split) => {
          if (split.table === 'app.t' && split.index === 3 && !dropped) {
            dropped = true;
            db.dropTable('app.t');
          }
        },
      },
    });
    const readsOfT = new Set<number>();
    const readsOfU = new Set<number>();
    let droppedEvent = false;
    for await (const batch of source) {
      for (const e of batch.events) {
        if (e.kind === 'schema' && e.table === 'app.t' && e.schema === null) droppedEvent = true;
        if (e.kind !== 'change' || e.op !== 'r') continue;
        (e.source.table === 'app.u' ? readsOfU : readsOfT).add(e.after?.id as number);
      }
      if (Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) break;
    }
    await source.close();
    expect(droppedEvent).toBe(true);
    expect(readsOfU.size).toBe(500);
    // The chunks before the drop (at most the three read before it) were emitted, nothing after.
    expect(readsOfT.size).toBeLessThanOrEqual(150);
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]).toMatch(/^app\.t: table app\.t was dropped in the source while its snapshot was read/);
    expect(db.openConnections()).toEqual([]);
  });

  it('rejects start() with the setup error (and keeps rejecting with it), closing what it opened', async () => {
    const db = tableOf(10);
    const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.nope'] } });
    await expect(source.start()).rejects.toMatchObject({ code: 'HW_TABLE_NOT_FOUND' });
    await expect(source[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'HW_TABLE_NOT_FOUND' });
    expect(db.openConnections()).toEqual([]);
  });

  it('ends iteration after close()', async () => {
    const db = tableOf(10);
    const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.t'] } });
    const iterator = source[Symbol.asyncIterator]();
    await iterator.next();
    await source.close();
    for (let i = 0; i < 20; i++) {
      const { done } = await iterator.next();
      if (done) return;
    }
    throw new Error('iteration did not end after close()');
  });

  it('sends no heartbeat when heartbeats are off, and one per interval when idle', async () => {
    for (const heartbeatIntervalMs of [0, 20]) {
      const db = tableOf(10);
      const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.t'] }, heartbeatIntervalMs });
      const iterator = source[Symbol.asyncIterator]();
      await readSnapshot(iterator);
      const next = iterator.next();
      const outcome = await Promise.race([
        next.then(() => 'batch'),
        new Promise((r) => setTimeout(() => r('quiet'), 150)),
      ]);
      expect(outcome).toBe(heartbeatIntervalMs === 0 ? 'quiet' : 'batch');
      if (heartbeatIntervalMs > 0) expect((await next).value?.events[0]?.kind).toBe('heartbeat');
      await source.close();
    }
  });
  it('decodes undecoded chunk rows once each, only after the chunk passed its high watermark', async () => {
    const db = tableOf(1_000);
    const timeline: string[] = [];
    const decodes = new Map<string, number>();
    const withTimeline = withDecode(db, (rows, chunk, piece) => {
      const id = `${chunk}#${piece}`;
      timeline.push(`decode ${chunk}`);
      decodes.set(id, (decodes.get(id) ?? 0) + 1);
      return rows.decode();
    });
    let counted = 0;
    const source = createSource({
      adapter: withTimeline,
      tables: { include: ['app.t'] },
      startup: { mode: 'snapshot' },
      chunkSize: 100,
      parallelism: 3,
      phaseHooks: {
        afterRead: (_split, rows) => {
          counted += rows;
        },
        afterHighWatermark: (split) => {
          timeline.push(`hw ${JSON.stringify(split.range)}`);
        },
      },
    });
    const seen = new Set<number>();
    for await (const batch of source) {
      for (const e of batch.events) if (e.kind === 'change') seen.add(e.after?.id as number);
    }
    expect(seen.size).toBe(1_000);
    expect(counted).toBe(1_000);
    expect(decodes.size).toBeGreaterThanOrEqual(10 * 4);
    for (const [id, n] of decodes) expect(n, id).toBe(1);
    for (const [i, entry] of timeline.entries()) {
      if (!entry.startsWith('decode ')) continue;
      expect(timeline.slice(0, i), entry).toContain(`hw ${entry.slice('decode '.length)}`);
    }
  });
  it("makes a released chunk's events only when the consumer takes its batch, not while it waits in the queue", async () => {
    const db = tableOf(1_000);
    let decoded = 0;
    const counting = withDecode(db, (rows) => {
      decoded += rows.count;
      return rows.decode();
    });
    const source = createSource({
      adapter: counting,
      tables: { include: ['app.t'] },
      startup: { mode: 'snapshot' },
      chunkSize: 100,
      parallelism: 3,
    });
    let delivered = 0;
    let queuedMeanwhile = false;
    for await (const batch of source) {
      for (const e of batch.events) if (e.kind === 'change') delivered++;
      // Everything decoded so far is in the batches handed out: nothing was made ahead of the consumer.
      expect(decoded).toBe(delivered);
      // A slow consumer: the source reads and releases further chunks meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 5));
      queuedMeanwhile ||= source.metrics().snapshot.rowsRead > delivered;
    }
    expect(delivered).toBe(1_000);
    expect(queuedMeanwhile).toBe(true);
  });
  it("fails the source with the error when making a taken batch's events throws (a row that does not decode)", async () => {
    const db = tableOf(300);
    const broken = withDecode(db, () => {
      throw new Error('bad bytes in row 7');
    });
    const source = createSource({ adapter: broken, tables: { include: ['app.t'] }, startup: { mode: 'snapshot' } });
    const read = async () => {
      for await (const _batch of source) {
        // nothing: the first batch with rows fails
      }
    };
    await expect(read()).rejects.toThrow(/bad bytes in row 7/);
    expect(source.metrics().state).toBe('failed');
  });
  it('a truncate the log passed before a chunk registered its high watermark empties the chunk: no read row follows it', async () => {
    const db = tableOf(20);
    let seenTruncate: () => void = () => undefined;
    const truncateSeen = new Promise<void>((resolve) => {
      seenTruncate = resolve;
    });
    let truncated = false;
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['app.t'] },
      chunkSize: 5,
      parallelism: 1,
      phaseHooks: {
        // Between taking the high watermark and registering it: the log reader routes (and emits) the
        // truncate first, so the chunk, read before it, is released after it.
        afterHighWatermark: async (split) => {
          if (split.index !== 0 || truncated) return;
          truncated = true;
          db.truncate('app.t');
          db.insert('app.t', { id: 2, v: 'after' });
          await truncateSeen;
        },
      },
    });
    const table = new Map<number, string>();
    const problems: string[] = [];
    const iterator = source[Symbol.asyncIterator]();
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) throw new Error('ended before the snapshot finished');
      for (const e of value.events) {
        if (e.kind === 'truncate') {
          table.clear();
          seenTruncate();
        } else if (e.kind === 'change') {
          const id = (e.after ?? e.before)?.id as number;
          if ((e.op === 'c' || e.op === 'r') && table.has(id)) problems.push(`${e.op} of ${id}, already there`);
          if (e.after === null) table.delete(id);
          else table.set(id, e.after.v as string);
        }
      }
      if (Object.values(value.checkpoint.tables).every((t) => t.phase === 'stream')) break;
    }
    await source.close();
    expect(problems).toEqual([]);
    expect([...table]).toEqual([[2, 'after']]);
  });
});
