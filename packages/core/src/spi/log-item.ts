import type { TableSchema } from '../schema/table-schema.js';
import type { Row } from '../values/value.js';

/** Fields every item read from a change log carries. */
interface LogItemBase<O> {
  /** Position of this item in the log; strictly increasing in delivery order (a `progress` item may repeat the last position). */
  readonly offset: O;
}

/** One row changed by a committed transaction. */
export interface RowChange<O> extends LogItemBase<O> {
  readonly kind: 'change';
  readonly op: 'c' | 'u' | 'd';
  /** Qualified table name (see `tableName`). */
  readonly table: string;
  /** The row before the change (updates and deletes); may hold only the key, see `beforeImage`. */
  readonly before: Row | null;
  /** The row after the change (inserts and updates). */
  readonly after: Row | null;
  /** `full` when `before` holds every column, `key` when it holds only the key columns. */
  readonly beforeImage: 'full' | 'key' | 'none';
  /**
   * Columns left out of `after` because they did not change and the log does not repeat them
   * (Postgres unchanged TOAST values, MySQL minimal images). The core fills them from what it knows.
   */
  readonly unchanged?: readonly string[];
  /** Commit time in milliseconds since the epoch, where the log records it. */
  readonly commitTime: number | null;
  /** Transaction id, where the database has one. */
  readonly txId: string | null;
}

/** A table's definition changed (or the table was dropped: `schema` null). Rows after it use the new schema. */
export interface SchemaChange<O> extends LogItemBase<O> {
  readonly kind: 'schema';
  readonly table: string;
  readonly schema: TableSchema | null;
  /** The statement as the database logged it, where it did. */
  readonly ddl: string | null;
  readonly commitTime: number | null;
  /**
   * New column name → old name, for columns the adapter knows were renamed (rather than dropped and
   * added): from the DDL text or the database's column numbers.
   */
  readonly renamedColumns?: Readonly<Record<string, string>>;
  /** With `schema` null: the table was renamed to this (qualified) name rather than dropped. */
  readonly renamedTo?: string;
}

/** Every row of a table was removed at once. */
export interface TableTruncate<O> extends LogItemBase<O> {
  readonly kind: 'truncate';
  readonly table: string;
  readonly commitTime: number | null;
  readonly txId: string | null;
}

/**
 * The reader has delivered everything up to and including `offset`. Log readers must yield one
 * whenever they are caught up and have said nothing else for a while, so that a chunk's high
 * watermark is passed even when no captured table changes.
 */
export interface LogProgress<O> extends LogItemBase<O> {
  readonly kind: 'progress';
}

export type LogItem<O> = RowChange<O> | SchemaChange<O> | TableTruncate<O> | LogProgress<O>;
