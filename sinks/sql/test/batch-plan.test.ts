import type { Row } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { BatchPlan, type StatementGroup } from '../src/batch-plan.js';
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
const other: TargetTable = { ...target, source: 'src.o', name: 'o', qualified: '"s"."o"' };

/** The groups as plain data: kind, table, and the rows (upserts) or keys (deletes) in order. */
function shape(groups: readonly StatementGroup[]) {
  return groups.map((g) => {
    if (g.kind === 'truncate') return ['truncate', g.table.name];
    if (g.kind === 'delete') return ['delete', g.table.name, [...g.keys.values()]];
    return ['upsert', g.table.name, [...g.rows.values()], g.columns, g.fresh];
  });
}

/** The rows a table ends with when `groups` run against `start` (what the statements do, in order). */
function applied(groups: readonly StatementGroup[], start: readonly Row[]): Row[] {
  const rows = new Map<unknown, Row>(start.map((r) => [r.id, r]));
  for (const g of groups) {
    if (g.kind === 'truncate') rows.clear();
    else if (g.kind === 'delete') for (const key of g.keys.values()) rows.delete(key[0]);
    else for (const row of g.rows.values()) rows.set(row.id, { ...(rows.get(row.id) ?? { v: null }), ...row });
  }
  return [...rows.values()].sort((a, b) => Number(a.id) - Number(b.id));
}

