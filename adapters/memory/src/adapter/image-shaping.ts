import { type LogItem, primaryKeyRowOf, type Row, type RowChange, type TableSchema, type Value } from '@highwater/core';
import { compareValues } from '../database/compare.js';

/** Columns whose unchanged values updates leave out of `after`, as Postgres does with unchanged TOAST values. */
export interface PartialImageOption {
  /** Qualified table name. */
  readonly table: string;
  readonly columns: readonly string[];
}

/** How log items are reshaped to imitate what other databases' logs carry. */
export interface ImageShape {
  /** `key`: updates and deletes carry only the key columns before (Postgres without `REPLICA IDENTITY FULL`). */
  readonly beforeImage: 'full' | 'key';
  readonly partialImages: readonly PartialImageOption[];
}

/** Reshapes one row change of a captured table, given the table's schema where known. */
export type Shaper = (item: RowChange<number>, schema: TableSchema | undefined) => LogItem<number>;

/**
 * Rewrites row changes to carry less than the full images the database logs, so the core's handling
 * of key-only before-images and of partial after-images (its merge of `unchanged` columns) is
 * exercised. Returns null when no reshaping is configured, so the log path pays nothing.
 */
export function createImageShaper(shape: ImageShape): Shaper | null {
  const partial = new Map(shape.partialImages.map((p) => [p.table, p.columns]));
  const keyOnly = shape.beforeImage === 'key';
  if (!keyOnly && partial.size === 0) return null;
  return (item, schema) => {
    let before = item.before;
    let after = item.after;
    let beforeImage = item.beforeImage;
    let unchanged: string[] | undefined;
    const columns = partial.get(item.table);
    if (columns !== undefined && item.op === 'u' && item.before !== null && item.after !== null) {
      unchanged = unchangedColumns(columns, item.before, item.after, schema);
      if (unchanged.length > 0) after = withoutColumns(item.after, unchanged);
      else unchanged = undefined;
    }
    if (keyOnly && before !== null && schema !== undefined && schema.primaryKey.length > 0) {
      before = primaryKeyRowOf(schema, before);
      beforeImage = 'key';
    }
    if (before === item.before && after === item.after) return item;
    return unchanged === undefined
      ? { ...item, before, after, beforeImage }
      : { ...item, before, after, beforeImage, unchanged };
  };
}

/** The listed non-key columns an update left as they were. */
function unchangedColumns(
  columns: readonly string[],
  before: Row,
  after: Row,
  schema: TableSchema | undefined,
): string[] {
  return columns.filter(
    (c) => c in after && !schema?.primaryKey.includes(c) && compareValues(before[c] as Value, after[c] as Value) === 0,
  );
}

function withoutColumns(row: Row, columns: readonly string[]): Row {
  const out: Record<string, Value> = {};
  for (const c in row) if (!columns.includes(c)) out[c] = row[c] as Value;
  return out;
}
