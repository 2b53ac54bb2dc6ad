import { JsonText } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { MemoryDatabase, MemoryDatabaseError } from '../src/index.js';
import { ORDERS, order, ordersDb } from './helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof MemoryDatabaseError) return error.code;
    throw error;
  }
  return undefined;
}

describe('MemoryDatabase: tables and rows', () => {
  it('stores rows with every column, in column order, defaults filled', () => {
    const db = ordersDb();
    db.insert(ORDERS, { customer: 'ann', id: 1 });
    const row = db.get(ORDERS, [1]);
    expect(row).toEqual({ id: 1, customer: 'ann', total: null, note: null });
    expect(Object.keys(row ?? {})).toEqual(['id', 'customer', 'total', 'note']);
  });

  it('canonicalises int64 values: small bigints become numbers, large numbers are refused', () => {
    const db = ordersDb();
    db.insert(ORDERS, order(5));
    expect(db.get(ORDERS, [5n])?.id).toBe(5);
    db.insert(ORDERS, { id: 2n ** 60n, customer: 'big' });
    expect(db.get(ORDERS, [2n ** 60n])?.id).toBe(2n ** 60n);
    expect(codeOf(() => db.insert(ORDERS, { id: 2 ** 60, customer: 'x' }))).toBe('invalid_value');
  });

  it('rejects constraint violations without writing anything', () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    const end = db.logEnd();
    expect(codeOf(() => db.insert(ORDERS, order(1)))).toBe('duplicate_key');
    expect(codeOf(() => db.insert(ORDERS, { id: 2 }))).toBe('not_null');
    expect(codeOf(() => db.insert(ORDERS, { id: 2, customer: 'x', colour: 'red' }))).toBe('unknown_column');
    expect(codeOf(() => db.insert(ORDERS, { id: 2, customer: 'x', total: 'lots' }))).toBe('invalid_value');
    expect(codeOf(() => db.update(ORDERS, [9], { note: 'x' }))).toBe('row_not_found');
    expect(codeOf(() => db.update(ORDERS, [1], { customer: null }))).toBe('not_null');
    expect(codeOf(() => db.delete(ORDERS, [9]))).toBe('row_not_found');
    expect(codeOf(() => db.delete(ORDERS, [1, 2]))).toBe('invalid_key');
    expect(codeOf(() => db.insert('shop.nope', order(1)))).toBe('no_such_table');
    expect(codeOf(() => db.insertMany(ORDERS, [order(2), order(3), order(2)]))).toBe('duplicate_key');
    expect(db.logEnd()).toBe(end);
    expect(db.snapshotRows(ORDERS).map((r) => r.id)).toEqual([1]);
  });

  it('moves a row when an update changes its primary key', () => {
    const db = ordersDb();
    db.insertMany(ORDERS, [order(1), order(2)]);
    const after = db.update(ORDERS, [1], { id: 10 });
    expect(after).toEqual({ ...order(1), id: 10 });
    expect(db.snapshotRows(ORDERS).map((r) => r.id)).toEqual([2, 10]);
    expect(codeOf(() => db.update(ORDERS, [2], { id: 10 }))).toBe('duplicate_key');
    const last = db.logEntries().at(-1);
    expect(last).toMatchObject({ kind: 'change', op: 'u', before: order(1), after: { id: 10 }, beforeImage: 'full' });
  });

  it('accepts an update given as a whole new row or as a function of the current row', () => {
    const db = ordersDb();
    db.insert(ORDERS, order(1));
    db.update(ORDERS, [1], { id: 1, customer: 'bob', total: '2.00', note: 'n' });
    expect(db.get(ORDERS, [1])).toEqual({ id: 1, customer: 'bob', total: '2.00', note: 'n' });
    db.update(ORDERS, [1], (row) => ({ note: `${row.note}!` }));
    expect(db.get(ORDERS, [1])?.note).toBe('n!');
  });

  it('keys rows of a table without a primary key by a row id', () => {
    const db = new MemoryDatabase();
    db.createTable({ name: 'shop.log', columns: [{ name: 'line', type: { kind: 'string' } }] });
    const a = db.insert('shop.log', { line: 'a' });
    const b = db.insert('shop.log', { line: 'a' });
    expect(a).not.toEqual(b);
    db.update('shop.log', b, { line: 'b' });
    expect(db.snapshotRows('shop.log')).toEqual([{ line: 'a' }, { line: 'b' }]);
    db.delete('shop.log', a);
    expect(db.snapshotRows('shop.log')).toEqual([{ line: 'b' }]);
    expect(db.schemaOf('shop.log')).toMatchObject({ primaryKey: [], chunkKey: [] });
  });

  it('validates definitions', () => {
    const db = ordersDb();
    expect(codeOf(() => db.createTable({ name: ORDERS, columns: [{ name: 'id', type: { kind: 'int32' } }] }))).toBe(
      'table_exists',
    );
    expect(
      codeOf(() =>
        db.createTable({ name: 'a.b', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['x'] }),
      ),
    ).toBe('invalid_definition');
    expect(codeOf(() => db.createTable({ name: 'a..b', columns: [{ name: 'id', type: { kind: 'int32' } }] }))).toBe(
      'invalid_definition',
    );
    expect(codeOf(() => db.alterTable(ORDERS, { dropColumn: 'id' }))).toBe('invalid_definition');
    expect(
      codeOf(() => db.alterTable(ORDERS, { addColumn: { name: 'n', type: { kind: 'int32' }, nullable: false } })),
    ).toBe('invalid_definition');
    expect(db.schemaOf(ORDERS).columns.map((c) => c.name)).toEqual(['id', 'customer', 'total', 'note']);
  });

  it('checks values against every logical type', () => {
    const db = new MemoryDatabase();
    db.createTable({
      name: 's.t',
      columns: [
        { name: 'id', type: { kind: 'int32' } },
        { name: 'small', type: { kind: 'int16' } },
        { name: 'flag', type: { kind: 'boolean' } },
        { name: 'uid', type: { kind: 'uuid' } },
        { name: 'mood', type: { kind: 'enum', values: ['ok', 'meh'] } },
        { name: 'blob', type: { kind: 'bytes' } },
        { name: 'tags', type: { kind: 'array', element: { kind: 'int64' } } },
        { name: 'doc', type: { kind: 'json' } },
      ],
      primaryKey: ['id'],
    });
    db.insert('s.t', {
      id: 1,
      small: -32768,
      flag: true,
      uid: '123e4567-e89b-12d3-a456-426614174000',
      mood: 'meh',
      blob: new Uint8Array([1]),
      tags: [1n, null, 2n ** 62n],
      doc: new JsonText('{"a": [1, "x"], "big": 12345678901234567890}'),
    });
    expect(db.get('s.t', [1])?.doc).toStrictEqual(new JsonText('{"a": [1, "x"], "big": 12345678901234567890}'));
    expect(codeOf(() => db.insert('s.t', { id: 2, doc: { a: 1 } }))).toBe('invalid_value');
    expect(db.get('s.t', [1])?.tags).toEqual([1, null, 2n ** 62n]);
    expect(codeOf(() => db.insert('s.t', { id: 2, small: 40000 }))).toBe('invalid_value');
    expect(codeOf(() => db.insert('s.t', { id: 2, uid: 'NOT-A-UUID' }))).toBe('invalid_value');
    expect(codeOf(() => db.insert('s.t', { id: 2, mood: 'angry' }))).toBe('invalid_value');
    expect(codeOf(() => db.insert('s.t', { id: 2, blob: 'bytes' }))).toBe('invalid_value');
    expect(codeOf(() => db.insert('s.t', { id: 2, tags: ['1'] }))).toBe('invalid_value');
    expect(codeOf(() => db.insert('s.t', { id: 2.5 }))).toBe('invalid_value');
  });
});

