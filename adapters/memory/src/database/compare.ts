import type { Key, Value } from '@highwater/core';

// Rank of each kind of value in the total order. Numbers and bigints share a rank so that an
// int64 column holding both (small values as `number`, large ones as `bigint`) sorts numerically.
const NULL = 0;
const BOOLEAN = 1;
const NUMERIC = 2;
const STRING = 3;
const BYTES = 4;
const ARRAY = 5;
const OBJECT = 6;

function rank(v: Value): number {
  if (v === null) return NULL;
  switch (typeof v) {
    case 'boolean':
      return BOOLEAN;
    case 'number':
    case 'bigint':
      return NUMERIC;
    case 'string':
      return STRING;
    default:
      if (v instanceof Uint8Array) return BYTES;
      return Array.isArray(v) ? ARRAY : OBJECT;
  }
}

/**
 * The database's one total order over values, used for primary keys, key ranges and chunk
 * boundaries alike:
 *
 * `null` < booleans (`false` < `true`) < numbers and bigints (numerically, mixed freely; `NaN`
 * after every other number, as Postgres sorts it) < strings (by UTF-16 code unit, i.e. a binary
 * collation) < `Uint8Array` (bytewise, a prefix first) < arrays (lexicographically) < objects
 * (by their sorted entries).
 *
 * @returns negative if `a` sorts before `b`, 0 if they are equal, positive if after.
 */
export function compareValues(a: Value, b: Value): number {
  // The common cases first, without computing ranks: keys are mostly numbers or strings.
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'number') return compareNumbers(a as number, b as number);
    if (ta === 'string') return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  }
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case NULL:
      return 0;
    case BOOLEAN:
      return a === b ? 0 : a ? 1 : -1;
    case NUMERIC:
      return compareMixedNumbers(a as number | bigint, b as number | bigint);
    case STRING:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case BYTES:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case ARRAY:
      return compareKeys(a as readonly Value[], b as readonly Value[]);
    default:
      return compareObjects(a as { readonly [k: string]: Value }, b as { readonly [k: string]: Value });
  }
}

/**
 * Orders two keys (or any two value arrays) lexicographically with {@link compareValues}; a key
 * that is a prefix of the other sorts first.
 */
export function compareKeys(a: readonly Value[], b: readonly Value[]): number {
  // Most keys have one column: skip the loop.
  if (a.length === 1 && b.length === 1) return compareValues(a[0] as Value, b[0] as Value);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i] as Value, b[i] as Value);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** True when two keys are equal in the database's order (so `[1]` equals `[1n]`). */
export function keysEqual(a: Key, b: Key): boolean {
  return compareKeys(a, b) === 0;
}

function compareNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  // At least one is NaN: NaN equals NaN and sorts after every other number.
  const an = Number.isNaN(a);
  return an === Number.isNaN(b) ? 0 : an ? 1 : -1;
}

function compareMixedNumbers(a: number | bigint, b: number | bigint): number {
  // `<` and `>` compare a number with a bigint exactly; only NaN needs care.
  if (typeof a === 'number' && Number.isNaN(a)) return typeof b === 'number' && Number.isNaN(b) ? 0 : 1;
  if (typeof b === 'number' && Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareObjects(a: { readonly [k: string]: Value }, b: { readonly [k: string]: Value }): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const name = ka[i] as string;
    const other = kb[i] as string;
    if (name !== other) return name < other ? -1 : 1;
    const c = compareValues(a[name] as Value, b[name] as Value);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}
