import type { ColumnSchema, TableSchema } from '../schema/table-schema.js';
import type { Key, Value } from '../values/value.js';

/** Orders two non-null values of one column. */
export type ValueComparator = (a: Value, b: Value) => number;

/**
 * Orders strings by Unicode code point — the order of a binary collation on UTF-8 (Postgres
 * `COLLATE "C"`, MySQL `*_bin`), which is not JavaScript's UTF-16 order above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (part of a code point above U+FFFF) sorts after every other code unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Exact order of decimal strings (`-12.50`, `0.0001`; `NaN` above `Infinity` above all numbers, as Postgres sorts them). */
export function compareDecimalStrings(a: string, b: string): number {
  const rank = (s: string) => (s === 'NaN' ? 2 : s === 'Infinity' ? 1 : s === '-Infinity' ? -1 : 0);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== 0 || rb !== 0) return ra - rb;
  const na = a.startsWith('-');
  const nb = b.startsWith('-');
  const [ia = '', fa = ''] = (na ? a.slice(1) : a).split('.');
  const [ib = '', fb = ''] = (nb ? b.slice(1) : b).split('.');
  const intA = ia.replace(/^0+/, '');
  const intB = ib.replace(/^0+/, '');
  const fracA = fa.replace(/0+$/, '');
  const fracB = fb.replace(/0+$/, '');
  const signA = intA === '' && fracA === '' ? 0 : na ? -1 : 1;
  const signB = intB === '' && fracB === '' ? 0 : nb ? -1 : 1;
  if (signA !== signB) return signA - signB;
  if (signA === 0) return 0;
  let magnitude: number;
  if (intA.length !== intB.length) magnitude = intA.length - intB.length;
  else if (intA !== intB) magnitude = intA < intB ? -1 : 1;
  else magnitude = fracA === fracB ? 0 : fracA < fracB ? -1 : 1;
  // Equal negatives would give -0, which Object.is (and so a test's toBe(0)) tells from 0.
  return magnitude === 0 ? 0 : signA * magnitude;
}

/** Numbers and bigints, mixed freely (drivers return either for the same integer column). */
export const compareNumeric: ValueComparator = (a, b) => {
  const x = a as number | bigint;
  const y = b as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Bytes, bytewise. */
export const compareBytes: ValueComparator = (a, b) => Buffer.compare(a as Uint8Array, b as Uint8Array);

/**
 * Builds an SPI `compareKeys` from one comparator per chunk-key column (chosen once per table
 * schema and cached): keys are compared column by column; nulls, which keys do not normally hold,
 * sort where the database sorts them.
 *
 * @example
 * const compareKeys = columnwiseKeyComparator((column) => (column?.type.kind === 'string' ? textOrder : compareNumeric), 'last');
 */
export function columnwiseKeyComparator(
  comparatorFor: (column: ColumnSchema | undefined) => ValueComparator,
  nulls: 'first' | 'last',
): (table: TableSchema, a: Key, b: Key) => number {
  const cache = new WeakMap<TableSchema, ValueComparator[]>();
  const nullFirst = nulls === 'first' ? -1 : 1;
  return (table, a, b) => {
    let comparators = cache.get(table);
    if (comparators === undefined) {
      comparators = table.chunkKey.map((name) => comparatorFor(table.columns.find((c) => c.name === name)));
      cache.set(table, comparators);
    }
    for (let i = 0; i < comparators.length; i++) {
      const x = a[i] ?? null;
      const y = b[i] ?? null;
      if (x === null || y === null) {
        if (x !== y) return x === null ? nullFirst : -nullFirst;
        continue;
      }
      const c = (comparators[i] as ValueComparator)(x, y);
      if (c !== 0) return c;
    }
    return 0;
  };
}