describe('MemoryDatabase: the change log', () => {
  it('logs DDL, truncates and row changes with strictly increasing offsets', () => {
    const db = ordersDb({ clock: () => 1000 });
    db.insert(ORDERS, order(1));
    db.alterTable(ORDERS, { addColumn: { name: 'status', type: { kind: 'string' }, default: 'new' } });
    db.update(ORDERS, [1], { status: 'paid' });
    db.alterTable(ORDERS, { dropColumn: 'note' });
    db.truncate(ORDERS);
    db.dropTable(ORDERS);
    const log = db.logEntries();
    expect(log.map((e) => e.offset)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log.map((e) => e.kind)).toEqual(['schema', 'change', 'schema', 'change', 'schema', 'truncate', 'schema']);
    expect(log[0]).toMatchObject({ table: ORDERS, ddl: expect.stringContaining('CREATE TABLE shop.orders') });
    expect(log[2]).toMatchObject({ ddl: "ALTER TABLE shop.orders ADD COLUMN status string DEFAULT 'new'" });
    // Rows before the change keep their old shape; the existing row got the default.
    expect(log[3]).toMatchObject({
      before: { ...order(1), status: 'new' },
      after: { ...order(1), status: 'paid' },
    });
    if (log[4]?.kind !== 'schema' || log[6]?.kind !== 'schema') throw new Error('expected schema entries');
    expect(log[4].schema?.columns.map((c) => c.name)).toEqual(['id', 'customer', 'total', 'status']);
    expect(log[6].schema).toBeNull();
    expect(log.every((e) => e.commitTime === 1000)).toBe(true);
    expect(db.hasTable(ORDERS)).toBe(false);
  });

  it('gives the changes of one transaction consecutive offsets, one txId and one commit time', async () => {
    let now = 100;
    const db = ordersDb({ clock: () => now++ });
    await db.transaction(async (tx) => {
      tx.insert(ORDERS, order(1));
      await Promise.resolve();
      tx.insert(ORDERS, order(2));
      tx.update(ORDERS, [1], { note: 'x' });
      tx.delete(ORDERS, [2]);
    });
    db.insert(ORDERS, order(3));
    const rows = db.logEntries().filter((e) => e.kind === 'change');
    expect(rows.map((e) => [e.offset, e.op])).toEqual([
      [2, 'c'],
      [3, 'c'],
      [4, 'u'],
      [5, 'd'],
      [6, 'c'],
    ]);
    const txIds = rows.map((e) => (e.kind === 'change' ? e.txId : null));
    expect(new Set(txIds.slice(0, 4)).size).toBe(1);
    expect(txIds[4]).not.toBe(txIds[0]);
    expect(new Set(rows.slice(0, 4).map((e) => e.commitTime)).size).toBe(1);
    expect(rows[0]).toMatchObject({ before: null, after: order(1), beforeImage: 'none' });
    expect(rows[3]).toMatchObject({ before: order(2), after: null, beforeImage: 'full' });
  });

  it('keeps commit times non-decreasing when the clock goes backwards', () => {
    const times = [500, 400, 600];
    const db = ordersDb({ clock: () => times.shift() ?? 700 });
    db.insert(ORDERS, order(1));
    db.insert(ORDERS, order(2));
    expect(db.logEntries().map((e) => e.commitTime)).toEqual([500, 500, 600]);
  });

  it('writes nothing when a transaction callback throws', async () => {
    const db = ordersDb();
    const end = db.logEnd();
    await expect(
      db.transaction(async (tx) => {
        tx.insert(ORDERS, order(1));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(db.logEnd()).toBe(end);
    expect(db.rowCount(ORDERS)).toBe(0);
  });

  it('refuses to use a transaction after it ended', async () => {
    const db = ordersDb();
    let leaked: Parameters<Parameters<typeof db.transaction>[0]>[0] | undefined;
    await db.transaction((tx) => {
      leaked = tx;
    });
    expect(codeOf(() => leaked?.insert(ORDERS, order(1)))).toBe('transaction_closed');
  });

  it('sees its own writes inside a transaction', () => {
    const db = ordersDb();
    db.transactionSync((tx) => {
      tx.insert(ORDERS, order(1));
      tx.update(ORDERS, [1], { id: 2 });
      expect(() => tx.delete(ORDERS, [1])).toThrow(MemoryDatabaseError);
      tx.insert(ORDERS, order(1));
      tx.delete(ORDERS, [2]);
    });
    expect(db.snapshotRows(ORDERS)).toEqual([order(1)]);
  });
});
