import type { Key, Row } from '@highwater/core';
import { compareKeys } from './compare.js';
import type { MemoryTable } from './table.js';

/**
 * One row change of a transaction, before it has an offset. `oldKey`/`newKey` are the keys the row
 * is stored under before and after (they differ for a key-moving update; keyless tables keep their
 * row id in them, which is why they are carried rather than recomputed from the rows).
 */
export interface StagedChange {
  readonly table: MemoryTable;
  readonly op: 'c' | 'u' | 'd';
  readonly before: Row | null;
  readonly after: Row | null;
  readonly oldKey: Key | null;
  readonly newKey: Key | null;
}

/** Applies a committed change to the table's visible rows. */
export function applyToRows(change: StagedChange): void {
  const rows = change.table.rows;
  const { oldKey, newKey } = change;
  if (oldKey !== null && (newKey === null || compareKeys(oldKey, newKey) !== 0)) rows.delete(oldKey);
  if (newKey !== null) rows.set(newKey, change.after as Row);
}
