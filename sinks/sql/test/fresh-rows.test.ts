import type { ChangeEvent, LogicalType, TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { freshRows, plannedRows } from '../src/fresh-rows.js';
import type { TargetTable } from '../src/target-table.js';
import { insert, remove, table, truncate, update } from './helpers.js';

const columns: [string, LogicalType][] = [
  ['id', { kind: 'int32' }],
  ['v', { kind: 'string' }],
];
const a = table('a', [...columns], ['id']);
const b = table('b', [...columns], ['id']);

function target(t: TableSchema): TargetTable {
  return {
    source: `src.${t.id.name}`,
    name: t.id.name,
    qualified: `"s"."${t.id.name}"`,
    key: ['id'],
    columns: new Map(t.columns.map((c) => [c.name, c])),
  };
}
const targets = new Map([a, b].map((t) => [`src.${t.id.name}`, target(t)]));
const tableOf = (name: string) => targets.get(name);
const read = (t: TableSchema, id: number, v = 'x'): ChangeEvent => ({ ...insert(t, { id, v }), op: 'r' });
const reads = (t: TableSchema, from: number, n: number) => Array.from({ length: n }, (_, i) => read(t, from + i));

describe('freshRows', () => {
  it('splits a batch of snapshot reads and inserts per table, in order, without looking at keys', () => {
    const events = [...reads(a, 1, 3), read(b, 1), insert(a, { id: 4, v: 'y' }), read(a, 2, 'again'), read(b, 2)];
    const split = freshRows(events, tableOf, 2);
    expect(split?.fresh.map((f) => [f.table.name, f.columns, f.rows.map((r) => r.id)])).toEqual([
      ['a', ['id', 'v'], [1, 2, 3, 4, 2]],
      ['b', ['id', 'v'], [1, 2]],
    ]);
    expect(split?.planned).toEqual([]);
  });

  it('plans every change of a key another change of the batch touches, and loads the other new rows', () => {
    const c = table('c', [...columns], ['id']);
    const events = [
      ...reads(a, 1, 4),
      update(a, { id: 2 }, { id: 2, v: 'u' }),
      remove(a, { id: 4 }),
      // A delete then a re-insert of the same key: the insert must run after the delete.
      insert(a, { id: 4, v: 'again' }),
      // A key moved onto a key read earlier in the batch.
      update(a, { id: 9 }, { id: 3, v: 'moved' }),
      read(c, 1),
      ...reads(a, 11, 2),
      read(b, 1),
    ];
    const split = freshRows(events, tableOf, 2);
    expect(split?.fresh.map((f) => [f.table.name, f.rows.map((r) => r.id)])).toEqual([['a', [1, 11, 12]]]);
    const planned = (split?.planned ?? []).map((e) => [e.source.table, e.op, e.after?.id ?? e.before?.id]);
    expect(planned).toEqual([
      ['src.a', 'r', 2],
      ['src.a', 'r', 3],
      ['src.a', 'r', 4],
      ['src.a', 'u', 2],
      ['src.a', 'd', 4],
      ['src.a', 'c', 4],
      ['src.a', 'u', 3],
      // A table it does not know.
      ['src.c', 'r', 1],
      // A table under minRows, after the rest.
      ['src.b', 'r', 1],
    ]);
  });

  it('plans a whole batch with a truncate, a stream batch or a new row without every column, and every change of a table with renamed columns', () => {
    expect(freshRows([...reads(a, 1, 3), truncate(a)], tableOf, 2), 'a truncate').toBeNull();
    // A stream's batch: inserts with an update and no snapshot read.
    const stream = [
      insert(a, { id: 1, v: 'x' }),
      insert(a, { id: 2, v: 'x' }),
      update(a, { id: 3 }, { id: 3, v: 'u' }),
    ];
    expect(freshRows(stream, tableOf, 2), 'a stream batch').toBeNull();
    expect(freshRows(stream.slice(0, 2), tableOf, 2)?.fresh, 'inserts only').toHaveLength(1);
    const renamed = { ...target(a), renamed: new Map([['w', 'v']]) };
    const split = freshRows(reads(a, 1, 3), () => renamed, 2);
    expect(split?.fresh).toEqual([]);
    expect(split?.planned).toHaveLength(3);
    expect(freshRows([], tableOf, 2)).toEqual({ fresh: [], planned: [] });
    // A new row without every column: the key may have rows loaded already.
    const events = [...reads(a, 1, 3), insert(a, { id: 1 }), read(a, 1)];
    expect(freshRows(events, tableOf, 2)).toEqual({ fresh: [], planned: events });
  });

  it('plans the rows one per key when asked, the last of a repeated key winning', () => {
    const split = freshRows([...reads(a, 1, 3), read(a, 2, 'last')], tableOf, 2);
    expect(split?.fresh).toHaveLength(1);
    expect(plannedRows(split!.fresh[0]!)).toEqual([
      { id: 1, v: 'x' },
      { id: 2, v: 'last' },
      { id: 3, v: 'x' },
    ]);
  });
});
