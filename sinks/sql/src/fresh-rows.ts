import type { ChangeEvent, Row, SourceEvent } from '@highwater/core';
import { BatchPlan, type KeyId, keyId, keyOf } from './batch-plan.js';
import type { TargetTable } from './target-table.js';

/** One table's new rows in a batch, in source order, their keys not yet checked for repeats. */
export interface FreshRows {
  readonly table: TargetTable;
  /** Every column of the table (each row carries them all). */
  readonly columns: readonly string[];
  readonly rows: Row[];
  /** The events the rows come from, to plan them as usual if the load finds a key twice or is refused. */
  readonly events: ChangeEvent[];
}

/** A batch's changes split in two: new rows to bulk-load unplanned, and the changes to plan per key. */
export interface FreshSplit {
  /** Per table: its new rows of keys no other change of the batch touches. */
  readonly fresh: FreshRows[];
  /** Every other change, in source order (go through {@link BatchPlan}). */
  readonly planned: ChangeEvent[];
}

/**
 * Splits a batch's changes into new rows to bulk-load per table without per-key planning, and the
 * rest to plan; null when the batch is planned whole: it holds anything but changes (e.g. a
 * truncate or a schema event), or it is a stream's batch — updates or deletes and no snapshot read.
 *
 * A new row is a snapshot read (`r`) or insert (`c`) carrying every column of its table, as a
 * snapshot's chunks are, of a key that no update or delete of the batch touches (a read or insert
 * without every column has the whole batch planned). Such rows have nothing to order: each is an
 * insert of its own key, and changes of different keys commute, so they need no key map, which is
 * most of what planning a snapshot batch cost. A key that does come twice among them (or is in the target already) makes the
 * bulk load fail as a duplicate, and only then are they planned per key ({@link plannedRows}). A
 * snapshot taken while the source is written to gives batches of chunk rows and a few updates: the
 * chunk rows are still loaded in bulk, and only the updated keys are planned.
 *
 * A table's new rows are planned too when there are fewer than `minRows` of them (statements serve
 * them better), and every change of a table not in `tableOf` (dropped by the batch, or unknown) or
 * with renamed columns is planned.
 */
export function freshRows(
  events: readonly SourceEvent[],
  tableOf: (source: string) => TargetTable | undefined,
  minRows: number,
): FreshSplit | null {
  /** Per source table: the target table and its column list (null: every change of it is planned). */
  const eligible = new Map<string, { table: TargetTable; columns: readonly string[] } | null>();
  const eligibleOf = (name: string) => {
    let found = eligible.get(name);
    if (found === undefined) {
      const table = tableOf(name);
      found = table === undefined || table.renamed !== undefined ? null : { table, columns: [...table.columns.keys()] };
      eligible.set(name, found);
    }
    return found;
  };
  let reads = false;
  let changes = false;
  for (const event of events) {
    if (event.kind !== 'change') return null;
    if (event.op === 'r') reads = true;
    else if (event.op !== 'c' || event.after === null) changes = true;
  }
  // A stream's batch (inserts among updates and deletes, no snapshot reads) stays one plan: its
  // statements go in one round trip, which a load under a savepoint would break up.
  if (changes && !reads) return null;
  // The keys that updates and deletes touch, per table.
  const touched = new Map<string, Set<KeyId>>();
  for (const event of changes ? (events as ChangeEvent[]) : []) {
    if ((event.op === 'r' || event.op === 'c') && event.after !== null) continue;
    const name = event.source.table;
    const target = eligibleOf(name);
    if (target === null) continue;
    let keys = touched.get(name);
    if (keys === undefined) {
      keys = new Set();
      touched.set(name, keys);
    }
    const { table } = target;
    keys.add(keyId(keyOf(table, event.before ?? event.key, event.key)));
    if (event.after !== null) keys.add(keyId(keyOf(table, event.after, event.key)));
  }
  const byTable = new Map<string, FreshRows>();
  const planned: ChangeEvent[] = [];
  let last: FreshRows | undefined;
  for (const event of events) {
    const change = event as ChangeEvent;
    const row = change.after;
    const name = change.source.table;
    if ((change.op !== 'r' && change.op !== 'c') || row === null) {
      planned.push(change);
      continue;
    }
    let fresh = last !== undefined && last.table.source === name ? last : byTable.get(name);
    if (fresh === undefined) {
      const target = eligibleOf(name);
      if (target === null) {
        planned.push(change);
        continue;
      }
      fresh = { table: target.table, columns: target.columns, rows: [], events: [] };
      byTable.set(name, fresh);
    }
    // A new row without every column (rare): its key may have new rows loaded already, so the whole
    // batch is planned.
    for (const column of fresh.columns) if (!(column in row)) return { fresh: [], planned: events as ChangeEvent[] };
    const keys = touched.get(name);
    if (keys?.has(keyId(keyOf(fresh.table, row, change.key)))) {
      planned.push(change);
      continue;
    }
    fresh.rows.push(row);
    fresh.events.push(change);
    last = fresh;
  }
  const out: FreshRows[] = [];
  for (const fresh of byTable.values()) {
    if (fresh.rows.length >= minRows) out.push(fresh);
    // Their keys are untouched by the planned changes: planned after them, they keep their own order.
    else planned.push(...fresh.events);
  }
  return { fresh: out, planned };
}

/**
 * The rows of `fresh` planned as any batch is: one row per key, the last of each key winning. (All
 * of them land in one group: a table's rows with the same columns are one upsert; see BatchPlan.)
 */
export function plannedRows(fresh: FreshRows): Row[] {
  const plan = new BatchPlan();
  for (const event of fresh.events) plan.add(fresh.table, event);
  return plan.groups.flatMap((group) => (group.kind === 'upsert' ? [...group.rows.values()] : []));
}
