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
    const fresh = freshRows(events, tableOf, 2);
    expect(fresh?.map((f) => [f.table.name, f.columns, f.rows.map((r) => r.id)])).toEqual([
      ['a', ['id', 'v'], [1, 2, 3, 4, 2]],
      ['b', ['id', 'v'], [1, 2]],
    ]);
  });

  it('leaves every other batch to the plan', () => {
    const batches: [string, ChangeEvent[]][] = [
      ['an update', [...reads(a, 1, 3), update(a, { id: 1 }, { id: 1, v: 'u' })]],
      ['a delete', [...reads(a, 1, 3), remove(a, { id: 2 })]],
      ['a row without every column', [...reads(a, 1, 3), insert(a, { id: 9 })]],
      ['a table it does not know', [...reads(a, 1, 3), read(table('c', [...columns], ['id']), 1)]],
      ['a table under minRows', [...reads(a, 1, 3), read(b, 1)]],
      ['nothing', []],
    ];
    for (const [what, events] of batches) expect(freshRows(events, tableOf, 2), what).toBeNull();
    const renamed = { ...target(a), renamed: new Map([['w', 'v']]) };
    expect(
      freshRows(reads(a, 1, 3), () => renamed, 2),
      'renamed columns',
    ).toBeNull();
    expect(freshRows([...reads(a, 1, 3), truncate(a)], tableOf, 2), 'a truncate').toBeNull();
  });

  it('plans the rows one per key when asked, the last of a repeated key winning', () => {
    const fresh = freshRows([...reads(a, 1, 3), read(a, 2, 'last')], tableOf, 2);
    expect(fresh).not.toBeNull();
    expect(plannedRows(fresh![0]!)).toEqual([
      { id: 1, v: 'x' },
      { id: 2, v: 'last' },
      { id: 3, v: 'x' },
    ]);
  });
});
