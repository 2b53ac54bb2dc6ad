import type { Key, Value } from '../values/value.js';

/**
 * A string that is equal for equal keys, used to index buffered rows by chunk key. Integers stored
 * as `number` and as `bigint` get the same identity, since drivers differ on which they return.
 */
export function keyIdentity(key: Key): string {
  if (key.length === 1) return valueIdentity(key[0] ?? null);
  let out = '';
  for (const v of key) out += `${valueIdentity(v)}\u0000`;
  return out;
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
