import { JsonText, type LogicalType, type Value } from '@highwater/core';

const INT16 = 2 ** 15;
const INT32 = 2 ** 31;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^NaN$|^[+-]?Infinity$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Checks a non-null value against a column's logical type and returns it in its canonical form,
 * or `undefined` when it does not fit.
 *
 * The canonical form is the one `Value` documents: 64-bit integers within ±2^53 are `number`, beyond
 * it `bigint`. Canonicalising on write means both read paths (chunks and log) hand out the one
 * stored value, which is the property the conformance suite checks on every real database.
 */
export function canonicalValue(type: LogicalType, v: Value): Value | undefined {
  switch (type.kind) {
    case 'boolean':
      return typeof v === 'boolean' ? v : undefined;
    case 'int16':
      return Number.isInteger(v) && (v as number) >= -INT16 && (v as number) < INT16 ? v : undefined;
    case 'int32':
      return Number.isInteger(v) && (v as number) >= -INT32 && (v as number) < INT32 ? v : undefined;
    case 'int64':
    case 'uint64':
      return canonicalInt64(v, type.kind === 'uint64');
    case 'float32':
    case 'float64':
      return typeof v === 'number' ? v : undefined;
    case 'decimal':
      return typeof v === 'string' && DECIMAL.test(v) ? v : undefined;
    case 'uuid':
      return typeof v === 'string' && UUID.test(v) ? v : undefined;
    case 'string':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'interval':
      return typeof v === 'string' ? v : undefined;
    case 'enum':
      return typeof v === 'string' && type.values.includes(v) ? v : undefined;
    case 'set':
      return Array.isArray(v) && v.every((m) => typeof m === 'string' && type.values.includes(m)) ? v : undefined;
    case 'bytes':
      return v instanceof Uint8Array ? v : undefined;
    case 'array':
      return canonicalArray(type.element, v);
    case 'json':
      // A document is its text (JsonText), never a parsed JavaScript value: parsing rounds numbers.
      return v instanceof JsonText ? v : undefined;
    case 'bits':
    case 'other':
      // Representations vary by database; the memory database stores whatever it is given.
      return v;
  }
}

function canonicalInt64(v: Value, unsigned: boolean): Value | undefined {
  if (typeof v === 'number') {
    // A number beyond 2^53 has already lost precision: refuse it rather than store a wrong value.
    return Number.isSafeInteger(v) && (!unsigned || v >= 0) ? v : undefined;
  }
  if (typeof v !== 'bigint') return undefined;
  if (unsigned ? v < 0n || v > UINT64_MAX : v < INT64_MIN || v > INT64_MAX) return undefined;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function canonicalArray(element: LogicalType, v: Value): Value | undefined {
  if (!Array.isArray(v)) return undefined;
  const items = v as readonly Value[];
  let out: Value[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Value;
    const c = item === null ? null : canonicalValue(element, item);
    if (c === undefined) return undefined;
    if (c !== item) {
      out ??= items.slice();
      out[i] = c;
    }
  }
  return out ?? v;
}

/** The memory database's own name for a type (what `ColumnSchema.nativeType` reports), e.g. `decimal(20,10)`. */
export function nativeTypeName(type: LogicalType): string {
  switch (type.kind) {
    case 'decimal':
      if (type.precision === undefined) return 'decimal';
      return type.scale === undefined ? `decimal(${type.precision})` : `decimal(${type.precision},${type.scale})`;
    case 'string':
    case 'bits':
      return type.length === undefined ? type.kind : `${type.kind}(${type.length})`;
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return type.precision === undefined ? type.kind : `${type.kind}(${type.precision})`;
    case 'enum':
    case 'set':
      return `${type.kind}(${type.values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')})`;
    case 'array':
      return `${nativeTypeName(type.element)}[]`;
    default:
      return type.kind;
  }
}
