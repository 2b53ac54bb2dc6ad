/**
 * BSON comparison order, as the MongoDB simulator sorts and compares values.
 *
 * From the manual's "Comparison/Sort Order" page
 * (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/): MinKey < Null < Numbers (ints, longs,
 * doubles, decimals, compared by value) < Symbol, String (simple binary comparison) < Object < Array < BinData (length,
 * then subtype, then bytes) < ObjectId < Boolean < Date < Timestamp < Regular Expression < JavaScript code < MaxKey.
 * Objects compare field by field: the type of the values, then the field names, then the values; an object that runs
 * out of fields first is the smaller one. A missing field compares as null.
 *
 * The MongoDB adapter has its own comparator for the same order (its `compareKeys`); this one is kept apart on
 * purpose, as the server's side of the contract, so a mistake in either shows up in the adapter's tests against the
 * simulator instead of being shared by both.
 */
import type { Binary, BSONRegExp, Document, ObjectId, Timestamp } from 'bson';

/** What the simulator stores: whatever `bson` decodes with `promoteValues: false`. */
export type BsonValue = unknown;

enum Rank {
  MinKey = 1,
  Null = 2,
  Number = 3,
  String = 4,
  Object = 5,
  Array = 6,
  BinData = 7,
  ObjectId = 8,
  Boolean = 9,
  Date = 10,
  Timestamp = 11,
  Regex = 12,
  Code = 13,
  CodeWithScope = 14,
  MaxKey = 15,
}

function bsonType(value: BsonValue): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const tag = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

/** The bracket a value sorts in; numbers of every width share one, as do strings and symbols. */
export function typeRank(value: BsonValue): number {
  if (value === null || value === undefined) return Rank.Null;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return Rank.Number;
    case 'string':
      return Rank.String;
    case 'boolean':
      return Rank.Boolean;
  }
  if (value instanceof Date) return Rank.Date;
  if (value instanceof RegExp) return Rank.Regex;
  if (Array.isArray(value)) return Rank.Array;
  switch (bsonType(value)) {
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
      return Rank.BinData;
    case 'ObjectId':
      return Rank.ObjectId;
    case 'Timestamp':
      return Rank.Timestamp;
    case 'BSONRegExp':
      return Rank.Regex;
    case 'Code':
      return (value as { scope?: unknown }).scope == null ? Rank.Code : Rank.CodeWithScope;
    default:
      return Rank.Object;
  }
}

export function isNumber(value: BsonValue): boolean {
  return typeRank(value) === Rank.Number;
}

/** A number as an exact pair: bigint when integral (Int64 keeps every digit), else a double. */
function numericParts(value: BsonValue): { readonly big?: bigint; readonly float: number } {
  if (typeof value === 'number') return { float: value };
  if (typeof value === 'bigint') return { big: value, float: Number(value) };
  switch (bsonType(value)) {
    case 'Int32':
    case 'Double':
      return { float: (value as { value: number }).value };
    case 'Long':
      return {
        big: (value as { toBigInt(): bigint }).toBigInt(),
        float: Number((value as { toBigInt(): bigint }).toBigInt()),
      };
    default:
      // Decimal128: compared through its double value — close, not exact beyond 15–17 significant digits.
      return { float: Number((value as { toString(): string }).toString()) };
  }
}

/** A number as a JS double (what `$inc` and the like compute with). */
export function toDouble(value: BsonValue): number {
  return numericParts(value).float;
}

function compareNumbers(a: BsonValue, b: BsonValue): number {
  const x = numericParts(a);
  const y = numericParts(b);
  if (x.big !== undefined && y.big !== undefined) return x.big < y.big ? -1 : x.big > y.big ? 1 : 0;
  // NaN sorts below every other number (manual, "Numeric Types" on the comparison page).
  if (Number.isNaN(x.float)) return Number.isNaN(y.float) ? 0 : -1;
  if (Number.isNaN(y.float)) return 1;
  if (x.big !== undefined && Number.isFinite(y.float) && Number.isInteger(y.float)) {
    const yb = BigInt(y.float);
    return x.big < yb ? -1 : x.big > yb ? 1 : 0;
  }
  if (y.big !== undefined && Number.isFinite(x.float) && Number.isInteger(x.float)) {
    const xb = BigInt(x.float);
    return xb < y.big ? -1 : xb > y.big ? 1 : 0;
  }
  return x.float < y.float ? -1 : x.float > y.float ? 1 : 0;
}

/** Simple binary comparison of UTF-8 bytes, which is code-point order (not JS's UTF-16 code-unit order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1; // a surrogate pair encodes a code point above every BMP one
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

function stringOf(value: BsonValue): string {
  return typeof value === 'string' ? value : String((value as { value: string }).value);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function compareDocuments(a: Document, b: Document): number {
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  const n = Math.min(ak.length, bk.length);
  for (let i = 0; i < n; i++) {
    const av = a[ak[i] as string];
    const bv = b[bk[i] as string];
    const byType = typeRank(av) - typeRank(bv);
    if (byType !== 0) return byType < 0 ? -1 : 1;
    const byName = compareStrings(ak[i] as string, bk[i] as string);
    if (byName !== 0) return byName;
    const byValue = compareValues(av, bv);
    if (byValue !== 0) return byValue;
  }
  return ak.length === bk.length ? 0 : ak.length < bk.length ? -1 : 1;
}

function regexParts(value: BSONRegExp | RegExp): { pattern: string; options: string } {
  return value instanceof RegExp ? { pattern: value.source, options: value.flags } : value;
}

/** Total order over BSON values: negative, zero or positive like `Array.prototype.sort` wants. */
export function compareValues(a: BsonValue, b: BsonValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case Rank.MinKey:
    case Rank.MaxKey:
    case Rank.Null:
      return 0;
    case Rank.Number:
      return compareNumbers(a, b);
    case Rank.String:
      return compareStrings(stringOf(a), stringOf(b));
    case Rank.Object:
      return compareDocuments(a as Document, b as Document);
    case Rank.Array: {
      const x = a as BsonValue[];
      const y = b as BsonValue[];
      return compareDocuments({ ...x }, { ...y });
    }
    case Rank.BinData: {
      const x = a as Binary;
      const y = b as Binary;
      if (x.position !== y.position) return x.position < y.position ? -1 : 1;
      if (x.sub_type !== y.sub_type) return x.sub_type < y.sub_type ? -1 : 1;
      return compareBytes(x.buffer.subarray(0, x.position), y.buffer.subarray(0, y.position));
    }
    case Rank.ObjectId:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case Rank.Boolean:
      return a === b ? 0 : a === false ? -1 : 1;
    case Rank.Date: {
      const x = (a as Date).getTime();
      const y = (b as Date).getTime();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case Rank.Timestamp: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return x.t !== y.t ? (x.t < y.t ? -1 : 1) : x.i !== y.i ? (x.i < y.i ? -1 : 1) : 0;
    }
    case Rank.Regex: {
      const x = regexParts(a as BSONRegExp | RegExp);
      const y = regexParts(b as BSONRegExp | RegExp);
      return compareStrings(x.pattern, y.pattern) || compareStrings(x.options, y.options);
    }
    default:
      return compareStrings(String((a as { code: unknown }).code), String((b as { code: unknown }).code));
  }
}

/** Equality as the query language sees it (numbers of different widths are equal when their values are). */
export function valuesEqual(a: BsonValue, b: BsonValue): boolean {
  return typeRank(a) === typeRank(b) && compareValues(a, b) === 0;
}
