import type { ChangeEvent, Row, Value } from '@highwater/core';
import type { TargetTable } from './target-table.js';
import { jsonText } from './value-text.js';

/** Rows inserted-or-updated with one statement: same table, same column list. */
export interface UpsertGroup {
  readonly kind: 'upsert';
  readonly table: TargetTable;
  readonly columns: readonly string[];
  /** By key; a later change of the same key replaces the earlier one (same columns, so it wins whole). */
  readonly rows: Map<KeyId, Row>;
  /**
   * True while every row came from a snapshot read or an insert: rows the target should not have
   * yet, so they may be bulk-loaded (falling back to upserts if one is there after all).
   */
  fresh: boolean;
}

export interface DeleteGroup {
  readonly kind: 'delete';
  readonly table: TargetTable;
  readonly keys: Map<KeyId, readonly Value[]>;
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
  /** Per table: key → index of the last group that touched it. */
  private readonly lastForKey = new Map<string, Map<KeyId, number>>();
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
    if (oldKey !== null && keyId(oldKey) !== keyId(newKey)) this.delete(table, oldKey);
    this.upsert(table, columnsOf(table, newRow), newKey, newRow, event.op === 'r' || event.op === 'c');
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
    const id = keyId(key);
    const signature = columnsSignature(table, columns);
    const index = this.place(table, id, signature, () => ({
      kind: 'upsert',
      table,
      columns,
      rows: new Map(),
      fresh: true,
    }));
    const group = this.groups[index] as UpsertGroup;
    if (!fresh) group.fresh = false;
    group.rows.set(id, row);
  }

  private delete(table: TargetTable, key: readonly Value[]): void {
    const id = keyId(key);
    const index = this.place(table, id, `d|${table.qualified}`, () => ({
      kind: 'delete',
      table,
      keys: new Map(),
    }));
    (this.groups[index] as DeleteGroup).keys.set(id, key);
  }

  private place(table: TargetTable, key: KeyId, signature: string, create: () => StatementGroup): number {
    let last = this.lastForKey.get(table.qualified);
    if (last === undefined) {
      last = new Map();
      this.lastForKey.set(table.qualified, last);
    }
    const floor = Math.max(last.get(key) ?? -1, this.lastTruncate.get(table.qualified) ?? -1);
    let index = this.newest.get(signature);
    if (index === undefined || index < floor) {
      index = this.groups.length;
      this.groups.push(create());
      this.newest.set(signature, index);
    }
    last.set(key, index);
    return index;
  }
}

/** Per target table: its full column list and that list's group signature (most rows carry every column). */
const fullColumns = new WeakMap<TargetTable, { columns: readonly string[]; signature: string }>();

/** The columns of `table` a row carries: unknown ones (unchanged TOAST values) are left as stored. */
function columnsOf(table: TargetTable, row: Row): readonly string[] {
  let full = fullColumns.get(table);
  if (full === undefined) {
    const columns = [...table.columns.keys()];
    full = { columns, signature: `u|${table.qualified}|${JSON.stringify(columns)}` };
    fullColumns.set(table, full);
  }
  for (const c of full.columns) if (!(c in row)) return full.columns.filter((k) => k in row);
  return full.columns;
}

function columnsSignature(table: TargetTable, columns: readonly string[]): string {
  const full = fullColumns.get(table);
  return full !== undefined && full.columns === columns
    ? full.signature
    : `u|${table.qualified}|${JSON.stringify(columns)}`;
}

/**
 * A key's identity in maps: the number itself for the usual one-column numeric key (no string to
 * build and hash per row), JSON text otherwise (a string, so never equal to a number).
 */
export type KeyId = number | string;

function keyId(key: readonly Value[]): KeyId {
  if (key.length === 1 && typeof key[0] === 'number') return key[0];
  return jsonText(key);
}

/** The key values of a row, in key order; falls back to the event's key row for columns the row lacks. */
function keyOf(table: TargetTable, row: Row, eventKey: Row): Value[] {
  return table.key.map((c) => (c in row ? (row[c] ?? null) : (eventKey[c] ?? null)));
}
