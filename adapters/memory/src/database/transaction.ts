import type { Key, Row, Value } from '@highwater/core';
import type { Engine } from './engine.js';
import { MemoryDatabaseError } from './errors.js';
import { SortedMap } from './sorted-map.js';
import type { StagedChange } from './staged-change.js';
import type { MemoryTable } from './table.js';

/** New values for some columns, or a function computing them from the current row (re-run if the transaction is re-run). */
export type RowChanges = Row | ((current: Row) => Row);

/** What a `db.transaction()` callback writes through. */
export interface MemoryTransaction {
  /**
   * Inserts a row; columns left out get their default (null unless defined). Returns the row's key:
   * its primary key, or a row id for a table without one.
   * @throws MemoryDatabaseError `duplicate_key`, `not_null`, `unknown_column`, `invalid_value`, `no_such_table`
   */
  insert(table: string, row: Row): Key;
  /**
   * Updates the row under `key` with `changes` (some columns, or a whole new row). Changing a
   * primary-key column moves the row to its new key. Returns the new row.
   * @throws MemoryDatabaseError `row_not_found`, `duplicate_key` (the new key is taken), and those of insert
   */
  update(table: string, key: Key, changes: RowChanges): Row;
  /**
   * Deletes the row under `key`; returns it.
   * @throws MemoryDatabaseError `row_not_found`
   */
  delete(table: string, key: Key): Row;
}

type Operation =
  | { readonly kind: 'insert'; readonly table: string; readonly row: Row }
  | { readonly kind: 'update'; readonly table: string; readonly key: Key; readonly changes: RowChanges }
  | { readonly kind: 'delete'; readonly table: string; readonly key: Key };

/**
 * Runs one transaction. Each operation executes at once against the committed state plus the
 * transaction's own earlier writes, so constraint errors surface where the call is made. Writes are
 * buffered and reach the log and the tables only at commit, atomically.
 *
 * Concurrency is optimistic: if anything else committed since the operations ran, commit re-runs
 * them, in order, against the state at that moment (so a functional update reads the latest row) —
 * the result is always that of running the transactions one after another in commit order. A
 * re-run that now violates a constraint throws from commit and nothing is written.
 */
export class TransactionRun implements MemoryTransaction {
  private staged: StagedChange[] = [];
  /** The transaction's own writes by key (null: deleted); built lazily, only once a second operation needs it. */
  private overlay: Map<MemoryTable, SortedMap<Row | null>> | null = null;
  private overlaid = 0;
  private basis: number;
  private open = true;

  /**
   * @param operations where to record operations for a re-run, or null when nothing can commit
   *   in between (a synchronous one-shot write), which saves recording them.
   */
  constructor(
    private readonly engine: Engine,
    private readonly operations: Operation[] | null,
  ) {
    this.basis = engine.commitCount;
  }

  insert(table: string, row: Row): Key {
    this.assertOpen();
    const key = this.runInsert(table, row);
    this.operations?.push({ kind: 'insert', table, row });
    return key;
  }

  update(table: string, key: Key, changes: RowChanges): Row {
    this.assertOpen();
    const row = this.runUpdate(table, key, changes);
    this.operations?.push({ kind: 'update', table, key, changes });
    return row;
  }

  delete(table: string, key: Key): Row {
    this.assertOpen();
    const row = this.runDelete(table, key);
    this.operations?.push({ kind: 'delete', table, key });
    return row;
  }

  /** Commits: re-runs the operations if others committed meanwhile, then hands the changes to the engine. */
  commit(): void {
    this.assertOpen();
    this.open = false;
    if (this.operations !== null && this.engine.commitCount !== this.basis) this.rerun(this.operations);
    this.engine.commit(this.staged);
  }

  /** Discards every write. */
  rollback(): void {
    this.open = false;
    this.staged = [];
    this.overlay = null;
  }

  private rerun(operations: readonly Operation[]): void {
    this.staged = [];
    this.overlay = null;
    this.overlaid = 0;
    this.basis = this.engine.commitCount;
    for (const op of operations) {
      if (op.kind === 'insert') this.runInsert(op.table, op.row);
      else if (op.kind === 'update') this.runUpdate(op.table, op.key, op.changes);
      else this.runDelete(op.table, op.key);
    }
  }

  private runInsert(name: string, input: Row): Key {
    const table = this.engine.table(name);
    const row = table.rowForInsert(input);
    const key = table.keyForNewRow(row);
    if (this.current(table, key) !== undefined) {
      throw new MemoryDatabaseError('duplicate_key', `${name}: duplicate key ${formatKey(key)}`);
    }
    this.staged.push({ table, op: 'c', before: null, after: row, oldKey: null, newKey: key });
    return key;
  }

  private runUpdate(name: string, givenKey: Key, changes: RowChanges): Row {
    const table = this.engine.table(name);
    const key = table.checkKey(givenKey);
    const before = this.current(table, key);
    if (before === undefined)
      throw new MemoryDatabaseError('row_not_found', `${name}: no row with key ${formatKey(key)}`);
    const after = table.rowForUpdate(before, typeof changes === 'function' ? changes(before) : changes);
    let newKey = key;
    if (!table.keyless && !table.hasKey(after, key)) {
      // A key-moving update. Primary-key columns are not nullable, so the new key has no null.
      newKey = table.keyOf(after);
      if (this.current(table, newKey) !== undefined) {
        throw new MemoryDatabaseError('duplicate_key', `${name}: duplicate key ${formatKey(newKey)}`);
      }
    }
    this.staged.push({ table, op: 'u', before, after, oldKey: key, newKey });
    return after;
  }

  private runDelete(name: string, givenKey: Key): Row {
    const table = this.engine.table(name);
    const key = table.checkKey(givenKey);
    const before = this.current(table, key);
    if (before === undefined)
      throw new MemoryDatabaseError('row_not_found', `${name}: no row with key ${formatKey(key)}`);
    this.staged.push({ table, op: 'd', before, after: null, oldKey: key, newKey: null });
    return before;
  }

  /** The row under `key` as this transaction sees it: its own writes, then the committed state. */
  private current(table: MemoryTable, key: Key): Row | undefined {
    if (this.staged.length > 0) {
      const own = this.ownWrites(table).get(key);
      if (own !== undefined) return own ?? undefined;
    }
    return this.engine.committedRow(table, key);
  }

  private ownWrites(table: MemoryTable): SortedMap<Row | null> {
    this.overlay ??= new Map();
    // Bring the overlay up to date with changes staged since it was last used.
    for (; this.overlaid < this.staged.length; this.overlaid++) {
      const c = this.staged[this.overlaid] as StagedChange;
      let rows = this.overlay.get(c.table);
      if (rows === undefined) {
        rows = new SortedMap();
        this.overlay.set(c.table, rows);
      }
      if (c.oldKey !== null) rows.set(c.oldKey, null);
      if (c.newKey !== null) rows.set(c.newKey, c.after);
    }
    let rows = this.overlay.get(table);
    if (rows === undefined) {
      rows = new SortedMap();
      this.overlay.set(table, rows);
    }
    return rows;
  }

  private assertOpen(): void {
    if (!this.open) throw new MemoryDatabaseError('transaction_closed', 'the transaction has already ended');
  }
}

/** A key as people write it in messages: `(1, 'a')`. */
export function formatKey(key: Key): string {
  return `(${key.map(formatValue).join(', ')})`;
}

function formatValue(v: Value): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
  if (v !== null && typeof v === 'object')
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  return String(v);
}
