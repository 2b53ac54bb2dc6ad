import { JsonText, type Value } from '@highwater/core';

/**
 * JSON text of a value, what a JSON column of the target gets: a document ({@link JsonText}) is its
 * own text, unchanged (every digit, and `null` for a JSON null document, which is not SQL NULL);
 * other values (arrays, the MySQL adapter's spatial objects) are serialised, bigints exact (as
 * numbers in the text), bytes as `\x…` hex strings, documents inside them as strings of their text.
 */
export function jsonText(value: Value): string {
  return value instanceof JsonText ? value.text : JSON.stringify(jsonable(value));
}

/**
 * JSON text of a value for a JSON column (`json` kind; a MongoDB `_id` of mixed types is one, and a key):
 * a document ({@link JsonText}) is its own text, as {@link jsonText} keeps it; any other value is
 * written so that two different values never get the same text, nor one the target's JSON type
 * stores alike — which a key needs. Where {@link jsonable} writes a string, this keeps the value apart
 * from every string, in the Extended JSON form the MongoDB adapter uses for documents:
 * - an integer beyond ±2^53 (a bigint, or a double) as its exact digits (a JSON number), not a string;
 * - bytes as `{"$binary":{"base64":"…","subType":"00"}}`, not a `\x…` string;
 * - NaN and ±Infinity as `{"$numberDouble":"NaN"}` (`"Infinity"`, `"-Infinity"`), not strings;
 * - an object whose field names are not in the order Postgres's `jsonb` keeps them (shorter first, then
 *   bytewise), as `{"$fields":[["name",value],…]}`: `jsonb` sorts fields, so `{"b":2,"a":1}` and
 *   `{"a":1,"b":2}` — two MongoDB `_id`s, whose order counts — would be one key there.
 * Equal numbers of any type still give one text (2^60 as a double and as an Int64: the server's `_id`
 * index holds them equal too).
 */
export function exactJsonText(value: Value): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'number':
      return exactJsonNumber(value);
  }
  if (value instanceof JsonText) return value.text;
  if (value instanceof Uint8Array) {
    return `{"$binary":{"base64":"${Buffer.from(value).toString('base64')}","subType":"00"}}`;
  }
  if (Array.isArray(value)) return `[${(value as readonly Value[]).map(exactJsonText).join(',')}]`;
  const entries = Object.entries(value as { readonly [key: string]: Value });
  if (inJsonbOrder(entries))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${exactJsonText(v)}`).join(',')}}`;
  return `{"$fields":[${entries.map(([k, v]) => `[${JSON.stringify(k)},${exactJsonText(v)}]`).join(',')}]}`;
}

const SAFE_LIMIT = 2 ** 53;

function exactJsonNumber(n: number): string {
  if (Number.isNaN(n)) return '{"$numberDouble":"NaN"}';
  if (!Number.isFinite(n)) return `{"$numberDouble":"${n > 0 ? 'Infinity' : '-Infinity'}"}`;
  // The shortest text of a large double names a range, not the value (2^60 + 256 prints as …847200).
  if (Math.abs(n) >= SAFE_LIMIT) return BigInt(n).toString();
  return JSON.stringify(n);
}

/** True when the field names are in `jsonb`'s order: by length in UTF-8 bytes, then bytewise. */
function inJsonbOrder(entries: readonly (readonly [string, unknown])[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    const a = Buffer.from((entries[i - 1] as readonly [string, unknown])[0]);
    const b = Buffer.from((entries[i] as readonly [string, unknown])[0]);
    if (a.length > b.length || (a.length === b.length && Buffer.compare(a, b) > 0)) return false;
  }
  return true;
}

/** A value JSON can carry: bytes as `\x…` hex (Postgres's bytea text form), non-finite numbers as strings. */
export function jsonable(value: Value): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (value instanceof JsonText) return value.text;
  if (Array.isArray(value)) return value.map(jsonable);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as { readonly [key: string]: Value })) out[k] = jsonable(v);
  return out;
}

/** A bit string (`0101…`) from either representation: Postgres gives text, MySQL big-endian bytes. */
export function bitString(value: Value, length: number | undefined): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    const bits = [...value].map((b) => b.toString(2).padStart(8, '0')).join('');
    return length === undefined ? bits : bits.slice(-length).padStart(length, '0');
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    const bits = BigInt(value).toString(2);
    return length === undefined ? bits : bits.padStart(length, '0');
  }
  throw new TypeError(`not a bit string: ${typeof value}`);
}

/** Big-endian bytes of a bit string, as MySQL's BIT columns take them. */
export function bitBytes(value: Value, length: number | undefined): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  const bits = bitString(value, length);
  const n = bits === '' ? 0n : BigInt(`0b${bits}`);
  const size = Math.max(1, Math.ceil((length ?? bits.length) / 8));
  const out = Buffer.alloc(size);
  let rest = n;
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Told why a value cannot be stored in the target column; throws (the sink's typed error). */
export type RejectValue = (why: string) => never;

/** True for the spellings of true a source may give a boolean in. */
export function isTrue(value: Value): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}

/** Text of a scalar for text-typed target columns (enum, set, interval, other). */
export function plainText(value: Value): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map((v) => plainText(v as Value)).join(',');
  return jsonText(value);
}

/** Largest finite float32 (FLT_MAX): MySQL rejects a FLOAT whose text parses to anything larger. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The shortest decimal text that reads back as the same float32 (what Postgres prints for `real`)
 * and stays within ±FLT_MAX as a double: at the very top of the range the shortest text
 * (`3.4028235e+38`) is larger than FLT_MAX, which MySQL refuses as out of range, so the next
 * shorter-than-exact text rounding toward zero (`3.4028234e+38`) is used instead. Both target
 * databases read either text as the same float32. NaN and ±Infinity stay `NaN`, `Infinity`,
 * `-Infinity` (Postgres's spellings).
 */
export function float32Text(value: Value): string {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(n);
  const f = Math.fround(n);
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  for (let digits = 1; digits <= 9; digits++) {
    let text = f.toExponential(digits - 1);
    if (Math.abs(Number(text)) > FLOAT32_MAX) text = towardZero(text);
    if (Math.fround(Number(text)) === f) return String(Number(text));
  }
  return String(f);
}

/** `3.4028235e+38` → `3.4028234e+38`: the same digits minus one unit in the last place. */
function towardZero(exponential: string): string {
  const [mantissa = '', exponent = ''] = exponential.split('e');
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/[-.]/g, '');
  const lower = (BigInt(digits) - 1n).toString().padStart(digits.length, '0');
  const point = lower.length > 1 ? `${lower[0]}.${lower.slice(1)}` : lower;
  return `${negative ? '-' : ''}${point}e${exponent}`;
}

/** Parts of an ISO date, date-time or zoned date-time with a signed astronomical year (`-0043-03-15…`). */
export function isoYear(text: string): { year: number; rest: string } | null {
  const m = /^([+-]?\d{4,})(-\d\d-\d\d.*)$/.exec(text);
  return m === null ? null : { year: Number(m[1]), rest: m[2] as string };
}
