import type { ChangeEvent, Row, Value } from '@highwater/core';
import type { TargetTable } from './target-table.js';
import { exactJsonText } from './value-text.js';

/** Rows inserted-or-updated with one statement (or bulk load): same table, same column list, each key once. */
export interface UpsertGroup {
  readonly kind: 'upsert';
  readonly table: TargetTable;
  readonly columns: readonly string[];
  /** By key: the row as the batch leaves it. */
  readonly rows: Map<KeyId, Row>;
  /**
   * True while no row's key can be in the target when the group is applied (every image of it
   * came from a snapshot read or an insert, or the batch deleted the key or truncated the table
   * first), so the rows may be bulk-loaded (falling back to upserts if one is there after all).
   */
  fresh: boolean;
}

/** Keys deleted with one statement: every key the batch deletes (and does not truncate away). */
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

/** What a batch does to one key: a delete before its last image (kept, then applied first), and that image. */
interface KeyOutcome {
  readonly key: readonly Value[];
  deleted: boolean;
  /** The row as the batch leaves it; null when the batch's last change of the key deletes it. */
  row: Row | null;
  /** No image since the last delete (or since the table's truncate, or at all) was an update. */
  fresh: boolean;
}

/** One table's part of a batch. */
interface TableOutcome {
  table: TargetTable;
  /** The batch truncates the table: everything before that is gone, and the table is empty for the rest. */
  truncated: boolean;
  readonly keys: Map<KeyId, KeyOutcome>;
}

/**
 * Turns a batch's changes into at most a truncate, one delete and one upsert (per column list) per
 * table, with the outcome of applying the changes one by one. Per key, the last image wins: a row
 * inserted and updated in the batch is written once, as the update left it, and a row inserted and
 * deleted in it is only deleted. A delete followed by a re-insert of the same key keeps the delete,
 * which runs before the upserts, so the re-inserted row replaces whatever the target had (a row the
 * batch leaves out columns of keeps none of the deleted row's values). A later image that leaves
 * out columns (an unchanged TOAST value) takes them from the earlier image of the same batch. A
 * truncate drops the table's earlier changes (the truncate erases them anyway) and runs first.
 *
 * Changes of different keys commute, so nothing of the source's order between keys is kept: the
 * batch commits as one transaction, and no reader sees the order inside it.
 */
export class BatchPlan {
  /** By qualified target name, in the order tables first appear. */
  private readonly tables = new Map<string, TableOutcome>();
  private planned: StatementGroup[] | null = null;

  /** Adds one change; `table` is the table as the batch leaves it. */
  add(table: TargetTable, event: ChangeEvent): void {
    const outcome = this.outcomeOf(table);
    const after = event.after;
    const insert = event.op === 'c' || event.op === 'r';
    if (insert) {
      if (after !== null) this.upsert(outcome, keyOf(table, after, event.key), after, true);
      return;
    }
    const oldKey = keyOf(table, event.before ?? event.key, event.key);
    if (after === null) {
      this.delete(outcome, keyId(oldKey), oldKey);
      return;
    }
    const newKey = keyOf(table, after, event.key);
    const oldId = keyId(oldKey);
    const newId = keyId(newKey);
    // A changed primary key moves the row: the old key goes, the new one is upserted.
    if (oldId !== newId) this.delete(outcome, oldId, oldKey);
    this.upsert(outcome, newKey, after, false, newId);
  }

  truncate(table: TargetTable): void {
    this.planned = null;
    this.tables.set(table.qualified, { table, truncated: true, keys: new Map() });
  }

  /** The statements, in the order they run: per table its truncate, its delete, then its upserts. */
  get groups(): readonly StatementGroup[] {
    this.planned ??= [...this.tables.values()].flatMap(groupsOf);
    return this.planned;
  }

