import type { TableId } from '@highwater/core';

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `schema`.`table`. */
export function qualifiedName(id: TableId): string {
  return id.schema === undefined ? quoteIdent(id.name) : `${quoteIdent(id.schema)}.${quoteIdent(id.name)}`;
}
