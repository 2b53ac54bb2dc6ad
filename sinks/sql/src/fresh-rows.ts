import type { ChangeEvent, Row, SourceEvent } from '@highwater/core';
import { BatchPlan } from './batch-plan.js';
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

/**
 * A batch made only of new rows — snapshot reads (`r`) and inserts (`c`) carrying every column of
 * their table, as a snapshot's chunks are — split per table, or null for any other batch (it goes
 * through {@link BatchPlan}). Such a batch has nothing to order: every row is an insert of its own
 * key, so it needs no key map per row, which is most of what planning a snapshot batch cost. A key
 * that does come twice (or is in the target already) makes the bulk load fail as a duplicate, and
 * only then are the rows planned per key ({@link plannedRows}).
 *
 * Null as well when a table would get fewer than `minRows` rows (statements serve it better), when
 * a table is not in `tableOf` (dropped by the batch, or unknown) or has renamed columns.
 */
export function freshRows(
  events: readonly SourceEvent[],
  tableOf: (source: string) => TargetTable | undefined,
  minRows: number,
): FreshRows[] | null {
  const byTable = new Map<string, FreshRows>();
  let last: FreshRows | undefined;
  for (const event of events) {
    if (event.kind !== 'change' || (event.op !== 'r' && event.op !== 'c')) return null;
    const row = event.after;
    if (row === null) return null;
    const name = event.source.table;
    let fresh = last !== undefined && last.table.source === name ? last : byTable.get(name);
    if (fresh === undefined) {
      const table = tableOf(name);
      if (table === undefined || table.renamed !== undefined) return null;
      fresh = { table, columns: [...table.columns.keys()], rows: [], events: [] };
      byTable.set(name, fresh);
    }
    for (const column of fresh.columns) if (!(column in row)) return null;
    fresh.rows.push(row);
    fresh.events.push(event);
    last = fresh;
  }
  const out = [...byTable.values()];
  return out.length > 0 && out.every((f) => f.rows.length >= minRows) ? out : null;
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
