import type { AdapterCapabilities, JsonValue, LogicalType, Row, SourceAdapter } from '@highwater/core';

/** A column of a table the suite asks the harness to create, in Highwater's logical types. */
export interface ColumnDefinition {
  readonly name: string;
  /** The harness maps it to its database's type (e.g. `int64` → `bigint`, `decimal(30,10)` → `numeric(30,10)`). */
  readonly type: LogicalType;
  /** Default true. Primary-key columns are never nullable. */
  readonly nullable?: boolean;
}

/** A table the suite asks for. */
export interface TableDefinition {
  /**
   * The unqualified table name: lower-case letters, digits and underscores, at most 40 characters,
   * unique within a run. The harness puts it in its own schema/database and returns the qualified name.
   */
  readonly name: string;
  readonly columns: readonly ColumnDefinition[];
  /** Primary-key columns in key order (possibly several). Absent or empty: the table has no key. */
  readonly primaryKey?: readonly string[];
  /** Column sets with a unique constraint (their columns NOT NULL), e.g. for a keyless table's chunk key. */
  readonly unique?: readonly (readonly string[])[];
}

/** One write of a transaction. `key` holds the primary-key columns of the row to change. */
export type WriteOp =
  | { readonly op: 'insert'; readonly table: string; readonly row: Row }
  | { readonly op: 'update'; readonly table: string; readonly key: Row; readonly changes: Row }
  | { readonly op: 'delete'; readonly table: string; readonly key: Row };

/** What the harness (not the adapter) can do; the suite skips cases that need what is missing, and says so. */
export interface HarnessCapabilities {
  /** The logical column kinds `createTable` supports. Cases needing others are skipped. */
  readonly columnTypes: readonly LogicalType['kind'][];
  /**
   * Makes commits reach the log before they are visible to reads — the race of DESIGN.md "Watermark
   * safety" — on demand: after `hold()` every commit is logged but invisible until `release()`.
   * Only an in-process database can usually do this (the memory harness has it).
   */
  readonly visibilityLag?: {
    hold(): void | Promise<void>;
    release(): void | Promise<void>;
  };
  /** Number of connections the adapter's instances have open now (to check `close()` closes them all). */
  openConnections?(): Promise<number>;
  /**
   * True where a row's key cannot change in place (MongoDB's `_id` is immutable): the suite then writes
   * a key move as a delete of the old row and an insert of the new one in one transaction, expects
   * those two changes from the log, and never asks `update` to change a key column. Default false.
   */
  readonly immutableKeys?: boolean;
  /** False where the database stores `''` as NULL (Oracle): string-key cases then leave `''` out. Default true. */
  readonly emptyStringKeys?: boolean;
  /**
   * The smallest difference between two commit times the log records, in ms (default 1; MySQL's binlog
   * records seconds: 1000). The timestamp case spaces its writes by twice this.
   */
  readonly commitTimeResolutionMs?: number;
}

/**
 * Everything the conformance cases need from a database, kept apart from the adapter (Flink's
 * "external context"): a plugin author writes one for their database and the whole suite runs on it.
 *
 * Writes go through the harness's own client, not through the adapter. Values are Highwater's
 * logical values (`Value`): the harness converts them to and from its driver's representation, and
 * `readTable` must return exactly what the adapter is expected to emit for the stored value.
 *
 * The suite calls `start()` once before its cases and `stop()` once after; cases create tables with
 * unique names and never assume an empty database. Cases run one at a time.
 *
 * @typeParam O - the adapter's offset type.
 * @typeParam A - options the harness accepts for `createAdapter` (e.g. an unsafe variant, for tests
 *   that prove the suite catches it). Cases never pass any; `ConformanceConfig.adapterOptions` does.
 */
export interface ConformanceHarness<O = unknown, A = never> {
  /** Shown in test titles, e.g. `memory` or `postgres 16`. */
  readonly name: string;
  /** What the adapter declares (`adapter.capabilities`); needed before `start()` to decide skips. Checked against each adapter created. */
  readonly adapterCapabilities: AdapterCapabilities;
  readonly capabilities: HarnessCapabilities;

  /** Starts (or connects to) the database. */
  start(): Promise<void>;
  /** Stops it and removes what `start()` created. */
  stop(): Promise<void>;

  /** A fresh adapter instance on the database; every call must be independent (a "restart" creates a new one). */
  createAdapter(options?: A): SourceAdapter<O> | Promise<SourceAdapter<O>>;

  /** Creates a table; returns its qualified name as the adapter names it (`tableName(id)`). */
  createTable(definition: TableDefinition): Promise<string>;
  insert(table: string, row: Row): Promise<void>;
  /** Changes some columns of the row with primary key `key`; changing key columns moves the row (never asked with `immutableKeys`). */
  update(table: string, key: Row, changes: Row): Promise<void>;
  delete(table: string, key: Row): Promise<void>;
  /** Runs the writes in one transaction, committed before the promise resolves. */
  transaction(ops: readonly WriteOp[]): Promise<void>;
  /** The rows visible now: the ground truth cases compare the output with. Any order. */
  readTable(table: string): Promise<readonly Row[]>;
  /** Adds a nullable column (existing rows get null). */
  alterTable(table: string, change: { readonly addColumn: ColumnDefinition }): Promise<void>;
  dropTable(table: string): Promise<void>;
  /** Removes every row in one statement (logged as a truncate, not as deletes). Optional. */
  truncateTable?(table: string): Promise<void>;
  /**
   * Makes the log advance without touching any table a case captures (e.g. a write to a table of the
   * harness's own). The suite calls it when it waits for the source to catch up and nothing else moves.
   */
  moveLog(): Promise<void>;
  /**
   * Makes the log lose its oldest positions, as a purged binlog or a lost replication slot does:
   * afterwards an adapter asked to read after the returned (serialised) offset must fail with
   * `OffsetUnavailableError`. Optional: the offset-unavailable case is skipped without it.
   */
  loseLogBefore?(): Promise<JsonValue>;
  /**
   * The text the database gives back for a JSON document written as `text`: its own normalised form
   * where it stores JSON parsed (Postgres `jsonb`, MySQL `JSON`), asked of the server (e.g.
   * `SELECT $1::jsonb::text`), never computed by the harness. Absent where `json` columns keep the
   * text as written (MariaDB, Postgres `json`): the adapter must then give back the written text.
   */
  normalJson?(text: string): Promise<string>;
  /** An adapter connected as a user without the privileges CDC needs. Optional: the permission case is skipped without it. */
  createUnprivilegedAdapter?(): SourceAdapter<O> | Promise<SourceAdapter<O>>;
}