describe('BatchPlan', () => {
  it('writes each key once, as the batch leaves it: one delete and one upsert for the table', () => {
    const plan = new BatchPlan();
    for (let i = 0; i < 100; i++) plan.add(target, insert(t, { id: i, v: 'x' }));
    plan.add(target, update(t, { id: 5, v: 'x' }, { id: 5, v: 'y' }));
    plan.add(target, remove(t, { id: 2 }));
    const groups = shape(plan.groups);
    expect(groups.map((g) => g[0])).toEqual(['delete', 'upsert']);
    expect(groups[0]).toEqual(['delete', 't', [[2]]]);
    const upserted = groups[1]?.[2] as Row[];
    expect(upserted).toHaveLength(99);
    expect(upserted.find((r) => r.id === 5)).toEqual({ id: 5, v: 'y' });
    expect(upserted.some((r) => r.id === 2)).toBe(false);
  });

  it('keeps a delete before a re-insert of the same key, so the re-inserted row replaces the stored one', () => {
    const plan = new BatchPlan();
    plan.add(target, remove(t, { id: 1 }));
    plan.add(target, insert(t, { id: 1, v: 'again' }));
    expect(shape(plan.groups)).toEqual([
      ['delete', 't', [[1]]],
      ['upsert', 't', [{ id: 1, v: 'again' }], ['id', 'v'], true],
    ]);
    // A re-insert that leaves out a column does not keep the deleted row's value of it.
    expect(applied(plan.groups, [{ id: 1, v: 'stored' }])).toEqual([{ id: 1, v: 'again' }]);
  });

  it('moves a row whose key changes, also back and forth inside one batch', () => {
    const plan = new BatchPlan();
    plan.add(target, update(t, { id: 3, v: 'a' }, { id: 300, v: 'moved' }));
    plan.add(target, update(t, { id: 300, v: 'moved' }, { id: 3, v: 'back' }));
    plan.add(target, update(t, { id: 4, v: 'a' }, { id: 400, v: 'moved' }));
    expect(
      applied(plan.groups, [
        { id: 3, v: 'a' },
        { id: 4, v: 'a' },
        { id: 9, v: 'z' },
      ]),
    ).toEqual([
      { id: 3, v: 'back' },
      { id: 9, v: 'z' },
      { id: 400, v: 'moved' },
    ]);
    const groups = shape(plan.groups);
    expect(groups[0]).toEqual(['delete', 't', [[3], [300], [4]]]);
  });

  it('takes the columns a later image leaves out (unchanged TOAST) from the earlier image of the batch', () => {
    const plan = new BatchPlan();
    plan.add(target, insert(t, { id: 1, v: 'x' }));
    plan.add(target, update(t, { id: 1 }, { id: 1 }, ['v']));
    plan.add(target, update(t, { id: 2 }, { id: 2 }, ['v']));
    expect(shape(plan.groups)).toEqual([
      ['upsert', 't', [{ id: 1, v: 'x' }], ['id', 'v'], false],
      // No earlier image in the batch: the column is left out, and the target keeps its value.
      ['upsert', 't', [{ id: 2 }], ['id'], false],
    ]);
  });

  it('drops what a truncate erases and runs the truncate first; deletes after it have nothing to delete', () => {
    const plan = new BatchPlan();
    plan.add(target, insert(t, { id: 1, v: 'before' }));
    plan.add(other, insert(t, { id: 7, v: 'other table' }));
    plan.truncate(target);
    plan.add(target, insert(t, { id: 2, v: 'after' }));
    plan.add(target, update(t, { id: 2, v: 'after' }, { id: 2, v: 'updated' }));
    plan.add(target, insert(t, { id: 3, v: 'gone' }));
    plan.add(target, remove(t, { id: 3 }));
    expect(shape(plan.groups)).toEqual([
      // Tables in the order they first appear; the truncate of `t` replaced its earlier changes.
      ['truncate', 't'],
      ['upsert', 't', [{ id: 2, v: 'updated' }], ['id', 'v'], true],
      ['upsert', 'o', [{ id: 7, v: 'other table' }], ['id', 'v'], true],
    ]);
  });

  it('is fresh (bulk-loadable) only while no key can already be in the target', () => {
    const inserts = new BatchPlan();
    inserts.add(target, insert(t, { id: 1, v: 'x' }));
    inserts.add(target, insert(t, { id: 2, v: 'x' }));
    expect(inserts.groups.map((g) => g.kind === 'upsert' && g.fresh)).toEqual([true]);

    const updated = new BatchPlan();
    updated.add(target, insert(t, { id: 1, v: 'x' }));
    updated.add(target, update(t, { id: 2, v: 'x' }, { id: 2, v: 'y' }));
    expect(updated.groups.map((g) => g.kind === 'upsert' && g.fresh)).toEqual([false]);

    // Deleted first (the delete runs before the upsert), then updated: not in the target when upserted.
    const deleted = new BatchPlan();
    deleted.add(target, remove(t, { id: 1 }));
    deleted.add(target, insert(t, { id: 1, v: 'x' }));
    deleted.add(target, update(t, { id: 1, v: 'x' }, { id: 1, v: 'y' }));
    expect(deleted.groups.map((g) => g.kind === 'upsert' && g.fresh)).toEqual([false, true]);
  });

  it('gives the outcome of applying the changes one by one, for random sequences over few keys', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const start: Row[] = [];
      for (let id = 0; id < 6; id++) if (random(2) === 0) start.push({ id, v: `start${id}` });
      const model = new Map<unknown, Row>(start.map((r) => [r.id, r]));
      const plan = new BatchPlan();
      for (let step = 0; step < 12; step++) {
        const id = random(6);
        const v = `v${round}.${step}`;
        const present = model.get(id);
        const choice = random(5);
        if (choice === 0) {
          plan.truncate(target);
          model.clear();
        } else if (present === undefined) {
          plan.add(target, insert(t, { id, v }));
          model.set(id, { id, v });
        } else if (choice === 1) {
          plan.add(target, remove(t, present));
          model.delete(id);
        } else if (choice === 2) {
          const to = random(6);
          if (model.has(to) && to !== id) continue;
          plan.add(target, update(t, present, { id: to, v }));
          model.delete(id);
          model.set(to, { id: to, v });
        } else if (choice === 3) {
          // An update that leaves v out: the target keeps the stored value.
          plan.add(target, update(t, { id }, { id }, ['v']));
        } else {
          plan.add(target, update(t, present, { id, v }));
          model.set(id, { id, v });
        }
      }
      const expected = [...model.values()].sort((a, b) => Number(a.id) - Number(b.id));
      expect(applied(plan.groups, start), `round ${round}`).toEqual(expected);
    }
  });
});
