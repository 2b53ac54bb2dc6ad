import { compareCodePoints, compareDecimalStrings } from '@highwater/core';
import { type Binary, type Decimal128, type ObjectId, Timestamp } from 'mongodb';
import { plainDecimal } from './decimal-text.js';

/**
 * MongoDB's comparison order of BSON values, as the server sorts `_id` and answers `$gte`/`$lt`
 * ("Comparison/Sort Order", MongoDB manual): first by type class —
 * MinKey < null < numbers < strings < objects < arrays < binary < ObjectId < boolean < Date <
 * Timestamp < regular expression < DBRef/Code < MaxKey — then by value within the class.
 *
 * Values are as the driver deserialises them with `useBigInt64` (Int32 and Double as `number`,
 * Int64 as `bigint`); wrapper objects (`Int32`, `Double`, `Long`) are accepted too. Numbers of every
 * BSON type compare by exact value (a Decimal128 with a double, a bigint with a double); NaN sorts
 * below every other number and equals NaN, as the server sorts it. Strings compare by code point
 * (the binary order of UTF-8: the simple collation). Documents compare field by field (type
 * class, then field name, then value), arrays element by element; the shorter is smaller when one is
 * a prefix of the other. Binary compares by length, then subtype, then bytes.
 */
export function compareBson(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case Rank.MinKey:
    case Rank.Null:
    case Rank.MaxKey:
      return 0;
    case Rank.Number:
      return compareNumbers(a, b);
    case Rank.String:
      return compareCodePoints(stringOf(a), stringOf(b));
    case Rank.Object:
      return compareDocuments(a as Record<string, unknown>, b as Record<string, unknown>);
    case Rank.Array:
      return compareArrays(a as readonly unknown[], b as readonly unknown[]);
    case Rank.Binary:
      return compareBinary(a as Binary, b as Binary);
    case Rank.ObjectId:
      return Buffer.compare((a as ObjectId).id, (b as ObjectId).id);
    case Rank.Boolean:
      return a === b ? 0 : a === false ? -1 : 1;
    case Rank.Date:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case Rank.Timestamp:
      return compareTimestamps(a as Timestamp, b as Timestamp);
    case Rank.Regex: {
      const x = a as { pattern: string; options: string };
      const y = b as { pattern: string; options: string };
      return compareCodePoints(x.pattern, y.pattern) || compareCodePoints(x.options, y.options);
    }
    default:
      return compareCodePoints(
        String((a as { code?: unknown }).code ?? a),
        String((b as { code?: unknown }).code ?? b),
      );
  }
}

/** Canonical type classes (the server's `canonicalizeBSONType` order). */
export enum Rank {
  MinKey = 0,
  Null = 1,
  Number = 2,
  String = 3,
  Object = 4,
  Array = 5,
  Binary = 6,
  ObjectId = 7,
  Boolean = 8,
  Date = 9,
  Timestamp = 10,
  Regex = 11,
  Code = 12,
  MaxKey = 13,
}

/** The type class of a BSON value (see {@link compareBson}). */
export function typeRank(v: unknown): Rank {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return Rank.Number;
    case 'string':
      return Rank.String;
    case 'boolean':
      return Rank.Boolean;
    case 'undefined':
      return Rank.Null;
    case 'object':
      break;
    default:
      throw new TypeError(`not a BSON value: ${typeof v}`);
  }
  if (v === null) return Rank.Null;
  if (Array.isArray(v)) return Rank.Array;
  if (v instanceof Date) return Rank.Date;
  if (v instanceof Uint8Array) return Rank.Binary;
  switch ((v as { _bsontype?: string })._bsontype) {
    case undefined:
      return Rank.Object;
    case 'MinKey':
      return Rank.MinKey;
    case 'MaxKey':
      return Rank.MaxKey;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return Rank.Number;
    case 'BSONSymbol':
      return Rank.String;
    case 'Binary':
      return Rank.Binary;
    case 'ObjectId':
      return Rank.ObjectId;
    case 'Timestamp':
      return Rank.Timestamp;
    case 'BSONRegExp':
      return Rank.Regex;
    case 'Code':
    case 'DBRef':
      return Rank.Code;
    default:
      return Rank.Object;
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function stringOf(v: unknown): string {
  return typeof v === 'string' ? v : String((v as { value: unknown }).value);
}

function compareDocuments(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const fa = ka[i] as string;
    const fb = kb[i] as string;
    const va = a[fa];
    const vb = b[fb];
    const ra = typeRank(va);
    const rb = typeRank(vb);
    if (ra !== rb) return ra < rb ? -1 : 1;
    const names = compareCodePoints(fa, fb);
    if (names !== 0) return names;
    const values = compareBson(va, vb);
    if (values !== 0) return values;
  }
  return sign(ka.length - kb.length);
}

