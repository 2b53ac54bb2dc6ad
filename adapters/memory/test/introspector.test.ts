import {
  AdapterError,
  CheckpointError,
  type Key,
  OffsetUnavailableError,
  TableNotFoundError,
  type TableSchema,
} from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { MemoryDatabase, memoryAdapter, memoryOffsets } from '../src/index.js';
import { ORDERS, order, ordersDb, setup } from './helpers.js';

describe('adapter surface', () => {
  it('declares its name and every capability', () => {
    const adapter = memoryAdapter(new MemoryDatabase());
    expect(adapter.name).toBe('memory');
    expect(adapter.capabilities).toEqual({
      startFromEarliest: true,
      startFromTimestamp: true,
      schemaChanges: true,
      truncate: true,
      addTables: true,
    });
  });

  it('serialises offsets as numbers and refuses anything else with a typed error', () => {
    expect(memoryOffsets.toJSON(42)).toBe(42);
    expect(memoryOffsets.fromJSON(42)).toBe(42);
    expect(memoryOffsets.compare(1, 2)).toBeLessThan(0);
    expect(memoryOffsets.compare(2, 2)).toBe(0);
    for (const garbage of ['42', -1, 1.5, null, { lsn: 1 }, [1], Number.MAX_SAFE_INTEGER + 2]) {
      expect(() => memoryOffsets.fromJSON(garbage)).toThrow(CheckpointError);
    }
  });
});

describe('introspector', () => {
  it('lists and describes tables, with the primary key as chunk key', async () => {
    const db = ordersDb();
    db.createTable({ name: 'shop.items', columns: [{ name: 'sku', type: { kind: 'string' } }], primaryKey: ['sku'] });
    db.createTable({ name: 'plain', columns: [{ name: 'x', type: { kind: 'int32' } }] });
    db.createTable({ name: 'db.s.t', columns: [{ name: 'x', type: { kind: 'int32' } }] });
    const { introspector } = await setup(db);
    expect(await introspector.listTables()).toEqual([
      { database: 'db', schema: 's', name: 't' },
      { name: 'plain' },
      { schema: 'shop', name: 'items' },
      { schema: 'shop', name: 'orders' },
    ]);
    const [orders] = (await introspector.describeTables([{ schema: 'shop', name: 'orders' }])) as [TableSchema];
    expect(orders).toMatchObject({ id: { schema: 'shop', name: 'orders' }, primaryKey: ['id'], chunkKey: ['id'] });
    expect(orders.columns[0]).toEqual({ name: 'id', type: { kind: 'int64' }, nativeType: 'int64', nullable: false });
    expect(orders.columns[2]).toMatchObject({ nativeType: 'decimal(10,2)', nullable: true });
    await expect(introspector.describeTables([{ schema: 'shop', name: 'nope' }])).rejects.toThrow(TableNotFoundError);
    await expect(introspector.describeTables([{ schema: 'shop', name: 'nope' }])).rejects.toThrow(/shop\.nope/);
    await introspector.close();
  });

  it('reports the log end as high watermark and the position before the oldest entry as earliest', async () => {
    const db = new MemoryDatabase();
    const { introspector } = await setup(db);
    expect(await introspector.highWatermark()).toBe(0);
    expect(await introspector.lowWatermark()).toBe(0);
    expect(await introspector.earliestOffset?.()).toBe(0);
    db.createTable({ name: 's.t', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
    db.insertMany('s.t', [{ id: 1 }, { id: 2 }]);
    expect(await introspector.highWatermark()).toBe(3);
    expect(await introspector.lowWatermark()).toBe(3);
    db.truncateLogBefore(3);
    expect(await introspector.earliestOffset?.()).toBe(2);
    await introspector.close();
  });

  it('finds the offset just before the first change committed at or after a time', async () => {
    let now = 1000;
    const db = ordersDb({ clock: () => now }); // offset 1 at t=1000
    now = 2000;
    db.insert(ORDERS, order(1)); // 2
    db.insert(ORDERS, order(2)); // 3
    now = 3000;
    db.insert(ORDERS, order(3)); // 4
    const { introspector } = await setup(db);
    const at = (ms: number) => introspector.offsetAtTimestamp?.(new Date(ms));
    expect(await at(0)).toBe(0);
    expect(await at(1000)).toBe(0);
    expect(await at(1001)).toBe(1);
    expect(await at(2000)).toBe(1);
    expect(await at(2500)).toBe(3);
    expect(await at(3000)).toBe(3);
    expect(await at(9999)).toBe(4);
    db.truncateLogBefore(3);
    expect(await at(2500)).toBe(3);
    await expect(at(2000)).rejects.toThrow(OffsetUnavailableError);
    await introspector.close();
  });

  it('walks chunk boundaries of skewed keys so every chunk has chunkSize rows', async () => {
    const db = new MemoryDatabase();
    db.createTable({ name: 's.t', columns: [{ name: 'id', type: { kind: 'int64' } }], primaryKey: ['id'] });
    // 1000 dense keys, then 10 keys spread up to 2^62: an arithmetic split would put nearly all rows in one chunk.
    db.insertMany('s.t', [
      ...Array.from({ length: 1000 }, (_, i) => ({ id: i })),
      ...Array.from({ length: 10 }, (_, i) => ({ id: 2n ** BigInt(53 + i) })),
    ]);
    const { introspector } = await setup(db);
    const [schema] = (await introspector.describeTables([{ schema: 's', name: 't' }])) as [TableSchema];
    expect(await introspector.estimateRowCount(schema)).toBe(1010);
    expect(await introspector.keyRange(schema)).toEqual({ min: [0], max: [2n ** 62n] });
    const boundaries: Key[] = [];
    let from: Key | null = null;
    for (;;) {
      const next: Key | null = await introspector.nextChunkBoundary(schema, from, 300);
      if (next === null) break;
      boundaries.push(next);
      from = next;
    }
    expect(boundaries).toEqual([[300], [600], [900]]);
    // [900, end) holds 110 rows: fewer than a chunk.
    expect(await introspector.nextChunkBoundary(schema, [995], 5)).toEqual([2n ** 53n]);
    expect(await introspector.nextChunkBoundary(schema, [995], 15)).toBeNull();
    // `from` need not be a stored key.
    expect(await introspector.nextChunkBoundary(schema, [-50], 1)).toEqual([1]);
    expect(await introspector.nextChunkBoundary(schema, [2n ** 62n + 1n], 1)).toBeNull();
    await introspector.close();
  });

  it('returns null key range for an empty table', async () => {
    const db = ordersDb();
    const { adapter, introspector } = await setup(db);
    const [schema] = (await introspector.describeTables([{ schema: 'shop', name: 'orders' }])) as [TableSchema];
    expect(await introspector.keyRange(schema)).toBeNull();
    expect(await introspector.nextChunkBoundary(schema, null, 1)).toBeNull();
    expect(adapter.compareKeys(schema, [1], [2])).toBeLessThan(0);
    await introspector.close();
  });

  it('counts every reader and introspector as a connection until closed', async () => {
    const db = ordersDb();
    const adapter = memoryAdapter(db);
    const introspector = await adapter.createIntrospector();
    const chunks = await adapter.createChunkReader();
    const log = await adapter.createLogReader({ from: 0, tables: [] });
    expect(db.openConnections().map((c) => c.kind)).toEqual(['introspector', 'chunk-reader', 'log-reader']);
    await chunks.close();
    await log.close();
    await introspector.close();
    await introspector.close(); // idempotent
    expect(db.openConnections()).toEqual([]);
    await expect(introspector.highWatermark()).rejects.toThrow(AdapterError);
  });
});
