import { OffsetUnavailableError, type LogItem, type TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../src/index.js';
import { changes, ORDERS, order, ordersDb, Pull, schemasOf } from './helpers.js';

async function openLog(db: ReturnType<typeof ordersDb>, from: number, options = {}, tables = [ORDERS]) {
  const adapter = memoryAdapter(db, options);
  const schemas = await schemasOf(adapter, ...tables);
  const reader = await adapter.createLogReader({ from, tables: schemas });
  return { adapter, reader, pull: new Pull(reader), schemas };
}

describe('log reader', () => {
  it('delivers every entry after `from`, in log order, with full images', async () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    db.update(ORDERS, [1], { note: 'x' });
    db.update(ORDERS, [1], { id: 2 });
    db.delete(ORDERS, [2]);
    const { reader, pull } = await openLog(db, 0);
    const items = await pull.until(db.logEnd());
    expect(items.map((i) => i.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(items[0]).toMatchObject({ kind: 'schema', table: ORDERS, schema: { primaryKey: ['id'] } });
    expect(changes(items)).toEqual([
      [2, 'c', null, 1],
      [3, 'u', 1, 1],
      [4, 'u', 1, 2],
      [5, 'd', 2, null],
    ]);
    expect(items[2]).toMatchObject({ before: order(1), after: { ...order(1), note: 'x' }, beforeImage: 'full' });
    expect(items[1]).toMatchObject({ beforeImage: 'none', txId: expect.any(String), commitTime: expect.any(Number) });
    await reader.close();
  });

  it('resumes strictly after the offset it is opened at', async () => {
    const db = ordersDb();
    db.insertMany(ORDERS, [order(1), order(2), order(3)]); // offsets 2, 3, 4: one transaction
    const { reader, pull } = await openLog(db, 3); // inside the transaction
    expect(changes(await pull.until(4))).toEqual([[4, 'c', null, 3]]);
    await reader.close();
  });

  it('waits for new commits without polling, then reports progress only when it moved', async () => {
    const db = ordersDb();
    const { reader, pull } = await openLog(db, db.logEnd());
    // Opened at the log end: it says once where it is, so a high watermark taken now is seen to pass…
    expect(await pull.next()).toEqual([{ kind: 'progress', offset: db.logEnd() }]);
    expect(await pull.next(50)).toBe('timeout'); // …then, caught up and nothing moved: silent
    setTimeout(() => db.insert(ORDERS, order(1)), 10);
    const batch = await pull.next();
    expect(batch).not.toBe('timeout');
    expect(changes(batch as LogItem<number>[])).toEqual([[2, 'c', null, 1]]);
    expect(await pull.next(50)).toBe('timeout');
    await reader.close();
  });

  it('skips tables it does not capture but still reports progress to the log end', async () => {
    const db = ordersDb();
    db.createTable({ name: 'shop.other', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
    const start = db.logEnd();
    const { reader, pull } = await openLog(db, start);
    db.insert('shop.other', { id: 1 });
    db.insert('shop.other', { id: 2 });
    expect(await pull.until(start + 2)).toEqual([{ kind: 'progress', offset: start + 2 }]);
    db.insert(ORDERS, order(1));
    db.insert('shop.other', { id: 3 });
    const items = await pull.until(start + 4);
    expect(items.map((i) => [i.kind, i.offset])).toEqual([
      ['change', start + 3],
      ['progress', start + 4],
    ]);
    await reader.close();
  });

  it('always delivers schema changes, and captures tables added while running', async () => {
    const db = ordersDb();
    const { adapter, reader, pull } = await openLog(db, db.logEnd());
    db.createTable({ name: 'shop.items', columns: [{ name: 'sku', type: { kind: 'string' } }], primaryKey: ['sku'] });
    db.insert('shop.items', { sku: 'a' });
    const first = await pull.until(db.logEnd());
    expect(first.map((i) => i.kind)).toEqual(['schema', 'progress']);
    await reader.addTables?.(await schemasOf(adapter, 'shop.items'));
    db.insert('shop.items', { sku: 'b' });
    db.truncate('shop.items');
    const second = await pull.until(db.logEnd());
    expect(second.map((i) => i.kind)).toEqual(['change', 'truncate']);
    await reader.close();
  });

  it('delivers in batches of at most logBatchSize items', async () => {
    const db = ordersDb();
    db.insertMany(
      ORDERS,
      Array.from({ length: 25 }, (_, i) => order(i)),
    );
    const { reader, pull } = await openLog(db, 0, { logBatchSize: 10 });
    const sizes: number[] = [];
    let last = 0;
    while (last < db.logEnd()) {
      const batch = (await pull.next()) as LogItem<number>[];
      sizes.push(batch.length);
      last = (batch[batch.length - 1] as LogItem<number>).offset;
    }
    expect(sizes).toEqual([10, 10, 6]);
    await reader.close();
  });

  it('ends iteration promptly when closed while waiting', async () => {
    const db = ordersDb();
    const { reader, pull } = await openLog(db, db.logEnd());
    await pull.next(); // the initial progress
    const pending = pull.next(1000);
    await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await reader.close();
    expect(await pending).toBe('done');
    expect(Date.now() - started).toBeLessThan(100);
    expect(db.openConnections()).toEqual([]);
  });

  it('records acknowledged offsets on the database', async () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    const { reader } = await openLog(db, 0);
    expect(db.acknowledgedOffset).toBe(0);
    await reader.acknowledge(2);
    await reader.acknowledge(1); // never moves back
    expect(db.acknowledgedOffset).toBe(2);
    await reader.close();
  });

  it('refuses to open at a truncated offset, saying what was asked and what is kept', async () => {
    const db = ordersDb();
    db.insertMany(ORDERS, [order(1), order(2), order(3)]);
    db.truncateLogBefore(3);
    const adapter = memoryAdapter(db);
    const tables = await schemasOf(adapter, ORDERS);
    const open = (from: number) => adapter.createLogReader({ from, tables });
    await expect(open(1)).rejects.toThrow(OffsetUnavailableError);
    await expect(open(1)).rejects.toThrow(/after offset 1: .*the oldest entry kept is offset 3/);
    await expect(open(99)).rejects.toThrow(OffsetUnavailableError);
    const reader = await open(2);
    const items = await new Pull(reader).until(4);
    expect(items.map((i) => i.offset)).toEqual([3, 4]);
    await reader.close();
    expect(db.openConnections()).toEqual([]);
  });

  it('fails with OffsetUnavailableError when the log is truncated past a running reader', async () => {
    const db = ordersDb();
    db.insertMany(ORDERS, [order(1), order(2)]);
    const { reader, pull } = await openLog(db, 0, { logBatchSize: 1 });
    await pull.next();
    db.truncateLogBefore(3);
    await expect(pull.next()).rejects.toThrow(OffsetUnavailableError);
    await reader.close();
  });

  it('can carry key-only before-images', async () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    db.update(ORDERS, [1], { note: 'x' });
    db.delete(ORDERS, [1]);
    const { reader, pull } = await openLog(db, 1, { beforeImage: 'key' });
    const items = await pull.until(db.logEnd());
    expect(items.map((i) => (i.kind === 'change' ? [i.beforeImage, i.before] : null))).toEqual([
      ['none', null],
      ['key', { id: 1 }],
      ['key', { id: 1 }],
    ]);
    await reader.close();
  });

  it('can leave unchanged columns out of update after-images', async () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    db.update(ORDERS, [1], { total: '9.99' }); // note unchanged (null), customer unchanged
    db.update(ORDERS, [1], { note: 'x', customer: 'z' }); // both changed: full image
    const { reader, pull, schemas } = await openLog(db, 1, {
      partialImages: { table: ORDERS, columns: ['note', 'customer', 'id'] },
    });
    const items = await pull.until(db.logEnd());
    const [insert, partial, full] = items as [LogItem<number>, LogItem<number>, LogItem<number>];
    expect(insert).toMatchObject({ op: 'c', after: order(1) });
    expect(partial).toMatchObject({ op: 'u', after: { id: 1, total: '9.99' }, unchanged: ['note', 'customer'] });
    expect(Object.keys((partial as { after: object }).after)).toEqual(['id', 'total']);
    expect(full).toMatchObject({ op: 'u', after: { id: 1, customer: 'z', total: '9.99', note: 'x' } });
    expect('unchanged' in full).toBe(false);
    // The stored log is untouched: only this reader's view is partial.
    expect(db.logEntries()[2]).toMatchObject({ after: { ...order(1), total: '9.99' } });
    expect((schemas[0] as TableSchema).primaryKey).toEqual(['id']);
    await reader.close();
  });

  it('keeps up with a large log quickly', async () => {
    const db = ordersDb();
    const n = 200_000;
    db.insertMany(
      ORDERS,
      Array.from({ length: n }, (_, i) => order(i)),
    );
    const { reader } = await openLog(db, 0);
    const started = performance.now();
    let count = 0;
    for await (const batch of reader) {
      count += batch.length;
      if ((batch[batch.length - 1] as LogItem<number>).offset === db.logEnd()) break;
    }
    const ms = performance.now() - started;
    expect(count).toBe(n + 1);
    // Generous bound (a slice per batch does this in a few ms); catches an accidental O(n²).
    expect(ms).toBeLessThan(1000);
    await reader.close();
  });
});
