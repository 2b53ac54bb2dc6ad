import type { Value } from '@highwater/core';
import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  type Document,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from 'mongodb';
import { plainDecimal } from '../bson/decimal-text.js';

/**
 * How a BSON value becomes a Highwater `Value` when no column type says otherwise (the `document`
 * column, nested values, untyped fields), and back. The form is Extended JSON v2 (relaxed) wherever
 * plain JavaScript values would lose the type, so the conversion is exact and reversible:
 *
 * | BSON | Value |
 * | --- | --- |
 * | null, undefined | `null` |
 * | boolean, string | itself |
 * | Int32, Double (NaN, ±Infinity, -0 included) | `number` |
 * | Int64 | `number` within ±(2^53-1), else `bigint` |
 * | Decimal128 | `{ $numberDecimal: '<exact plain decimal>' }` |
 * | ObjectId | `{ $oid: '<24 hex digits>' }` |
 * | Date | `{ $date: '<ISO-8601, ms, Z>' }` |
 * | Timestamp | `{ $timestamp: { t, i } }` |
 * | Binary subtype 0 | `Uint8Array` |
 * | Binary subtype 4 (UUID) | `{ $uuid: '<canonical lower-case UUID>' }` |
 * | other Binary | `{ $binary: { base64, subType: '<2 hex digits>' } }` |
 * | regular expression | `{ $regularExpression: { pattern, options } }` |
 * | MinKey, MaxKey | `{ $minKey: 1 }`, `{ $maxKey: 1 }` |
 * | JavaScript code | `{ $code: '<source>' }` |
 * | document | an object of converted fields; one whose only field starts with `$` is wrapped as `{ $document: … }` |
 * | array | an array of converted elements |
 *
 * What is lost: whether an integral number was stored as Int32, Int64 or Double (the server compares
 * them as equal numbers, so keys and order are unaffected). Everything else round-trips.
 * This module is the one place that decides the form (see docs/adapters/mongodb.md, "Values").
 */
export function bsonToValue(v: unknown): Value {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'number':
      return v;
    case 'bigint':
      return Number.isSafeInteger(Number(v)) && v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      throw new TypeError(`not a BSON value: ${typeof v}`);
  }
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(bsonToValue);
  if (v instanceof Date) return { $date: dateText(v) };
  if (v instanceof Uint8Array) return new Uint8Array(v);
  const type = (v as { _bsontype?: string })._bsontype;
  switch (type) {
    case undefined:
      return documentToValue(v as Document);
    case 'Int32':
    case 'Double':
      return (v as { value: number }).value;
    case 'Long':
      return bsonToValue((v as Long).toBigInt());
    case 'Decimal128':
      return { $numberDecimal: plainDecimal((v as Decimal128).toString()) };
    case 'ObjectId':
      return { $oid: (v as ObjectId).toHexString() };
    case 'Timestamp':
      return { $timestamp: { t: (v as Timestamp).t, i: (v as Timestamp).i } };
    case 'Binary': {
      const b = v as Binary;
      if (b.sub_type === Binary.SUBTYPE_DEFAULT) return new Uint8Array(b.buffer.subarray(0, b.position));
      if (b.sub_type === Binary.SUBTYPE_UUID && b.position === 16) return { $uuid: uuidText(b) };
      return { $binary: { base64: b.toString('base64'), subType: b.sub_type.toString(16).padStart(2, '0') } };
    }
    case 'BSONRegExp':
      return { $regularExpression: { pattern: (v as BSONRegExp).pattern, options: (v as BSONRegExp).options } };
    case 'MinKey':
      return { $minKey: 1 };
    case 'MaxKey':
      return { $maxKey: 1 };
    case 'Code':
      return { $code: String((v as { code: unknown }).code) };
    case 'BSONSymbol':
      return String((v as { value: unknown }).value);
    default:
      throw new TypeError(`a BSON ${type} value has no Highwater form`);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A document's fields, converted (`$`-led lone fields wrapped, see {@link bsonToValue}). */
export function documentToValue(doc: Document): { readonly [key: string]: Value } {
  const out: Record<string, Value> = {};
  const keys = Object.keys(doc);
  for (const k of keys) out[k] = bsonToValue(doc[k]);
  if (keys.length === 1 && (keys[0] as string).startsWith('$')) return { $document: out };
  return out;
}

/** Inverse of {@link bsonToValue}: integral numbers within Int32 become Int32, other numbers Double. */
export function valueToBson(v: Value): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0) ? new Int32(v) : v;
  if (typeof v === 'bigint') return Long.fromBigInt(v);
  if (v instanceof Uint8Array) return new Binary(v, Binary.SUBTYPE_DEFAULT);
  if (Array.isArray(v)) return (v as readonly Value[]).map(valueToBson);
  const o = v as { readonly [key: string]: Value };
  const keys = Object.keys(o);
  if (keys.length === 1 && (keys[0] as string).startsWith('$'))
    return taggedToBson(keys[0] as string, o[keys[0] as string] as Value);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = valueToBson(o[k] as Value);
  return out;
}

function taggedToBson(tag: string, body: Value): unknown {
  const fields = body as { readonly [key: string]: Value };
  switch (tag) {
    case '$numberDecimal':
      return Decimal128.fromString(body as string);
    case '$oid':
      return ObjectId.createFromHexString(body as string);
    case '$date':
      return new Date(body as string);
    case '$timestamp':
      return new Timestamp({ t: fields.t as number, i: fields.i as number });
    case '$uuid':
      return new UUID(body as string);
    case '$binary':
      return new Binary(Buffer.from(fields.base64 as string, 'base64'), Number.parseInt(fields.subType as string, 16));
    case '$regularExpression':
      return new BSONRegExp(fields.pattern as string, fields.options as string);
    case '$minKey':
      return new MinKey();
    case '$maxKey':
      return new MaxKey();
    case '$code':
      return new Code(body as string);
    case '$document': {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(fields)) out[k] = valueToBson(fields[k] as Value);
      return out;
    }
    default:
      throw new TypeError(`${tag} is not a tag of the MongoDB value form`);
  }
}

/** ISO-8601 in UTC with milliseconds (BSON dates have millisecond precision); years outside 0..9999 as JavaScript writes them. */
export function dateText(d: Date): string {
  return d.toISOString();
}

/** A 16-byte binary as a canonical lower-case UUID. */
export function uuidText(b: Binary): string {
  const hex = Buffer.from(b.buffer.subarray(0, 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
