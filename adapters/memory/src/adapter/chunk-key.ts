import { chunkKeyOf, type Key, type Row, type TableSchema } from '@highwater/core';
import { compareKeys } from '../database/compare.js';

// The memory database indexes rows by primary key only. When the core is configured to chunk a
// table on other columns, these helpers answer from a full scan — correct but O(n log n), the
// equivalent of a real database without an index on the chunk key.

/** True when the table's chunk key is its primary key, so the primary-key index answers directly. */
export function chunksOnPrimaryKey(table: TableSchema): boolean {
  const { chunkKey, primaryKey } = table;
  return chunkKey.length === primaryKey.length && chunkKey.every((c, i) => c === primaryKey[i]);
}

/** True when `key` lies in `[start, end)` (null: unbounded). */
export function inRange(key: Key, start: Key | null, end: Key | null): boolean {
  return (start === null || compareKeys(key, start) >= 0) && (end === null || compareKeys(key, end) < 0);
}

/** Every row's chunk key, sorted. */
export function sortedChunkKeys(table: TableSchema, rows: Iterable<Row>): Key[] {
  const keys: Key[] = [];
  for (const row of rows) keys.push(chunkKeyOf(table, row));
  return keys.sort(compareKeys);
}

/** Index of the first key `>= key` in sorted `keys`. */
export function lowerBound(keys: readonly Key[], key: Key): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid] as Key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
