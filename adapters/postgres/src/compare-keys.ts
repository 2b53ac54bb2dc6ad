import {
  type ColumnSchema,
  columnwiseKeyComparator,
  compareBytes,
  compareCodePoints,
  compareDecimalStrings,
  type Value,
  type ValueComparator,
} from '@highwater/core';

type Comparator = ValueComparator;

function compareNumbers(a: Value, b: Value): number {
  const x = a as number | bigint;
  const y = b as number | bigint;
  // Postgres sorts NaN above every other value, and equal to itself.
  const xn = typeof x === 'number' && Number.isNaN(x);
  const yn = typeof y === 'number' && Number.isNaN(y);
  if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
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
      return (a, b) => compareDecimalStrings(a as string, b as string);
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

/**
 * Orders chunk keys as the adapter's queries order them: numbers numerically, decimals exactly,
 * text by code point (the queries use `COLLATE "C"`), bytea bytewise, uuid as its bytes, enums by
 * declaration order, dates and timestamps chronologically. Nulls (never in primary keys) sort last.
 */
export const comparePgKeys = columnwiseKeyComparator(
  (column) => (column === undefined ? compareStrings : comparatorFor(column)),
  'last',
);
