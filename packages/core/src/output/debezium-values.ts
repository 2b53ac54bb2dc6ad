import type { ColumnSchema, LogicalType } from '../schema/table-schema.js';
import { daysFromCivil } from '../values/civil-date.js';
import { JsonText } from '../values/json-text.js';
import type { JsonValue, Row, Value } from '../values/value.js';

/**
 * How dates, times and timestamps appear in Debezium rows.
 *
 * - `iso` (default): Highwater's own ISO-8601 strings, unchanged.
 * - `adaptive`: Debezium's `time.precision.mode=adaptive` (the Postgres connector's default) —
 *   `date` → days since the epoch (`io.debezium.time.Date`); `time(0..3)` → ms past midnight
 *   (`Time`), `time(4..6)` → µs (`MicroTime`); `timestamp(0..3)` → ms since the epoch
 *   (`Timestamp`), `timestamp(4..6)` → µs (`MicroTimestamp`), `timestamp(7..9)` → ns
 *   (`NanoTimestamp`, a string: beyond 2^53). A column of unknown precision counts as 6.
 * - `adaptive_time_microseconds` (the MySQL connector's default): as `adaptive`, but every `time`
 *   is µs.
 *
 * `timestamptz` stays an ISO string in every mode (Debezium's `ZonedTimestamp`). The numeric modes
 * need the table's schema; without it values stay as in `iso`.
 */
export type TemporalMode = 'iso' | 'adaptive' | 'adaptive_time_microseconds';

/**
 * A row in the form Debezium's JSON converter shows it (`schemas.enable=false`). JSON documents are
 * their text (a string) in every case; with the column schemas, other values of JSON columns (the
 * MySQL adapter's spatial objects) become JSON text too and `set` columns comma-separated strings,
 * as Debezium shows them, and temporal columns follow `temporal`.
 */
export function debeziumRow(
  row: Row,
  columns: ReadonlyMap<string, ColumnSchema> | null,
  temporal: TemporalMode,
): { [column: string]: JsonValue } {
  const out: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(row)) {
    // defineProperty: a column named `__proto__` stays a column.
    Object.defineProperty(out, name, {
      value: debeziumValue(value, columns?.get(name)?.type, temporal),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * One value in Debezium's JSON form: JSON documents ({@link JsonText}) → their text, always;
 * `bigint` → number when within ±(2^53 − 1), else a decimal string; bytes → base64; non-finite floats → `"NaN"`, `"Infinity"`, `"-Infinity"` (what Jackson
 * writes); decimals, UUIDs and enums stay strings; arrays and objects are converted inside.
 */
export function debeziumValue(value: Value, type: LogicalType | undefined, temporal: TemporalMode): JsonValue {
  if (value === null) return null;
  // A JSON document is its text, whether or not the table's schema is known, as Debezium writes
  // JSON columns (io.debezium.data.Json: a string holding the document).
  if (value instanceof JsonText) return value.text;
  if (type !== undefined) {
    switch (type.kind) {
      case 'json':
        return JSON.stringify(debeziumValue(value, undefined, temporal));
      case 'set':
        if (Array.isArray(value)) return value.map(String).join(',');
        break;
      case 'array':
        if (Array.isArray(value)) return value.map((item: Value) => debeziumValue(item, type.element, temporal));
        break;
      case 'date':
      case 'time':
      case 'timestamp':
        if (temporal !== 'iso' && typeof value === 'string') return temporalValue(value, type, temporal);
        break;
    }
  }
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return integer(value);
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map((item: Value) => debeziumValue(item, undefined, temporal));
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value as { readonly [key: string]: Value })) {
    Object.defineProperty(out, k, {
      value: debeziumValue(v, undefined, temporal),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** A bigint as a JSON number when it is exact as one, else as a decimal string. */
export function integer(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

const DATE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
const TIME = /^(-?)(\d{2,}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const TIMESTAMP = /^(-?\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** A date, time or timestamp string in Debezium's numeric form; a string that does not parse (`infinity`) is kept. */
function temporalValue(text: string, type: LogicalType, temporal: Exclude<TemporalMode, 'iso'>): JsonValue {
  if (type.kind === 'date') {
    const m = DATE.exec(text);
    return m === null ? text : daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  }
  const precision = ('precision' in type ? type.precision : undefined) ?? 6;
  if (type.kind === 'time') {
    const m = TIME.exec(text);
    if (m === null) return text;
    const seconds = BigInt(Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]));
    const nanos = (seconds * 1_000_000_000n + fraction(m[5])) * (m[1] === '-' ? -1n : 1n);
    if (temporal === 'adaptive' && precision <= 3) return integer(nanos / 1_000_000n);
    return integer(nanos / 1_000n);
  }
  const m = TIMESTAMP.exec(text);
  if (m === null) return text;
  const days = BigInt(daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])));
  const seconds = days * 86_400n + BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  const nanos = seconds * 1_000_000_000n + fraction(m[7]);
  if (precision <= 3) return integer(floorDiv(nanos, 1_000_000n));
  if (precision <= 6) return integer(floorDiv(nanos, 1_000n));
  return integer(nanos);
}

/** Nanoseconds in a fraction of a second written with up to nine digits. */
function fraction(digits: string | undefined): bigint {
  return digits === undefined ? 0n : BigInt(digits.padEnd(9, '0'));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}
