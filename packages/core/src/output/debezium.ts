import type { ChangeEvent, SourceEvent, SourceInfo, TruncateEvent } from '../events/source-event.js';
import type { ColumnSchema, TableId, TableSchema } from '../schema/table-schema.js';
import type { JsonValue, Row } from '../values/value.js';
import { debeziumRow, type TemporalMode } from './debezium-values.js';

/** A row (or key) as Debezium's JSON converter shows it with `schemas.enable=false`. */
export type DebeziumRow = { readonly [column: string]: JsonValue };

/** The `source` block of a Debezium change event. */
export interface DebeziumSource {
  /** Debezium writes its own version here; Highwater writes `options.version`. */
  readonly version: string;
  readonly connector: string;
  /** The logical server name (Debezium's `topic.prefix`). */
  readonly name: string;
  /** Commit time in the source, ms since the epoch; for snapshot reads the time the chunk was read. */
  readonly ts_ms: number;
  /** `ts_ms` in microseconds (Debezium 2.6+). */
  readonly ts_us: number;
  /** `'true'` for snapshot reads, `'false'` otherwise (Highwater never writes `'last'`, `'first'` or `'incremental'`). */
  readonly snapshot: 'true' | 'false';
  /**
   * The database name: for MySQL and MariaDB the table id's first level (their databases are what
   * Highwater's table ids call schemas), elsewhere the id's `database`; `''` where there is none, as
   * Debezium writes it.
   */
  readonly db: string;
  /** Always null (Debezium's Postgres/MySQL ordering string); the position is in `offset`. */
  readonly sequence: null;
  /** The schema name; null where the database has no schema level (MySQL, MariaDB, MongoDB). */
  readonly schema: string | null;
  readonly table: string;
  /** The transaction id as the adapter reports it (a string even where Debezium writes a number). */
  readonly txId: string | null;
  /**
   * Highwater's serialised offset of the change (for snapshot reads, the chunk's high watermark): it
   * takes the place of the connector-specific position fields (`lsn`, `xmin`, `file`, `pos`, `row`,
   * `gtid`, `scn`, `commit_scn`, ...), which Highwater does not write.
   */
  readonly offset: JsonValue | null;
}

/** The value of a Debezium change event (the `payload` of the JSON converter's output). */
export interface DebeziumEnvelope {
  readonly before: DebeziumRow | null;
  readonly after: DebeziumRow | null;
  readonly source: DebeziumSource;
  readonly op: 'r' | 'c' | 'u' | 'd' | 't';
  /** When the envelope was made (Debezium: when the connector processed the event), ms since the epoch. */
  readonly ts_ms: number;
  /** `ts_ms` in microseconds (Debezium 2.6+). */
  readonly ts_us: number;
  /** Always null: Debezium's default, `provide.transaction.metadata=false`. */
  readonly transaction: null;
}

/** One Kafka-style record: Debezium's topic name, the key (primary-key columns) and the envelope. */
export interface DebeziumRecord {
  /** `<name>.<schema>.<table>`, or `<name>.<db>.<table>` where there is no schema level, as Debezium names topics. */
  readonly topic: string;
  /** The primary-key columns; null for tables without a primary key and for truncates, as in Debezium. */
  readonly key: DebeziumRow | null;
  readonly value: DebeziumEnvelope;
}

