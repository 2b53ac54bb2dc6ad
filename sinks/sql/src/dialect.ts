import type { LogicalType, TableIndex, Value } from '@highwater/core';
import type { ConnectionConfig } from './sink-config.js';
import type { RejectValue } from './value-text.js';

/** A statement as a session sends it: `prepared` ones have the same text every time (see `SqlSession.execute`). */
export interface SessionStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly prepared: boolean;
}

/** One connection to the target; statements run one at a time. */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Runs a statement the session prepares once per connection and runs again by name (the same
   * text every time: array parameters, see {@link ArrayStatements}). Absent: `query` is used.
   */
  execute?(sql: string, params: readonly unknown[]): Promise<void>;
  /**
   * Sends `statements` in order without waiting for each answer (one round trip for all) and
   * settles once every one is answered: null, or the first failure and its index (the server then
   * fails the rest of the transaction). Absent: the sink sends them one by one.
   */
  pipeline?(
    statements: readonly SessionStatement[],
  ): Promise<{ readonly index: number; readonly error: unknown } | null>;
  /**
   * Runs a bulk-load statement (`COPY … FROM STDIN`) fed with `data` (UTF-8 bytes, in pieces); present
   * when the dialect has {@link BulkLoad}.
   */
  load?(sql: string, data: Iterable<Uint8Array>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Loading many rows in one stream (Postgres `COPY … FROM STDIN`, MySQL `LOAD DATA LOCAL INFILE`)
 * instead of multi-row statements. The load only inserts: new rows go straight into the table (a key
 * that exists fails the load), other rows into a stage the sink then upserts from (see `SqlSink`).
 */
export interface BulkLoad {
  /** The statement that reads rows of `columns` (of these logical types) into `qualified`. */
  statement(qualified: string, columns: readonly string[], types: readonly LogicalType[]): string;
  /** One row of the load's data, from the values as `Dialect.encode` gives them. */
  line(params: readonly unknown[]): string;
  /** True when the load failed because a key (or another unique value) exists already. */
  isDuplicateKey(error: unknown): boolean;
  /**
   * True when the target refuses bulk loads altogether (MySQL with `local_infile` off): the sink
   * then writes with statements from this point on. Absent: a failed load is always an error.
   */
  isUnavailable?(error: unknown): boolean;
  /**
   * False: rows the target may already hold (updates) go in multi-row statements, queued with the
   * batch's others, instead of through a stage (default true). A stage costs round trips of its own
   * (create, load, upsert, drop) where the statements ride in the batch's one (MySQL's multi-statement
   * pipeline).
   */
  readonly stagesUpdates?: boolean;
  /** A session-private table `stage` with the types of `columns` of `qualified`. */
  createStage(qualified: string, stage: string, columns: readonly string[]): string;
  /** Insert-or-update of every row of `stage` into `qualified` (as `Dialect.upsert` does for bound rows). */
  upsertFromStage(qualified: string, stage: string, columns: readonly string[], key: readonly string[]): string;
  /** Drops `stage` once upserted from, where the target does not drop it at commit itself (MySQL). */
  dropStage?(stage: string): string;
}

/** A target column as array parameters carry it: its type as a cast names it, and whether it is an array itself. */
export interface ArrayColumn {
  /**
   * The column's type without length or precision (`character varying`, `numeric`, `bpchar`, `"bit"`):
   * the column's own applies on assignment, which fails on a value too long rather than cutting it.
   */
  readonly type: string;
  /** The column holds arrays: its values travel as text and are cast one by one (`unnest` would flatten them). */
  readonly isArray: boolean;
}

/**
 * Statements that take each column's values as one array parameter (Postgres: `unnest`, `= ANY`):
 * a group of any size is one statement with one text, so it is prepared once per connection.
 */
export interface ArrayStatements {
  /** The target's columns of `qualified` with their types; empty when the table does not exist. */
  columnTypes(session: SqlSession, qualified: string): Promise<ReadonlyMap<string, ArrayColumn>>;
  /** Insert-or-update of the rows whose values of `columns` the parameters hold, one array per column. */
  upsert(qualified: string, columns: readonly string[], types: readonly ArrayColumn[], key: readonly string[]): string;
  /** Deletes the rows whose keys the parameters hold, one array per key column. */
  delete(qualified: string, key: readonly string[], types: readonly ArrayColumn[]): string;
  /** One column's parameter from its values (as `Dialect.encode` gives them). */
  array(values: readonly unknown[]): unknown;
}

/** A target column as the sink creates it. */
export interface TargetColumn {
  readonly name: string;
  readonly type: LogicalType;
  /** False for `NOT NULL` (key columns, and columns NOT NULL in the source when the table was created). */
  readonly nullable: boolean;
  /**
   * The source's default where it is a constant (`constantDefault`), as SQL text: a row a change
   * leaves the column out of gets the same value on both sides.
   */
  readonly defaultLiteral?: string | null;
}

/** A column as the target's catalog has it. */
export interface ExistingColumn {
  readonly name: string;
  readonly nullable: boolean;
}

/** Statements creating a table's secondary indexes, and the indexes the target cannot have, with why. */
export interface IndexDdl {
  readonly statements: readonly string[];
  readonly skipped: readonly { readonly index: string; readonly why: string }[];
}

/**
 * What differs between the SQL targets: connecting, quoting, the type mapping and the statements.
 * The sink logic (planning, transactions, checkpoints) is written once against this.
 */
export interface Dialect {
  readonly name: 'postgres' | 'mysql';
  /** Postgres runs DDL inside the write's transaction; MySQL commits implicitly on DDL, so it runs before. */
  readonly transactionalDdl: boolean;
  /** Bound parameters per statement (Postgres allows 65535; kept lower to bound statement size). */
  readonly maxParams: number;
  /** Longest text a key column of a created table holds, in characters, where keys are shorter than text (MySQL). */
  readonly keyChars?: number;
  readonly begin: string;
  /** Present when the target takes many rows faster in bulk than with multi-row statements. */
  readonly bulkLoad?: BulkLoad;
  /** Present when the target binds arrays: upserts and deletes of any number of rows are then one statement each. */
  readonly arrayStatements?: ArrayStatements;
  connect(connection: ConnectionConfig): Promise<SqlSession>;
  /** The schema (Postgres) or database (MySQL) unqualified names resolve to on this connection. */
  currentSchema(session: SqlSession): Promise<string>;
  quote(identifier: string): string;
  /** The `n`th (1-based) bound parameter. */
  param(n: number): string;
  /** Column type for a logical type; key columns may need a bounded type (MySQL indexes). */
  columnType(type: LogicalType, isKey: boolean): string;
  /**
   * A value as a bound parameter for a column of `type`. A value the mapped column cannot hold
   * exactly goes to `reject` (which throws): never stored as something else.
   */
  encode(type: LogicalType, value: Value, reject: RejectValue): unknown;
  /** True when the schema (Postgres) or database (MySQL) exists. */
  schemaExists(session: SqlSession, schema: string): Promise<boolean>;
  /** `CREATE SCHEMA IF NOT EXISTS` (Postgres) / `CREATE DATABASE IF NOT EXISTS` (MySQL). */
  createSchema(schema: string): string;
  /** Columns of a table, or null when it does not exist. */
  columnsOf(session: SqlSession, schema: string, table: string): Promise<readonly ExistingColumn[] | null>;
  createTable(qualified: string, columns: readonly TargetColumn[], key: readonly string[]): string;
  /** The source's secondary indexes on a table just created (`name` is the target table's unqualified name). */
  createIndexes(
    qualified: string,
    name: string,
    columns: readonly TargetColumn[],
    indexes: readonly TableIndex[],
  ): IndexDdl;
  /**
   * Always nullable: existing rows have no value, unless `defaultLiteral` (a constant, see
   * `constantDefault`) gives them one, as the source's `ADD COLUMN … DEFAULT` did.
   */
  addColumn(qualified: string, column: TargetColumn, defaultLiteral?: string | null): string;
  /** Drops `NOT NULL` from a column the source made nullable or dropped (new rows may lack it). */
  dropNotNull(qualified: string, column: TargetColumn): string;
  /** `SET NOT NULL` (`column.nullable` is ignored). */
  setNotNull(qualified: string, column: TargetColumn, isKey: boolean): string;
  dropColumn(qualified: string, column: string): string;
  renameColumn(qualified: string, from: string, to: string): string;
  /**
   * Changes a column's type to the mapped `column.type`, converting stored values with the
   * database's cast (Postgres `USING col::type`; MySQL `MODIFY`, strict: a value that does not convert fails).
   */
  alterType(qualified: string, column: TargetColumn, isKey: boolean): string;
  /** `SET DEFAULT literal`, or `DROP DEFAULT` for null. */
  setDefault(qualified: string, column: string, defaultLiteral: string | null): string;
  dropTable(qualified: string): string;
  /** Renames a table inside its schema (`name` unqualified). */
  renameTable(qualified: string, schema: string, name: string): string;
  /** Insert-or-update of `rows` rows of `columns`; only `update` columns change on a conflict. */
  upsert(qualified: string, columns: readonly string[], key: readonly string[], rows: number): string;
  truncate(qualified: string): string;
  createCheckpointTable(qualified: string): string;
  /** Parameters: pipeline, checkpoint JSON text. */
  storeCheckpoint(qualified: string): string;
  /** True when the error means the connection is gone (worth reconnecting and retrying). */
  isConnectionLost(error: unknown): boolean;
  /** True when the transaction failed for a transient reason (deadlock, serialization) and may be retried. */
  isTransient(error: unknown): boolean;
}

/** `(a, b) IN ((?, ?), …)` or `a IN (?, …)`: the rows whose key is one of `count` keys. */
export function keyInList(dialect: Dialect, key: readonly string[], count: number, first = 1): string {
  const cols = key.map((c) => dialect.quote(c));
  const tuples: string[] = [];
  let n = first;
  for (let i = 0; i < count; i++) {
    const ps = key.map(() => dialect.param(n++));
    tuples.push(ps.length === 1 ? (ps[0] as string) : `(${ps.join(', ')})`);
  }
  const left = cols.length === 1 ? (cols[0] as string) : `(${cols.join(', ')})`;
  return `${left} IN (${tuples.join(', ')})`;
}

/** `(?, ?), (?, ?)` for `rows` rows of `width` parameters. */
export function valuesList(dialect: Dialect, width: number, rows: number): string {
  const out: string[] = [];
  let n = 1;
  for (let r = 0; r < rows; r++) {
    const ps: string[] = [];
    for (let c = 0; c < width; c++) ps.push(dialect.param(n++));
    out.push(`(${ps.join(', ')})`);
  }
  return out.join(', ');
}
