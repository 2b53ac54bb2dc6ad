import type { ChangeEvent, Row, Value } from '@highwater/core';
import type { TargetTable } from './target-table.js';
import { jsonText } from './value-text.js';

/** Rows inserted-or-updated with one statement: same table, same column list. */
export interface UpsertGroup {
  readonly kind: 'upsert';
  readonly table: TargetTable;
  readonly columns: readonly string[];
  /** By key text; a later change of the same key replaces the earlier one (same columns, so it wins whole). */
  readonly rows: Map<string, Row>;
  /**
   * True while every row came from a snapshot read or an insert: rows the target should not have
   * yet, so they may be bulk-loaded (falling back to upserts if one is there after all).
   */
  fresh: boolean;
}

export interface DeleteGroup {
  readonly kind: 'delete';
  readonly table: TargetTable;
  readonly keys: Map<string, readonly Value[]>;
}

export interface TruncateGroup {
  readonly kind: 'truncate';
  readonly table: TargetTable;
}

export type StatementGroup = UpsertGroup | DeleteGroup | TruncateGroup;

/**
 * Turns a batch's changes into few multi-row statements while keeping the outcome of applying them
 * one by one. Changes of different keys commute, so a change joins the newest compatible group
 * (same kind, table and columns) unless that group lies before the last statement that touched the
 * same key or truncated the table; otherwise it opens a new group after everything else.
 */
export class BatchPlan {
  readonly groups: StatementGroup[] = [];
  /** `table|key` → index of the last group that touched it. */
  private readonly lastForKey = new Map<string, number>();
  private readonly lastTruncate = new Map<string, number>();
  /** Compatibility signature → index of the newest group with it. */
  private readonly newest = new Map<string, number>();

  /** Adds one change; `table` is the table as of the change. */
  add(table: TargetTable, event: ChangeEvent): void {
    const newRow = event.after;
    const oldKey = event.op === 'c' || event.op === 'r' ? null : keyOf(table, event.before ?? event.key, event.key);
    if (newRow === null) {
      if (oldKey !== null) this.delete(table, oldKey);
      return;
    }
    const newKey = keyOf(table, newRow, event.key);
    // A changed primary key moves the row: the old key goes, the new one is upserted.
    if (oldKey !== null && jsonText(oldKey) !== jsonText(newKey)) this.delete(table, oldKey);
    // Only columns the change carries: unknown ones (unchanged TOAST values) are left as stored.
    const columns = [...table.columns.keys()].filter((c) => c in newRow);
    this.upsert(table, columns, newKey, newRow, event.op === 'r' || event.op === 'c');
  }

  truncate(table: TargetTable): void {
    this.lastTruncate.set(table.qualified, this.groups.length);
    this.groups.push({ kind: 'truncate', table });
  }

  private upsert(
    table: TargetTable,
    columns: readonly string[],
    key: readonly Value[],
    row: Row,
    fresh: boolean,
  ): void {
    const keyText = jsonText(key);
    const signature = `u|${table.qualified}|${JSON.stringify(columns)}`;
    const index = this.place(table, keyText, signature, () => ({
      kind: 'upsert',
      table,
      columns,
      rows: new Map(),
      fresh: true,
    }));
    const group = this.groups[index] as UpsertGroup;
    if (!fresh) group.fresh = false;
    group.rows.set(keyText, row);
  }

  private delete(table: TargetTable, key: readonly Value[]): void {
    const keyText = jsonText(key);
    const index = this.place(table, keyText, `d|${table.qualified}`, () => ({
      kind: 'delete',
      table,
      keys: new Map(),
    }));
    (this.groups[index] as DeleteGroup).keys.set(keyText, key);
  }

  private place(table: TargetTable, keyText: string, signature: string, create: () => StatementGroup): number {
    const slot = `${table.qualified}|${keyText}`;
    const floor = Math.max(this.lastForKey.get(slot) ?? -1, this.lastTruncate.get(table.qualified) ?? -1);
    let index = this.newest.get(signature);
    if (index === undefined || index < floor) {
      index = this.groups.length;
      this.groups.push(create());
      this.newest.set(signature, index);
    }
    this.lastForKey.set(slot, index);
    return index;
  }
}

/** The key values of a row, in key order; falls back to the event's key row for columns the row lacks. */
function keyOf(table: TargetTable, row: Row, eventKey: Row): Value[] {
  return table.key.map((c) => (c in row ? (row[c] ?? null) : (eventKey[c] ?? null)));
}