function compareArrays(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareBson(a[i], b[i]);
    if (c !== 0) return c;
  }
  return sign(a.length - b.length);
}

function compareBinary(a: Binary | Uint8Array, b: Binary | Uint8Array): number {
  const [ba, sa] = binaryParts(a);
  const [bb, sb] = binaryParts(b);
  if (ba.length !== bb.length) return ba.length < bb.length ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  return Buffer.compare(ba, bb);
}

function binaryParts(v: Binary | Uint8Array): [Uint8Array, number] {
  if (v instanceof Uint8Array) return [v, 0];
  return [v.buffer.subarray(0, v.position), v.sub_type];
}

function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.t !== b.t ? (a.t < b.t ? -1 : 1) : a.i !== b.i ? (a.i < b.i ? -1 : 1) : 0;
}

// ---------------------------------------------------------------- numbers

/** A number of any BSON numeric type: `number`, `bigint`, or an exact decimal string for Decimal128. */
type NumberValue = number | bigint | { readonly decimal: string };

function numberOf(v: unknown): NumberValue {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  const wrapped = v as { _bsontype: string; value?: unknown; toBigInt?: () => bigint };
  switch (wrapped._bsontype) {
    case 'Int32':
    case 'Double':
      return wrapped.value as number;
    case 'Long':
      return (wrapped.toBigInt as () => bigint).call(v);
    default:
      return decimalValue(v as Decimal128);
  }
}

function decimalValue(d: Decimal128): NumberValue {
  const text = d.toString();
  if (text === 'NaN' || text === '-NaN') return Number.NaN;
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
  return { decimal: plainDecimal(text) };
}

function compareNumbers(a: unknown, b: unknown): number {
  const x = numberOf(a);
  const y = numberOf(b);
  if (typeof x === 'number' && typeof y === 'number') {
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0;
  // Mixed kinds: NaN and infinities first, then exact comparison as decimal strings.
  const sx = special(x);
  const sy = special(y);
  if (sx !== null || sy !== null) return (sx ?? 0) < (sy ?? 0) ? -1 : (sx ?? 0) > (sy ?? 0) ? 1 : 0;
  return compareDecimalStrings(exactText(x), exactText(y));
}

/** NaN → -2, -Infinity → -1, +Infinity → 1, a finite value → null (0 in comparisons with a special). */
function special(v: NumberValue): number | null {
  if (typeof v !== 'number') return null;
  if (Number.isNaN(v)) return -2;
  if (v === Number.POSITIVE_INFINITY) return 1;
  if (v === Number.NEGATIVE_INFINITY) return -1;
  return null;
}

/** The exact decimal expansion of a finite number (a double is a dyadic fraction: its expansion ends). */
export function exactText(v: NumberValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'number') return v.decimal;
  if (Number.isInteger(v)) return BigInt(v).toString();
  // v = m / 2^k with integer m; m / 2^k = m * 5^k / 10^k.
  let k = 0;
  let m = v;
  while (!Number.isInteger(m)) {
    m *= 2;
    k++;
  }
  const scaled = (BigInt(m) * 5n ** BigInt(k)).toString();
  const negative = scaled.startsWith('-');
  const digits = (negative ? scaled.slice(1) : scaled).padStart(k + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, digits.length - k)}.${digits.slice(digits.length - k)}`;
}

/** The cluster time as one unsigned 64-bit number (seconds in the high half), and back. */
export function timestampToBigInt(ts: Timestamp): bigint {
  return (BigInt(ts.t) << 32n) | BigInt(ts.i);
}

export function timestampFromBigInt(n: bigint): Timestamp {
  return new Timestamp({ t: Number(n >> 32n), i: Number(n & 0xffffffffn) });
}

/** True for a BSON Timestamp (by its BSON type tag: the driver and an ESM import of bson may hold different class copies). */
export function isTimestamp(v: unknown): v is Timestamp {
  return typeof v === 'object' && v !== null && (v as { _bsontype?: unknown })._bsontype === 'Timestamp';
}
