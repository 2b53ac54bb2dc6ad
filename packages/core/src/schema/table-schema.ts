import { createRowBuilder } from '../values/row-builder.js';
import type { Key, Row, Value } from '../values/value.js';

/** A logical column type, shared by every adapter; `nativeType` on the column keeps the database's own name. */
export type LogicalType =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'int16' | 'int32' | 'int64' | 'uint64' }
  | { readonly kind: 'float32' | 'float64' }
  | { readonly kind: 'decimal'; readonly precision?: number; readonly scale?: number }
  | { readonly kind: 'string'; readonly length?: number }
  | {
      readonly kind: 'bytes';
      /** The declared length in bytes (MySQL `BINARY(n)`/`VARBINARY(n)`): a sink recreating the table keeps it. */
      readonly length?: number;
    }
  | { readonly kind: 'uuid' | 'date' | 'interval' }
  | {
      readonly kind: 'json';
      /**
       * True where the database stores a parsed form and prints its own normalised text (Postgres
       * `jsonb`, MySQL `JSON`: key order, spacing and, in MySQL, numbers change); absent where it keeps
       * the document's text as written (Postgres `json`, MariaDB `JSON`).
       */
      readonly normalised?: boolean;
    }
  | {
      readonly kind: 'time';
      readonly precision?: number;
      /** A time of day with a UTC offset (Postgres `timetz`): values keep it (`"13:45:00.5+02"`). */
      readonly withTimeZone?: boolean;
    }
  | { readonly kind: 'timestamp' | 'timestamptz'; readonly precision?: number }
  | { readonly kind: 'enum' | 'set'; readonly values: readonly string[] }
  | {
      readonly kind: 'bits';
      readonly length?: number;
      /** Values may be shorter than `length` (Postgres `varbit(n)`); otherwise every value has `length` bits. */
      readonly varying?: boolean;
    }
  | { readonly kind: 'array'; readonly element: LogicalType }
  | { readonly kind: 'other' };

export interface ColumnSchema {
  readonly name: string;
  readonly type: LogicalType;
  /** The database's own type name, e.g. `timestamptz(3)` or `decimal(20,10) unsigned`. */
  readonly nativeType: string;
  readonly nullable: boolean;
  /**
   * The column's default as the source database prints it (Postgres `pg_get_expr`, e.g.
   * `'new'::text`; MySQL `COLUMN_DEFAULT`, e.g. `'new'`), where the adapter reports defaults; absent
   * when the column has none. A sink adding the column gives it the same default when it is a
   * constant (`constantDefault`), so the rows that existed before hold the same value on both sides.
   */
  readonly default?: string;
}

/** Where a table lives. `database` and `schema` are absent where the database has no such level. */
export interface TableId {
  readonly database?: string;
  readonly schema?: string;
  readonly name: string;
}

export interface TableSchema {
  readonly id: TableId;
  readonly columns: readonly ColumnSchema[];
  /** Primary-key column names in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  /** The columns chunks are split on; defaults to the primary key. Must identify a row uniquely. */
  readonly chunkKey: readonly string[];
  /**
   * Secondary indexes on plain columns (not the primary key), for sinks that recreate the table.
   * Absent when the adapter does not report them; expression and partial indexes are left out.
   */
  readonly indexes?: readonly TableIndex[];
  /**
   * Column sets that identify a row, as far as the database guarantees it: the primary key and each
   * unique index on plain NOT NULL columns. A configured chunk key must contain one of them.
   * Absent when the adapter does not say (then a configured chunk key is taken on trust).
   */
  readonly uniqueKeys?: readonly (readonly string[])[];
  /**
   * The database's own numbers for the table and its columns, which a rename keeps (Postgres: the
   * relation's oid and each column's `attnum`); absent where the adapter has none. Checkpoints keep
   * them with the definition, so a restarted source tells a table or column renamed while the
   * pipeline was down from a drop and an add.
   */
  readonly sourceIds?: SourceIds;
}

/** See {@link TableSchema.sourceIds}. */
export interface SourceIds {
  readonly table: number;
  /** Column name → the column's number. */
  readonly columns: { readonly [column: string]: number };
}

/** A secondary index of a table over plain columns. */
export interface TableIndex {
  readonly name: string;
  /** Column names in index order. */
  readonly columns: readonly string[];
  readonly unique: boolean;
}

/**
 * The columns that identify a row in events (`key`) and in targets: the primary key, or the chunk
 * key of a table without one (configured in `chunkKeys`, which must be unique).
 */
export function keyColumnsOf(schema: TableSchema): readonly string[] {
  return schema.primaryKey.length > 0 ? schema.primaryKey : schema.chunkKey;
}

/** The qualified name used everywhere a table is named in one string: `db.schema.name`, absent levels left out. */
export function tableName(id: TableId): string {
  if (id.database !== undefined && id.schema !== undefined) return `${id.database}.${id.schema}.${id.name}`;
  if (id.schema !== undefined) return `${id.schema}.${id.name}`;
  if (id.database !== undefined) return `${id.database}.${id.name}`;
  return id.name;
}

/** The chunk key of a row (the columns of `schema.chunkKey`, in order). */
export function chunkKeyOf(schema: TableSchema, row: Row): Key {
  const cols = schema.chunkKey;
  if (cols.length === 1) return [row[cols[0] as string] ?? null];
  return cols.map((c) => row[c] ?? null);
}

/** The primary-key columns of a row, as a row. */
export function primaryKeyRowOf(schema: TableSchema, row: Row): Row {
  return keyRowFor(schema.primaryKey, row);
}

/** The {@link keyColumnsOf} columns of a row, as a row: what events carry as `key`. */
export function eventKeyRowOf(schema: TableSchema, row: Row): Row {
  return keyRowFor(keyColumnsOf(schema), row);
}

function keyRowFor(columns: readonly string[], row: Row): Row {
  let keyRow = keyRows.get(columns);
  if (keyRow === undefined) {
    keyRow = keyRowOf(columns);
    keyRows.set(columns, keyRow);
  }
  return keyRow(row);
}

/** Per primary-key column list: a function building key rows with one shape (see createRowBuilder). */
const keyRows = new WeakMap<readonly string[], (row: Row) => Row>();

function keyRowOf(columns: readonly string[]): (row: Row) => Row {
  const build = createRowBuilder(columns);
  const values: Value[] = new Array(columns.length).fill(null);
  return (row) => {
    for (let i = 0; i < columns.length; i++) values[i] = row[columns[i] as string] ?? null;
    return build(values);
  };
}
