import {
  type ColumnSchema,
  columnwiseKeyComparator,
  compareBytes,
  compareCodePoints,
  compareDecimalStrings,
  compareNumeric,
  type ValueComparator,
} from '@highwater/core';
import { compareRowids } from './rowid/rowid.js';
import { ROWID } from './types/oracle-column.js';

const compareText: ValueComparator = (a, b) => {
  const x = a as string;
  const y = b as string;
  return x < y ? -1 : x > y ? 1 : 0;
};

function comparatorFor(column: ColumnSchema | undefined): ValueComparator {
  if (column?.name === ROWID && column.nativeType === 'ROWID') return (a, b) => compareRowids(a as string, b as string);
  switch (column?.type.kind) {
    case 'int16':
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64':
      return compareNumeric;
    case 'decimal':
      return (a, b) => compareDecimalStrings(a as string, b as string);
    case 'bytes':
      return compareBytes;
    case 'timestamp':
    case 'timestamptz':
      // Fixed-width ISO text with a 4-digit year: text order is time order.
      return compareText;
    default:
      // VARCHAR2 under the default BINARY sort of an AL32UTF8 database: UTF-8 byte order, which is
      // code point order. (A linguistic NLS_SORT is not supported: the chunk queries' ORDER BY would disagree.)
      return (a, b) => compareCodePoints(a as string, b as string);
  }
}

/** Orders chunk keys as Oracle's `ORDER BY` does with `NLS_SORT = BINARY`. Keys are never NULL. */
export const compareOracleKeys = columnwiseKeyComparator(comparatorFor, 'last');
