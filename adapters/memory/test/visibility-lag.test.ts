import type { TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { MemoryDatabaseError } from '../src/index.js';
import { changes, ORDERS, order, ordersDb, Pull, readAll, schemasOf, seeded, setup } from './helpers.js';

// The race DESIGN.md calls "Watermark safety": a commit reaches the log before readers can see it.
// These tests stage it deterministically with `holdCommits` and check what each reader sees.

describe('visibility lag', () => {
  it('puts a held commit in the log but not in chunk reads, and keeps the low watermark below it', async () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    const visibleEnd = db.logEnd();
    const { adapter, introspector } = await setup(db);
    const [schema] = (await schemasOf(adapter, ORDERS)) as [TableSchema];
    const chunks = await adapter.createChunkReader();

    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(2));
    db.update(ORDERS, [1], { note: 'held' });
    expect(db.faults.heldCommits).toBe(2);

    // The log has both commits…
    expect(db.logEnd()).toBe(visibleEnd + 2);
    expect(changes(db.logEntries().slice(-2))).toEqual([
      [visibleEnd + 1, 'c', null, 2],
      [visibleEnd + 2, 'u', 1, 1],
    ]);
    expect(await introspector.highWatermark()).toBe(visibleEnd + 2);
    // …a chunk read sees neither…
    expect(await readAll(chunks.readChunk(schema, { start: null, end: null }))).toEqual([order(1)]);
    expect(db.snapshotRows(ORDERS)).toEqual([order(1)]);
    // …and the low watermark stays below the first of them.
    expect(await introspector.lowWatermark()).toBe(visibleEnd);

    db.faults.releaseHeldCommits();
    expect(db.faults.heldCommits).toBe(0);
    expect(await readAll(chunks.readChunk(schema, { start: null, end: null }))).toEqual([
      { ...order(1), note: 'held' },
      order(2),
    ]);
    expect(await introspector.lowWatermark()).toBe(visibleEnd + 2);
    await chunks.close();
    await introspector.close();
  });

  it('lets the unsafe naive low watermark jump over a held commit (what the core must catch)', async () => {
    const db = ordersDb();
    const { introspector } = await setup(db, { unsafeNaiveLowWatermark: true });
    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(1));
    expect(await introspector.lowWatermark()).toBe(db.logEnd());
    expect(db.visibleThrough()).toBe(db.logEnd() - 1);
    db.faults.releaseHeldCommits();
    await introspector.close();
  });

  it('delivers held commits to the log reader before they are visible', async () => {
    const db = ordersDb();
    const adapter = (await setup(db)).adapter;
    const reader = await adapter.createLogReader({ from: db.logEnd(), tables: await schemasOf(adapter, ORDERS) });
    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(1));
    const items = await new Pull(reader).until(db.logEnd());
    expect(changes(items)).toEqual([[2, 'c', null, 1]]);
    expect(db.rowCount(ORDERS)).toBe(0);
    db.faults.releaseHeldCommits();
    await reader.close();
  });

  it('delivers held changes of tables it does not capture, so a table added later cannot miss them', async () => {
    const db = ordersDb();
    db.createTable({ name: 'shop.later', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
    const adapter = (await setup(db)).adapter;
    const reader = await adapter.createLogReader({ from: db.logEnd(), tables: await schemasOf(adapter, ORDERS) });
    const pull = new Pull(reader);
    await pull.next(); // the initial progress
    db.insert('shop.later', { id: 1 }); // visible: skipped
    db.faults.visibilityLag = { holdCommits: true };
    db.insert('shop.later', { id: 2 }); // held: delivered although not captured
    const items = await pull.until(db.logEnd());
    expect(items.map((i) => (i.kind === 'change' ? `${i.table}:${String(i.after?.id)}` : i.kind))).toEqual([
      'shop.later:2',
    ]);
    db.faults.releaseHeldCommits();
    await reader.close();
  });

  it('checks writers against held commits: they are committed, just not visible', () => {
    const db = ordersDb();
    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(1));
    expect(() => db.insert(ORDERS, order(1))).toThrow(MemoryDatabaseError);
    db.update(ORDERS, [1], { id: 2 });
    db.delete(ORDERS, [2]);
    db.insert(ORDERS, order(1));
    expect(db.rowCount(ORDERS)).toBe(0);
    db.faults.releaseHeldCommits();
    expect(db.snapshotRows(ORDERS)).toEqual([order(1)]);
  });

  it('makes held commits visible in log order, even when a later one was not held', () => {
    const db = ordersDb();
    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(1));
    db.faults.visibilityLag = null;
    db.insert(ORDERS, order(2)); // not held itself, but must wait for the commit before it
    expect(db.rowCount(ORDERS)).toBe(0);
    expect(db.visibleThrough()).toBe(1);
    db.faults.releaseHeldCommits();
    expect(db.rowCount(ORDERS)).toBe(2);
  });

  it('releases held commits before DDL, as DDL waits for running transactions', () => {
    const db = ordersDb();
    db.faults.visibilityLag = { holdCommits: true };
    db.insert(ORDERS, order(1));
    db.alterTable(ORDERS, { addColumn: { name: 'x', type: { kind: 'int32' } } });
    expect(db.snapshotRows(ORDERS)).toEqual([{ ...order(1), x: null }]);
    expect(db.faults.heldCommits).toBe(0);
  });

  it('holds commits for delayMs with the given probability, releasing them by timer', async () => {
    const db = ordersDb({ random: () => 0.3 });
    db.faults.visibilityLag = { delayMs: 20, probability: 0.5 };
    db.insert(ORDERS, order(1)); // 0.3 < 0.5: held
    db.faults.visibilityLag = { delayMs: 20, probability: 0.1 };
    db.insert(ORDERS, order(2)); // not held, but queued behind the first
    expect(db.rowCount(ORDERS)).toBe(0);
    const start = db.logEnd() - 2;
    expect(db.visibleThrough()).toBe(start);
    await new Promise((r) => setTimeout(r, 40));
    expect(db.rowCount(ORDERS)).toBe(2);
    expect(db.visibleThrough()).toBe(db.logEnd());
  });

  it('never lets the low watermark go backwards under random lag', async () => {
    const db = ordersDb({ random: seeded(1) });
    const { introspector } = await setup(db);
    db.faults.visibilityLag = { delayMs: 1, probability: 0.5 };
    let last = 0;
    for (let i = 0; i < 200; i++) {
      db.insert(ORDERS, order(i));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      const lw = await introspector.lowWatermark();
      expect(lw).toBeGreaterThanOrEqual(last);
      expect(lw).toBeLessThanOrEqual(db.logEnd());
      // Every change at or before the watermark is visible.
      for (const e of db.logEntries()) {
        if (e.kind === 'change' && e.offset <= lw) expect(db.get(ORDERS, [e.after?.id ?? -1])).toBeDefined();
      }
      last = lw;
    }
    db.faults.reset();
    await introspector.close();
  });
});
