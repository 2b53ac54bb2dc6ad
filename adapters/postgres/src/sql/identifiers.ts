import type { TableId } from '@highwater/core';

/** Quotes an identifier for SQL (`"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"` for a table id (tables without a schema are looked up on the search path). */
export function qualifiedName(id: TableId): string {
  return id.schema === undefined ? quoteIdent(id.name) : `${quoteIdent(id.schema)}.${quoteIdent(id.name)}`;
}

/** Quotes a string literal (`'it''s'`), for the few statements that take no parameters. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
