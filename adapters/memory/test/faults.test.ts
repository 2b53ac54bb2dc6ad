import { ConnectionLostError, isRetriable, type LogItem, type TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { MemoryDatabase, memoryAdapter } from '../src/index.js';
import { changes, ORDERS, order, ordersDb, Pull, readAll, schemasOf } from './helpers.js';

async function ordersWith(rows: number) {
  const db = ordersDb();
  db.insertMany(
    ORDERS,
    Array.from({ length: rows }, (_, i) => order(i)),
  );
  const adapter = memoryAdapter(db, { chunkBatchSize: 10 });
  const [schema] = (await schemasOf(adapter, ORDERS)) as [TableSchema];
  return { db, adapter, schema };
}

describe('injected faults', () => {
  it('fails the next N chunk reads with a retriable ConnectionLostError', async () => {
    const { db, adapter, schema } = await ordersWith(25);
    const reader = await adapter.createChunkReader();
    db.faults.failChunkReads(2);
    for (let i = 0; i < 2; i++) {
      const error = await readAll(reader.readChunk(schema, { start: null, end: null })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect(isRetriable(error)).toBe(true);
    }
    expect(db.faults.pendingChunkReadFailures).toBe(0);
    expect(await readAll(reader.readChunk(schema, { start: null, end: null }))).toHaveLength(25);
    await reader.close();
  });

  it('fails a chunk read mid-iteration, after some batches were delivered', async () => {
    const { db, adapter, schema } = await ordersWith(25);
    const reader = await adapter.createChunkReader();
    db.faults.failChunkReads(1, { afterBatches: 2 });
    const seen: number[] = [];
    const error = await (async () => {
      for await (const batch of reader.readChunk(schema, { start: null, end: null })) seen.push(batch.length);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([10, 10]);
    expect(error).toBeInstanceOf(ConnectionLostError);
    // A read shorter than the armed point still fails, where it would have finished.
    db.faults.failChunkReads(1, { afterBatches: 100 });
    await expect(readAll(reader.readChunk(schema, { start: [0], end: [5] }))).rejects.toThrow(ConnectionLostError);
    await reader.close();
  });

  it('drops the log connection at once, even while the reader waits', async () => {
    const db = ordersDb();
    const adapter = memoryAdapter(db);
    const reader = await adapter.createLogReader({ from: db.logEnd(), tables: await schemasOf(adapter, ORDERS) });
    const pull = new Pull(reader);
    await pull.next(); // the initial progress
    const waiting = pull.next(1000);
    await new Promise((r) => setTimeout(r, 10));
    expect(db.faults.dropLogConnections()).toBe(1);
    await expect(waiting).rejects.toThrow(ConnectionLostError);
    await reader.close();
    expect(db.openConnections()).toEqual([]);
  });

  it('drops the log connection after some items; a new reader resumes from the last offset', async () => {
    const db = ordersDb();
    db.insertMany(
      ORDERS,
      Array.from({ length: 10 }, (_, i) => order(i)),
    );
    const adapter = memoryAdapter(db, { logBatchSize: 3 });
    const tables = await schemasOf(adapter, ORDERS);
    const first = await adapter.createLogReader({ from: 1, tables });
    db.faults.dropLogConnections({ afterItems: 4 });
    const delivered: LogItem<number>[] = [];
    const error = await (async () => {
      for await (const batch of first) delivered.push(...batch);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(delivered.map((i) => i.offset)).toEqual([2, 3, 4, 5]);
    // Acknowledging on the dropped reader is a no-op, not a second failure.
    await first.acknowledge(5);
    expect(db.acknowledgedOffset).toBe(0);
    await first.close();

    // What the core does: reopen from the last offset it processed.
    const last = (delivered[delivered.length - 1] as LogItem<number>).offset;
    const second = await adapter.createLogReader({ from: last, tables });
    const rest = await new Pull(second).until(db.logEnd());
    expect(changes(rest).map((c) => c[0])).toEqual([6, 7, 8, 9, 10, 11]);
    await second.close();
  });

  it('frees acknowledged log entries when asked to, like a replication slot', async () => {
    const db = new MemoryDatabase({ releaseAcknowledgedLog: true });
    db.createTable({ name: 's.t', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
    for (let i = 0; i < 5000; i++) db.insert('s.t', { id: i });
    const adapter = memoryAdapter(db);
    const reader = await adapter.createLogReader({ from: 0, tables: await schemasOf(adapter, 's.t') });
    let acked = 0;
    for await (const batch of reader) {
      acked = (batch[batch.length - 1] as LogItem<number>).offset;
      // Small acknowledgements, one per 100 entries: truncation must stay cheap and exact.
      for (let o = Math.max(1, acked - 4000); o <= acked; o += 100) await reader.acknowledge(o);
      await reader.acknowledge(acked);
      expect(db.logStart()).toBe(acked);
      if (acked === db.logEnd()) break;
    }
    expect(db.logEntries()).toEqual([]);
    db.insert('s.t', { id: -1 });
    expect(db.logEntries().map((e) => e.offset)).toEqual([5002]);
    expect(db.offsetAtTime(0)).toBeUndefined();
    await reader.close();
  });

  it('reset() disarms every fault and releases held commits', () => {
    const db = ordersDb();
    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(1));
    db.faults.failChunkReads(3);
    db.faults.reset();
    expect(db.faults.visibilityLag).toBeNull();
    expect(db.faults.pendingChunkReadFailures).toBe(0);
    expect(db.rowCount(ORDERS)).toBe(1);
  });
});
