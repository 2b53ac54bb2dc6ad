import { compareCodePoints, type Key, type TableSchema } from '@highwater/core';
import { rowsOf } from '../rows/collection-rows.js';
import { compareBson } from './bson-order.js';

/** Key columns whose string values are BSON strings (not decimals, dates or UUIDs written as strings). */
const PLAIN_STRING_TYPES = new Set(['string', 'bson', 'any', 'symbol']);
const plainStrings = new WeakMap<TableSchema, boolean>();

/**
 * The SPI's `compareKeys`: two chunk keys in the order the server sorts their `_id`s
 * (`compareBson`). Plain numbers and plain strings of a single-column key are compared directly (the
 * common case, called for every change during a snapshot); anything else goes through the `_id`
 * value it stands for, so mixed types, compound `_id`s, ObjectIds and the rest are exact.
 */
export function compareMongoKeys(table: TableSchema, a: Key, b: Key): number {
  if (a.length === 1 && b.length === 1) {
    const x = a[0];
    const y = b[0];
    if (typeof x === 'number' && typeof y === 'number' && !Number.isNaN(x) && !Number.isNaN(y))
      return x < y ? -1 : x > y ? 1 : 0;
    if (typeof x === 'string' && typeof y === 'string' && hasPlainStringKey(table)) return compareCodePoints(x, y);
  }
  const codec = rowsOf(table);
  return compareBson(codec.idOf(a), codec.idOf(b));
}

function hasPlainStringKey(table: TableSchema): boolean {
  let plain = plainStrings.get(table);
  if (plain === undefined) {
    const column = table.columns.find((c) => c.name === table.primaryKey[0]);
    plain = column !== undefined && PLAIN_STRING_TYPES.has(column.nativeType);
    plainStrings.set(table, plain);
  }
  return plain;
}
