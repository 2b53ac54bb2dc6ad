import { type ColumnSchema, JsonText, type Key, type TableSchema, type Value } from '@highwater/core';
import { quoteIdent } from './identifiers.js';

/**
 * The SQL pieces for a table's chunk key. Text-like key columns are compared with `COLLATE "C"` in
 * every ORDER BY and range predicate the adapter issues, so Postgres orders them by code point —
 * the order `compareKeys` implements — whatever the column's own collation.
 */
export interface KeySql {
  /** `"a", "b" COLLATE "C"` — for ORDER BY. */
  readonly orderBy: string;
  /** `"a", "b" COLLATE "C"` DESC — each column descending. */
  readonly orderByDesc: string;
  /** The key columns as they are selected (`"a", "b"`). */
  readonly select: string;
  /** `(col…) >= (params…)` / `<`, with parameters numbered from `first`. */
  compare(op: '>=' | '<', first: number): string;
  /** The key as query parameters in Postgres text form. */
  params(key: Key): (string | null)[];
}

/** True for columns compared by collation: their key predicates get `COLLATE "C"`. */
export function isCollatable(column: ColumnSchema): boolean {
  return column.type.kind === 'string';
}

export function keySql(table: TableSchema): KeySql {
  const columns = table.chunkKey.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    if (column === undefined) throw new Error(`chunk-key column ${name} is not a column of the table`);
    return column;
  });
  const exprs = columns.map((c) => (isCollatable(c) ? `${quoteIdent(c.name)} COLLATE "C"` : quoteIdent(c.name)));
  const tuple = (items: string[]) => (items.length === 1 ? (items[0] as string) : `(${items.join(', ')})`);
  return {
    orderBy: exprs.join(', '),
    orderByDesc: exprs.map((e) => `${e} DESC`).join(', '),
    select: columns.map((c) => quoteIdent(c.name)).join(', '),
    compare(op, first) {
      const params = columns.map((c, i) => `$${first + i}::${c.nativeType}`);
      return `${tuple(exprs)} ${op} ${tuple(params)}`;
    },
    params: (key) => key.map(toParam),
  };
}

/** A value in the text form Postgres parses back to the same stored value. */
export function toParam(value: Value): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (value instanceof JsonText) return value.text;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
