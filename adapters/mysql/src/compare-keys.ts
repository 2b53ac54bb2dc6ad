import type { ColumnSchema, Key, TableSchema, Value } from '@highwater/core';

type Comparator = (a: Value, b: Value) => number;

/** Code-point order: `<charset>_bin` on UTF-8; with `pad`, trailing spaces are ignored (PAD SPACE collations). */
export function compareBinCollation(a: string, b: string, pad = true): number {
  const x = pad ? a.replace(/ +$/, '') : a;
  const y = pad ? b.replace(/ +$/, '') : b;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x.charCodeAt(i);
    const q = y.charCodeAt(i);
    if (p === q) continue;
    const ps = p >= 0xd800 && p <= 0xdfff;
    const qs = q >= 0xd800 && q <= 0xdfff;
    if (ps !== qs) return ps ? 1 : -1;
    return p - q;
  }
  return x.length - y.length;
}

/** Exact comparison of decimal strings. */
export function compareDecimals(a: string, b: string): number {
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
  let m: number;
  if (intA.length !== intB.length) m = intA.length - intB.length;
  else if (intA !== intB) m = intA < intB ? -1 : 1;
  else m = fracA === fracB ? 0 : fracA < fracB ? -1 : 1;
  return signA * m;
}

const compareNumbers: Comparator = (a, b) => {
  const x = a as number | bigint;
  const y = b as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
};

const compareBytes: Comparator = (a, b) => Buffer.compare(a as Uint8Array, b as Uint8Array);

/** Signed `[-]HHH:MM:SS.f` times. */
function compareTimes(a: Value, b: Value): number {
  const seconds = (s: string) => {
    const neg = s.startsWith('-');
    const [h = '0', m = '0', rest = '0'] = (neg ? s.slice(1) : s).split(':');
    const v = Number(h) * 3600 + Number(m) * 60 + Number(rest);
    return neg ? -v : v;
  };
  return seconds(a as string) - seconds(b as string);
}

const compareText: Comparator = (a, b) => {
  const x = a as string;
  const y = b as string;
  return x < y ? -1 : x > y ? 1 : 0;
};

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
    case 'bytes':
    case 'bits':
      return compareBytes;
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      // Fixed-width ISO text with a 4-digit year: text order is time order.
      return compareText;
    case 'time':
      return compareTimes;
    case 'enum': {
      // ENUM sorts by its index, not its text.
      const order = new Map(type.values.map((v, i) => [v, i]));
      return (a, b) => (order.get(a as string) ?? -1) - (order.get(b as string) ?? -1);
    }
    default: {
      // NO PAD collations (`*_nopad_bin`, MySQL's `*_0900_bin`) keep trailing spaces significant.
      const pad = !/collate \S*(nopad|0900)/.test(column.nativeType);
      return (a, b) => compareBinCollation(a as string, b as string, pad);
    }
  }
}

const cache = new WeakMap<TableSchema, Comparator[]>();

/**
 * Orders chunk keys as the adapter's queries order them: numbers numerically, decimals exactly,
 * text in its character set's `_bin` collation (code point order, trailing spaces ignored — the
 * queries add `COLLATE <charset>_bin`), bytes bytewise, ENUM by index, temporal values in time order.
 * NULLs (never in primary keys) sort first, as in MySQL.
 */
export function compareMysqlKeys(table: TableSchema, a: Key, b: Key): number {
  let comparators = cache.get(table);
  if (comparators === undefined) {
    comparators = table.chunkKey.map((name) => {
      const column = table.columns.find((c) => c.name === name);
      return column === undefined ? compareText : comparatorFor(column);
    });
    cache.set(table, comparators);
  }
  for (let i = 0; i < comparators.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return x === null ? -1 : 1;
      continue;
    }
    const c = (comparators[i] as Comparator)(x, y);
    if (c !== 0) return c;
  }
  return 0;
}
