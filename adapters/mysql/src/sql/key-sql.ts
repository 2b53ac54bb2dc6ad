import { JsonText, type Key, type TableSchema, type Value } from '@highwater/core';
import type { MysqlColumn } from '../types/mysql-column.js';
import { quoteIdent } from './identifiers.js';

/** True for a binary collation: `utf8mb4_bin`, `utf8mb4_nopad_bin`, `utf8mb4_0900_bin`, `latin1_bin`, … */
export function isBinaryCollation(collation: string | null): boolean {
  return collation === null || collation === 'binary' || collation.endsWith('_bin');
}

/**
 * The key column as compared and ordered: text in a binary collation (code-point order). A column
 * already in one is used as is (its index serves the range and the order); any other gets
 * `COLLATE <charset>_bin`, which costs a sort (see README).
 */
export function keyExpression(column: MysqlColumn): string {
  const q = quoteIdent(column.name);
  if (column.charset === null || column.charset === 'binary' || isBinaryCollation(column.collation)) return q;
  return `${q} COLLATE ${column.charset}_bin`;
}

/** A key value as a query parameter. */
export function toParam(value: Value, column: MysqlColumn): unknown {
  if (value === null) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string' && ['datetime', 'timestamp'].includes(column.dataType)) {
    return value.replace('T', ' ').replace(/Z$/, '');
  }
  if (value instanceof JsonText) return value.text;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

export interface KeySql {
  /** `k1, k2` as ordered. */
  readonly orderBy: string;
  readonly orderByDesc: string;
  /** `(k1, k2) >= (?, ?)` */
  compare(op: '>=' | '<'): string;
  params(key: Key): unknown[];
}

export function keySql(table: TableSchema, columns: readonly MysqlColumn[]): KeySql {
  const key = table.chunkKey.map((name) => {
    const c = columns.find((x) => x.name === name);
    if (c === undefined) throw new Error(`chunk-key column ${name} is not a column of ${table.id.name}`);
    return c;
  });
  const exprs = key.map(keyExpression);
  const tuple = exprs.length === 1 ? (exprs[0] as string) : `(${exprs.join(', ')})`;
  const marks = exprs.length === 1 ? '?' : `(${exprs.map(() => '?').join(', ')})`;
  return {
    orderBy: exprs.join(', '),
    orderByDesc: exprs.map((e) => `${e} DESC`).join(', '),
    compare: (op) => `${tuple} ${op} ${marks}`,
    params: (k) => key.map((c, i) => toParam(k[i] ?? null, c)),
  };
}
