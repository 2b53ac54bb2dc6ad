import type { JsonText } from './json-text.js';

/**
 * A column value in Highwater's logical type system, shared by every adapter.
 *
 * - integers beyond ±2^53 are `bigint`; smaller ones are `number`
 * - decimals are exact strings (`"12345678901234567890.0123456789"`)
 * - bytes are `Uint8Array`
 * - dates, times and timestamps are ISO-8601 strings with microseconds kept
 *   (`"2024-02-29"`, `"13:45:00.123456"`, `"2024-02-29T13:45:00.123456"`, and
 *   `"2024-02-29T13:45:00.123456Z"` for zoned timestamps, always in UTC)
 * - JSON columns are {@link JsonText}: the document's text as the database prints it, never
 *   parsed (parsing rounds big numbers); a JSON `null` document is `JsonText('null')`, not `null`
 * - UUIDs are lower-case strings; arrays are arrays
 *
 * Plain objects are values too (the MySQL adapter gives spatial values as `{x, y}` objects).
 */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | JsonText
  | readonly Value[]
  | { readonly [key: string]: Value };

/** A row: column name to value. */
export type Row = { readonly [column: string]: Value };

/** The values of a table's chunk-key columns, in chunk-key order. Opaque to the core except through the adapter's comparator. */
export type Key = readonly Value[];

/** Any JSON value: what checkpoints and serialised offsets are made of. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
