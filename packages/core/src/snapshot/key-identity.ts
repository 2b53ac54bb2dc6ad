import type { Key, Value } from '../values/value.js';

/**
 * A value that is equal for equal keys, used to index buffered rows by chunk key: a string, or for
 * a one-column key holding a safe integer that integer. Integers stored as `number` and as `bigint`
 * get the same identity, since drivers differ on which they return.
 */
export function keyIdentity(key: Key): string | number {
  if (key.length === 1) return singleIdentity(key[0] ?? null);
  let out = '';
  for (const v of key) out += `${valueIdentity(v)}\u0000`;
  return out;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A one-column key: a safe integer is its own identity (a number is a cheaper map key than a
 * string built for it); `bigint`s in that range map to the same number. Everything else as
 * {@link valueIdentity}, whose strings never equal a number.
 */
function singleIdentity(v: Value): string | number {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : valueIdentity(v);
  if (typeof v === 'bigint') return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : valueIdentity(v);
  return valueIdentity(v);
}

function valueIdentity(v: Value): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'number':
      return Number.isInteger(v) ? `i${v}` : `n${v}`;
    case 'bigint':
      return `i${v}`;
    case 'boolean':
      return v ? 't' : 'f';
    default:
      if (v === null) return 'z';
      if (v instanceof Uint8Array) return `x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
      return `j${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`;
  }
}
