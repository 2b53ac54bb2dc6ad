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

/** Text of a scalar for text-typed target columns (enum, set, interval, other). */
export function plainText(value: Value): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map((v) => plainText(v as Value)).join(',');
  return jsonText(value);
}
