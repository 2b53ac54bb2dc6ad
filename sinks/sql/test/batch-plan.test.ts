import { describe, expect, it } from 'vitest';
import { BatchPlan } from '../src/batch-plan.js';
import type { TargetTable } from '../src/target-table.js';
import { insert, remove, table, update } from './helpers.js';

const t = table(
  't',
  [
    ['id', { kind: 'int32' }],
    ['v', { kind: 'string' }],
  ],
  ['id'],
);
const target: TargetTable = {
  source: 'src.t',
  name: 't',
  qualified: '"s"."t"',
  key: ['id'],
  columns: new Map(t.columns.map((c) => [c.name, c])),
};

describe('BatchPlan', () => {
  it('coalesces changes of different keys and keeps each key in order', () => {
    const plan = new BatchPlan();
    for (let i = 0; i < 100; i++) plan.add(target, insert(t, { id: i, v: 'x' }));
    plan.add(target, remove(t, { id: 1 }));
    plan.add(target, insert(t, { id: 1, v: 'again' }));
    plan.add(target, remove(t, { id: 2 }));
    plan.add(target, update(t, { id: 3 }, { id: 300, v: 'moved' }));
    expect(
      plan.groups.map((g) => [g.kind, g.kind === 'upsert' ? g.rows.size : g.kind === 'delete' ? g.keys.size : 0]),
    ).toEqual([
      ['upsert', 100],
      ['delete', 3],
      ['upsert', 2],
    ]);
    const last = plan.groups[2];
    expect(last?.kind === 'upsert' && [...last.rows.values()]).toEqual([
      { id: 1, v: 'again' },
      { id: 300, v: 'moved' },
    ]);
  });

  it('does not merge a change of a TOAST-less update with full rows', () => {
    const plan = new BatchPlan();
    plan.add(target, insert(t, { id: 1, v: 'x' }));
    plan.add(target, update(t, { id: 1 }, { id: 1 }, ['v']));
    expect(plan.groups.map((g) => (g.kind === 'upsert' ? g.columns : []))).toEqual([['id', 'v'], ['id']]);
  });
});
