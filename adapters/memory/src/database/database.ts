import type { ColumnSchema, Key, Row, TableSchema } from '@highwater/core';
import type { LogEntry } from './change-log.js';
import { type ConnectionInfo, type ConnectionKind, MemoryConnection } from './connection.js';
import { addColumnSql, createTableSql, dropColumnSql, dropTableSql } from './ddl-text.js';
import { Engine } from './engine.js';
import { MemoryDatabaseError } from './errors.js';
import type { MemoryFaults } from './faults.js';
import { type ColumnDefinition, MemoryTable, type TableDefinition } from './table.js';
import { type MemoryTransaction, type RowChanges, TransactionRun } from './transaction.js';

export interface MemoryDatabaseOptions {
  /** Source of commit times, in ms since the epoch (default `Date.now`). Commit times never decrease even if it does. */
  readonly clock?: () => number;
  /** Random numbers in [0, 1) for probabilistic faults (default `Math.random`); seed it for reproducible runs. */
  readonly random?: () => number;
  /**
   * Free log entries as soon as a log reader acknowledges them, like a replication slot releasing
   * WAL (default false: the log keeps everything until `truncateLogBefore`). Keeps memory flat in
   * long benchmarks; `earliestOffset()` then moves forward.
   */
  readonly releaseAcknowledgedLog?: boolean;
}

/** What `alterTable` can change. */
export type AlterTableChange = { readonly addColumn: ColumnDefinition } | { readonly dropColumn: string };

/**
 * An in-process database with tables, transactions and a change log — a small but real database,
 * so that the memory adapter exercises the core the way Postgres or MySQL do, including the races
 * and failures of real ones (see {@link MemoryDatabase.faults}).
 *
 * - Tables are named `schema.table` and keep their rows in primary-key order (`compareKeys`).
 * - Every commit appends its row changes to the change log, one offset each (consecutive within a
 *   transaction, sharing `txId` and `commitTime`), then makes them visible. DDL and truncates are
 *   logged too.
 * - Rows handed out are the stored objects: treat them as immutable.
 *
 * @example
 * const db = new MemoryDatabase();
 * db.createTable({ name: 'shop.orders', columns: [{ name: 'id', type: { kind: 'int64' } }], primaryKey: ['id'] });
 * db.insert('shop.orders', { id: 1 });
 * await db.transaction(async (tx) => {
 *   tx.update('shop.orders', [1], { id: 2 }); // moves the row to key 2
 * });
 */
export class MemoryDatabase {
  private readonly engine: Engine;
  private nextConnectionId = 1;

  constructor(options: MemoryDatabaseOptions = {}) {
    this.engine = new Engine(
      options.clock ?? Date.now,
      options.random ?? Math.random,
      options.releaseAcknowledgedLog ?? false,
    );
  }

  /** Injectable failures: visibility lag, failed chunk reads, dropped log connections. */
  get faults(): MemoryFaults {
    return this.engine.faults;
  }

  /** The highest offset a log reader acknowledged (0 before any). */
  get acknowledgedOffset(): number {
    return this.engine.acknowledged;
  }

  // ---- DDL. Each waits for held commits to become visible (as DDL waits for locks), then logs itself.

  /** Creates a table; returns the offset of its schema-change entry. */
  createTable(definition: TableDefinition): number {
    if (this.engine.tables.has(definition.name)) {
      throw new MemoryDatabaseError('table_exists', `table ${definition.name} already exists`);
    }
    const table = new MemoryTable(definition);
    this.engine.gate.releaseAll();
    this.engine.tables.set(table.name, table);
    return this.engine.logSchemaChange(table.name, table.schema, createTableSql(table));
  }

  /** Drops a table; its schema-change entry carries `schema: null`. */
  dropTable(name: string): number {
    this.engine.table(name);
    this.engine.gate.releaseAll();
    this.engine.tables.delete(name);
    return this.engine.logSchemaChange(name, null, dropTableSql(name));
  }

  /** Adds a column (existing rows get its default) or drops one; logs the new schema. */
  alterTable(name: string, change: AlterTableChange): number {
    const table = this.engine.table(name);
    this.engine.gate.releaseAll();
    let ddl: string;
    if ('addColumn' in change) {
      table.addColumn(change.addColumn);
      const column = table.columns[table.columns.length - 1] as ColumnSchema;
      ddl = addColumnSql(table, column, change.addColumn.default ?? null);
    } else {
      table.dropColumn(change.dropColumn);
      ddl = dropColumnSql(table, change.dropColumn);
    }
    return this.engine.logSchemaChange(name, table.schema, ddl);
  }

  /** Removes every row at once; logged as one truncate entry, not as deletes. */
  truncate(name: string): number {
    const table = this.engine.table(name);
    this.engine.gate.releaseAll();
    table.rows.clear();
    return this.engine.logTruncate(name);
  }

  // ---- Writes.