export interface DebeziumOptions {
  /** `source.name` and the topic prefix (Debezium's `topic.prefix`). Default `'highwater'`. */
  readonly name?: string;
  /** `source.version`. Default `'highwater'`. */
  readonly version?: string;
  /** `source.connector`, e.g. `'postgresql'` where a consumer expects Debezium's name. Default: the event's adapter name. */
  readonly connector?: string;
  /**
   * The tables' schemas by qualified name (a `Map` fits). With a table's schema `set` columns become
   * comma-separated strings and other values of JSON columns (spatial objects) JSON text, as Debezium
   * shows them, and `temporal` applies. JSON documents are their text with or without it.
   */
  readonly schemas?: { get(table: string): TableSchema | undefined };
  /** How dates, times and timestamps appear; see {@link TemporalMode}. Default `'iso'`. */
  readonly temporal?: TemporalMode;
  /** The clock for the envelope's `ts_ms` (and for `source.ts_ms` when the event has no time). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * An event as a Debezium change-event record, so consumers of Debezium's JSON (`debezium-json` in
 * Flink, Kafka consumers, ...) can read Highwater's output.
 *
 * - Reads, inserts, updates and deletes map to `op` `r`, `c`, `u`, `d`; truncates to `t` with a null
 *   key and null `before`/`after`.
 * - Schema changes and heartbeats return null: Debezium sends them to other topics in other shapes
 *   (the schema-history and `__debezium-heartbeat` topics); `toDebeziumSchemaChange` gives a schema
 *   change the shape of Debezium's schema-change topic.
 * - Deletes are not followed by a tombstone here; a Kafka sink that wants log compaction writes
 *   `{ key, value: null }` after each `d` record itself, as Debezium does by default.
 *
 * Values take the JSON forms Debezium's JSON converter shows by default, except where noted:
 * integers are numbers (a `bigint` beyond ±(2^53 − 1) becomes a decimal string, where Debezium
 * writes a long number JavaScript cannot hold exactly); bytes are base64; decimals stay exact
 * strings (Debezium's `decimal.handling.mode=string`; its default, `precise`, writes base64 of the
 * unscaled integer); non-finite floats are `"NaN"`/`"Infinity"`/`"-Infinity"`; UUIDs and enums are
 * strings; dates and times are ISO strings unless `temporal` and the table's schema say otherwise.
 *
 * Other deviations from Debezium: only the payload is produced (the JSON converter with
 * `schemas.enable=false`); a key-only before-image (`beforeImage: 'key'`) holds just the key
 * columns, where Debezium lists every column with nulls; columns the log did not carry
 * (`unknownColumns`) are absent from `after`, where Debezium's Postgres connector writes the
 * `__debezium_unavailable_value` placeholder; a delete without a before-image gets the key as its
 * `before` (Debezium's Postgres connector always logs at least the key; Flink's `debezium-json`
 * refuses a delete without one), while an update without one keeps `before: null`, as in Debezium; `source` carries `offset` instead of the
 * connector-specific position fields and no `ts_ns` (beyond 2^53); `source.snapshot` is `'true'` for
 * every read; `source.ts_ms` falls back to the processing time when the event has no commit time,
 * as Debezium does.
 */
export function toDebeziumEnvelope(event: ChangeEvent | TruncateEvent, options?: DebeziumOptions): DebeziumRecord;
export function toDebeziumEnvelope(event: SourceEvent, options?: DebeziumOptions): DebeziumRecord | null;
export function toDebeziumEnvelope(event: SourceEvent, options: DebeziumOptions = {}): DebeziumRecord | null {
  if (event.kind === 'schema' || event.kind === 'heartbeat') return null;
  const now = (options.now ?? Date.now)();
  const schema = options.schemas?.get(event.source.table);
  const id = schema?.id ?? event.source.tableId;
  const name = options.name ?? 'highwater';
  const source = sourceBlock(event.source, id, name, now, options);
  const topic = [name, id.schema ?? id.database, id.name].filter((part) => part !== undefined).join('.');
  const envelope = { source, ts_ms: now, ts_us: Math.round(now * 1000), transaction: null } as const;

  if (event.kind === 'truncate') {
    return { topic, key: null, value: { before: null, after: null, ...envelope, op: 't' } };
  }
  const columns = schema === undefined ? null : new Map<string, ColumnSchema>(schema.columns.map((c) => [c.name, c]));
  const temporal = options.temporal ?? 'iso';
  const convert = (row: Row | null): DebeziumRow | null => (row === null ? null : debeziumRow(row, columns, temporal));
  return {
    topic,
    key: Object.keys(event.key).length === 0 ? null : convert(event.key),
    value: {
      before:
        event.op === 'r' || event.op === 'c'
          ? null
          : convert(event.op === 'd' ? (event.before ?? event.key) : event.before),
      after: event.op === 'd' ? null : convert(event.after),
      ...envelope,
      op: event.op,
    },
  };
}

/**
 * Connectors (Highwater adapter names, and Debezium's names for the same databases) whose table ids
 * name the database in `schema`: MySQL and MariaDB have no schema level, and Debezium's MySQL and
 * MariaDB connectors write the database as `source.db` with no schema.
 */
const SCHEMA_IS_DATABASE: ReadonlySet<string> = new Set(['mysql', 'mariadb']);

/** The `source` block of a Debezium record for an event of table `id`. */
export function sourceBlock(
  info: SourceInfo,
  id: TableId,
  name: string,
  now: number,
  options: DebeziumOptions,
): DebeziumSource {
  const ts = info.opTs ?? now;
  const connector = options.connector ?? info.connector;
  const schemaIsDatabase = SCHEMA_IS_DATABASE.has(connector);
  return {
    version: options.version ?? 'highwater',
    connector,
    name,
    ts_ms: ts,
    ts_us: Math.round(ts * 1000),
    snapshot: info.snapshot ? 'true' : 'false',
    db: (schemaIsDatabase ? (id.schema ?? id.database) : id.database) ?? '',
    sequence: null,
    schema: schemaIsDatabase ? null : (id.schema ?? null),
    table: id.name,
    txId: info.txId,
    offset: info.offset,
  };
}
