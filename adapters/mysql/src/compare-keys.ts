import {
  type ColumnSchema,
  columnwiseKeyComparator,
  compareBytes,
  compareCodePoints,
  compareDecimalStrings,
  compareNumeric,
  type Value,
  type ValueComparator,
} from '@highwater/core';

type Comparator = ValueComparator;

/** Code-point order: `<charset>_bin` on UTF-8; with `pad`, trailing spaces are ignored (PAD SPACE collations). */
export function compareBinCollation(a: string, b: string, pad = true): number {
  return pad ? compareCodePoints(a.replace(/ +$/, ''), b.replace(/ +$/, '')) : compareCodePoints(a, b);
}

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
      return compareNumeric;
    case 'decimal':
      return (a, b) => compareDecimalStrings(a as string, b as string);
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

/**
 * Orders chunk keys as the adapter's queries order them: numbers numerically, decimals exactly,
 * text in its character set's `_bin` collation (code point order, trailing spaces ignored — the
 * queries add `COLLATE <charset>_bin`), bytes bytewise, ENUM by index, temporal values in time order.
 * NULLs (never in primary keys) sort first, as in MySQL.
 */
export const compareMysqlKeys = columnwiseKeyComparator(
  (column) => (column === undefined ? compareText : comparatorFor(column)),
  'first',
);