  /**
   * Runs `fn` in a transaction and commits when it returns; if it throws, nothing is written.
   * Transactions may interleave freely at their `await`s; the outcome is always that of running
   * them one after another in commit order (see `TransactionRun`).
   */
  async transaction<T>(fn: (tx: MemoryTransaction) => T | Promise<T>): Promise<T> {
    const tx = new TransactionRun(this.engine, []);
    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      tx.rollback();
      throw error;
    }
    tx.commit();
    return result;
  }

  /** A transaction that cannot interleave with others: commits before returning. */
  transactionSync<T>(fn: (tx: MemoryTransaction) => T): T {
    const tx = new TransactionRun(this.engine, null);
    let result: T;
    try {
      result = fn(tx);
    } catch (error) {
      tx.rollback();
      throw error;
    }
    tx.commit();
    return result;
  }

  /** Inserts one row in its own transaction; returns its key. */
  insert(table: string, row: Row): Key {
    return this.transactionSync((tx) => tx.insert(table, row));
  }

  /** Inserts rows in one transaction (all or none); returns their keys. */
  insertMany(table: string, rows: Iterable<Row>): Key[] {
    return this.transactionSync((tx) => {
      const keys: Key[] = [];
      for (const row of rows) keys.push(tx.insert(table, row));
      return keys;
    });
  }

  /** Updates one row in its own transaction; returns the new row. */
  update(table: string, key: Key, changes: RowChanges): Row {
    return this.transactionSync((tx) => tx.update(table, key, changes));
  }

  /** Deletes one row in its own transaction; returns it. */
  delete(table: string, key: Key): Row {
    return this.transactionSync((tx) => tx.delete(table, key));
  }

  // ---- Reads of the visible state.

  /** The visible row under `key`, if any. */
  get(table: string, key: Key): Row | undefined {
    const t = this.engine.table(table);
    return t.rows.get(t.checkKey(key));
  }

  /** Every visible row of a table, in key order. */
  snapshotRows(table: string): Row[] {
    return [...this.engine.table(table).rows.values()];
  }

  /** Number of visible rows. */
  rowCount(table: string): number {
    return this.engine.table(table).rows.size;
  }

  /** Qualified names of all tables, sorted. */
  tableNames(): string[] {
    return [...this.engine.tables.keys()].sort();
  }

  hasTable(name: string): boolean {
    return this.engine.tables.has(name);
  }

  /** The table's current definition in the core's terms (chunk key = primary key). */
  schemaOf(table: string): TableSchema {
    return this.engine.table(table).schema;
  }

  /** Smallest and largest visible primary key, or null when the table is empty. */
  keyRange(table: string): { readonly min: Key; readonly max: Key } | null {
    const rows = this.engine.table(table).rows;
    const min = rows.firstKey();
    const max = rows.lastKey();
    return min === undefined || max === undefined ? null : { min, max };
  }

  /** The smallest key k such that `[from, k)` holds `n` visible rows (`from` null: the start), or null if fewer remain. */
  keyAfter(table: string, from: Key | null, n: number): Key | null {
    return this.engine.table(table).rows.keyAfter(from, n) ?? null;
  }

  /** Number of visible rows with keys in `[start, end)` (null: unbounded). */
  countRange(table: string, start: Key | null, end: Key | null): number {
    return this.engine.table(table).rows.countRange(start, end);
  }

  // ---- The change log.

  /** The last offset in the log; 0 when nothing was logged. */
  logEnd(): number {
    return this.engine.log.end;
  }

  /** The offset just before the oldest entry kept: reading after it yields the whole remaining log. */
  logStart(): number {
    return this.engine.log.start;
  }

  /**
   * The largest offset at or before which every logged change is visible to reads: the log end,
   * or just before the first held commit under a visibility-lag fault.
   */
  visibleThrough(): number {
    return this.engine.visibleThrough();
  }

  /**
   * The offset just before the first entry committed at or after `time`; the log end if none was.
   * `undefined` when entries from that time were truncated away.
   */
  offsetAtTime(time: number): number | undefined {
    return this.engine.log.offsetBeforeTime(time);
  }

  /** Removes log entries with offsets below `offset` (a purged binlog, recycled WAL): readers needing them fail. */
  truncateLogBefore(offset: number): void {
    this.engine.log.truncateBefore(offset);
  }

  /** Every entry the log still has, in order (a copy): for tests. */
  logEntries(): LogEntry[] {
    const log = this.engine.log;
    return log.read(log.start, log.end - log.start);
  }

  // ---- Connections.

  /** Opens a connection; it counts as open until closed. */
  connect(kind: ConnectionKind): MemoryConnection {
    return new MemoryConnection(this.engine, this.nextConnectionId++, kind);
  }

  /** The connections open now, in opening order. */
  openConnections(): ConnectionInfo[] {
    return [...this.engine.connections].map(({ id, kind }) => ({ id, kind }));
  }
}
