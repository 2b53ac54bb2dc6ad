import type { DdlChange } from '../schema/ddl-changes.js';
import type { TableId, TableSchema } from '../schema/table-schema.js';
import type { JsonValue, Row } from '../values/value.js';

/** Where an event came from. */
export interface SourceInfo {
  /** The adapter's name, e.g. `postgres`. */
  readonly connector: string;
  /** Qualified table name. */
  readonly table: string;
  /** The table's database, schema and name, for consumers that need the levels apart. */
  readonly tableId: TableId;
  /** Commit time of the change in the source, ms since the epoch; for snapshot reads the time the chunk was read. */
  readonly opTs: number | null;
  /** The serialised log offset of the change; for snapshot reads the chunk's high watermark. */
  readonly offset: JsonValue | null;
  readonly txId: string | null;
  /** True for snapshot reads (`op: 'r'`). */
  readonly snapshot: boolean;
}

/** A row read by the snapshot (`r`), inserted (`c`), updated (`u`) or deleted (`d`). */
export interface ChangeEvent {
  readonly kind: 'change';
  readonly op: 'r' | 'c' | 'u' | 'd';
  /** The primary-key columns of the row. */
  readonly key: Row;
  readonly before: Row | null;
  readonly after: Row | null;
  /**
   * What `before` holds: every column (`full`), only the key columns (`key`, e.g. Postgres without
   * `REPLICA IDENTITY FULL`), or nothing (`none`: reads and inserts).
   */
  readonly beforeImage: 'full' | 'key' | 'none';
  /**
   * Columns of `after` the log did not carry and the core could not fill (e.g. an unchanged TOAST
   * value of a row it never saw). They are absent from `after`, never null. Empty almost always.
   */
  readonly unknownColumns: readonly string[];
  readonly source: SourceInfo;
}

/** A table's definition changed; events after it use `schema`. `schema` is null when the table was dropped. */
export interface SchemaChangeEvent {
  readonly kind: 'schema';
  readonly table: string;
  readonly schema: TableSchema | null;
  /** The definition before the change; null for a table not seen before. */
  readonly before: TableSchema | null;
  /** What changed from `before` to `schema`, one entry per column change (see `diffTableSchemas`). */
  readonly changes: readonly DdlChange[];
  readonly ddl: string | null;
  readonly source: SourceInfo;
}

/** Every row of a table was removed. */
export interface TruncateEvent {
  readonly kind: 'truncate';
  readonly table: string;
  readonly source: SourceInfo;
}

/** Nothing captured changed for a while; the position still moved (lets consumers checkpoint and see liveness). */
export interface HeartbeatEvent {
  readonly kind: 'heartbeat';
  readonly offset: JsonValue;
  readonly at: number;
}

export type SourceEvent = ChangeEvent | SchemaChangeEvent | TruncateEvent | HeartbeatEvent;