  private outcomeOf(table: TargetTable): TableOutcome {
    this.planned = null;
    let outcome = this.tables.get(table.qualified);
    if (outcome === undefined) {
      outcome = { table, truncated: false, keys: new Map() };
      this.tables.set(table.qualified, outcome);
    } else {
      outcome.table = table;
    }
    return outcome;
  }

  private upsert(outcome: TableOutcome, key: readonly Value[], row: Row, insert: boolean, id = keyId(key)): void {
    const known = outcome.keys.get(id);
    if (known === undefined) {
      outcome.keys.set(id, { key, deleted: false, row, fresh: insert || outcome.truncated });
      return;
    }
    const earlier = known.row;
    known.row = earlier === null || hasAllColumns(outcome.table, row) ? row : { ...earlier, ...row };
    if (!insert && !known.deleted && !outcome.truncated) known.fresh = false;
  }

  private delete(outcome: TableOutcome, id: KeyId, key: readonly Value[]): void {
    const known = outcome.keys.get(id);
    if (known === undefined) {
      outcome.keys.set(id, { key, deleted: true, row: null, fresh: true });
      return;
    }
    known.deleted = true;
    known.row = null;
    known.fresh = true;
  }
}

function groupsOf(outcome: TableOutcome): StatementGroup[] {
  const { table } = outcome;
  const groups: StatementGroup[] = [];
  if (outcome.truncated) groups.push({ kind: 'truncate', table });
  const deleted = new Map<KeyId, readonly Value[]>();
  /** By column list: the full list's group under the list itself, others under their JSON text. */
  const upserts = new Map<readonly string[] | string, UpsertGroup>();
  for (const [id, known] of outcome.keys) {
    // After a truncate the table is empty: its deletes have nothing to delete.
    if (known.deleted && !outcome.truncated) deleted.set(id, known.key);
    const row = known.row;
    if (row === null) continue;
    const columns = columnsOf(table, row);
    const signature = columns === fullColumnsOf(table) ? columns : JSON.stringify(columns);
    let group = upserts.get(signature);
    if (group === undefined) {
      group = { kind: 'upsert', table, columns, rows: new Map(), fresh: true };
      upserts.set(signature, group);
    }
    group.rows.set(id, row);
    if (!known.fresh) group.fresh = false;
  }
  if (deleted.size > 0) groups.push({ kind: 'delete', table, keys: deleted });
  groups.push(...upserts.values());
  return groups;
}

/** Per target table: its full column list (most rows carry every column). */
const fullColumns = new WeakMap<TargetTable, readonly string[]>();

function fullColumnsOf(table: TargetTable): readonly string[] {
  let full = fullColumns.get(table);
  if (full === undefined) {
    full = [...table.columns.keys()];
    fullColumns.set(table, full);
  }
  return full;
}

function hasAllColumns(table: TargetTable, row: Row): boolean {
  for (const c of fullColumnsOf(table)) if (!(c in row)) return false;
  return true;
}

/** The columns of `table` a row carries: unknown ones (unchanged TOAST values) are left as stored. */
function columnsOf(table: TargetTable, row: Row): readonly string[] {
  const full = fullColumnsOf(table);
  return hasAllColumns(table, row) ? full : full.filter((c) => c in row);
}

/**
 * A key's identity in maps: the number itself for the usual one-column numeric key (no string to
 * build and hash per row), JSON text otherwise (a string, so never equal to a number).
 */
export type KeyId = number | string;

export function keyId(key: readonly Value[]): KeyId {
  if (key.length === 1 && typeof key[0] === 'number') return key[0];
  // Exact, so no two keys of a JSON key column share an id (a bigint beyond 2^53 and its digits as a string did).
  return exactJsonText(key);
}

/** The key values of a row, in key order; falls back to the event's key row for columns the row lacks. */
export function keyOf(table: TargetTable, row: Row, eventKey: Row): Value[] {
  return table.key.map((c) => (c in row ? (row[c] ?? null) : (eventKey[c] ?? null)));
}
