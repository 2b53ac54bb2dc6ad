import type { Key } from '@highwater/core';
import type { CollectionRows } from '../rows/collection-rows.js';

/**
 * Find options selecting `_id` in `[start, end)` by index bounds (`min` inclusive, `max` exclusive,
 * with `hint: {_id: 1}`), not by `$gte`/`$lt`: query operators bracket by type (`{$gte: 5}` never
 * matches a string), while index bounds follow the BSON order over every type — the order the
 * chunks are cut in (MongoDB manual, `cursor.min()` / `cursor.max()`).
 */
export function idRange(
  rows: CollectionRows,
  start: Key | null,
  end: Key | null,
): { hint: { _id: 1 }; min?: { _id: unknown }; max?: { _id: unknown } } {
  return {
    hint: { _id: 1 },
    ...(start === null ? {} : { min: { _id: rows.idOf(start) } }),
    ...(end === null ? {} : { max: { _id: rows.idOf(end) } }),
  };
}
