import type { ColumnSchema, Key, TableSchema, Value } from '@highwater/core';

type Comparator = (a: Value, b: Value) => number;

/** Orders strings by code point — the order of `COLLATE "C"` on UTF-8 (not JS's UTF-16 order). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) sorts after every BMP code unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function compareNumbers(a: Value, b: Value): number {
  const x = a as number | bigint;
  const y = b as number | bigint;
  // Postgres sorts NaN above every other value, and equal to itself.
  const xn = typeof x === 'number' && Number.isNaN(x);
  const yn = typeof y === 'number' && Number.isNaN(y);
  if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Exact comparison of decimal strings (`-12.50`, `NaN`, `Infinity`), as numeric orders them. */
export function compareDecimals(a: string, b: string): number {
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
  const zeroA = intA === '' && fracA === '';
  const zeroB = intB === '' && fracB === '';
  const signA = zeroA ? 0 : na ? -1 : 1;
  const signB = zeroB ? 0 : nb ? -1 : 1;
  if (signA !== signB) return signA - signB;
  if (signA === 0) return 0;
  let magnitude: number;
  if (intA.length !== intB.length) magnitude = intA.length - intB.length;
  else if (intA !== intB) magnitude = intA < intB ? -1 : 1;
  else magnitude = fracA === fracB ? 0 : fracA < fracB ? -1 : 1;
  return signA * magnitude;
}

function compareBytes(a: Value, b: Value): number {
  return Buffer.compare(a as Uint8Array, b as Uint8Array);
}

/** ISO dates and timestamps: by (signed) year as a number, then the rest; `-infinity`/`infinity` at the ends. */
function compareTemporal(a: Value, b: Value): number {
  const split = (s: string): [number, string] => {
    if (s === 'infinity') return [Number.POSITIVE_INFINITY, ''];
    if (s === '-infinity') return [Number.NEGATIVE_INFINITY, ''];
    const dash = s.indexOf('-', 1);
    // A trailing `Z` would sort after `.`; without it a shorter fraction is a prefix and sorts first.
    const rest = s.slice(dash);
    return [Number(s.slice(0, dash)), rest.endsWith('Z') ? rest.slice(0, -1) : rest];
  };
  const [ya, ra] = split(a as string);
  const [yb, rb] = split(b as string);
  if (ya !== yb) return ya < yb ? -1 : 1;
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

function compareStrings(a: Value, b: Value): number {
  return compareCodePoints(a as string, b as string);
}

function compareBooleans(a: Value, b: Value): number {
  return Number(a) - Number(b);
}

function comparatorFor(column: ColumnSchema): Comparator {
  const type = column.type;
  switch (type.kind) {
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint64':
    case 'float32':
    case 'float64':
      return compareNumbers;
    case 'decimal':
      return (a, b) => compareDecimals(a as string, b as string);
    case 'boolean':
      return compareBooleans;
    case 'bytes':
      return compareBytes;
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return compareTemporal;
    case 'enum': {
      const order = new Map(type.values.map((v, i) => [v, i]));
      return (a, b) => (order.get(a as string) ?? -1) - (order.get(b as string) ?? -1);
    }
    case 'string':
      if (/^(character|bpchar)(\(|$)/.test(column.nativeType)) {
        // char(n) compares without its trailing blanks.
        return (a, b) => compareCodePoints((a as string).replace(/ +$/, ''), (b as string).replace(/ +$/, ''));
      }
      return compareStrings;
    default:
      // uuid (lower-case hex: string order is byte order), time, and anything else kept as text.
      return compareStrings;
  }
}

const cache = new WeakMap<TableSchema, Comparator[]>();

/**
 * Orders chunk keys as the adapter's queries order them: numbers numerically, decimals exactly,
 * text by code point (the queries use `COLLATE "C"`), bytea bytewise, uuid as its bytes, enums by
 * declaration order, dates and timestamps chronologically. Nulls (never in primary keys) sort last.
 */
export function comparePgKeys(table: TableSchema, a: Key, b: Key): number {
  let comparators = cache.get(table);
  if (comparators === undefined) {
    comparators = table.chunkKey.map((name) => {
      const column = table.columns.find((c) => c.name === name);
      return column === undefined ? compareStrings : comparatorFor(column);
    });
    cache.set(table, comparators);
  }
  for (let i = 0; i < comparators.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
      continue;
    }
    const c = (comparators[i] as Comparator)(x, y);
    if (c !== 0) return c;
  }
  return 0;
}
