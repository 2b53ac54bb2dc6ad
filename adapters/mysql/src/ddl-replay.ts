import type { ColumnSchema } from '@highwater/core';
import type { BinlogColumn, DescribedTable } from './describe-tables.js';
import { type ColumnPosition, columnClauses } from './ddl.js';
import type { ColumnDecoder } from './types/decode.js';
import type { MysqlColumn } from './types/mysql-column.js';

/** One column of a definition, every form the reader keeps of it. */
interface Entry {
  readonly schema: ColumnSchema;
  readonly binlog: BinlogColumn;
  readonly column: MysqlColumn;
  readonly decoder: ColumnDecoder;
}

function entries(table: DescribedTable): Map<string, Entry> {
  const out = new Map<string, Entry>();
  table.columns.forEach((column, i) => {
    const schema = table.schema.columns[i];
    const binlog = table.binlogColumns[i];
    const decoder = table.decoders.get(column.name);
    if (schema !== undefined && binlog !== undefined && decoder !== undefined)
      out.set(column.name, { schema, binlog, column, decoder });
  });
  return out;
}

function renamed(entry: Entry, name: string): Entry {
  if (entry.column.name === name) return entry;
  return {
    schema: { ...entry.schema, name },
    binlog: { ...entry.binlog, COLUMN_NAME: name },
    column: { ...entry.column, name },
    decoder: entry.decoder,
  };
}

/**
 * The table as the ALTER statement `sql` left it, when the catalog (`now`, described when the
 * reader met the statement) is already ahead — a later DDL on the table ran before the reader got
 * here. Each DDL then gets its own before and after, and the rows between two DDLs are named and
 * decoded by the definition they were written with.
 *
 * Built from `previous` (the definition before the statement) by replaying the statement's column
 * clauses on it: columns it does not touch keep their previous definition exactly; a column it adds
 * or redefines takes the catalog's definition of that name (exact unless a later DDL changed the
 * column again). Returns null — use the catalog, as before — when the catalog already matches the
 * replayed column list, when a clause is not understood, or when a column the statement adds or
 * redefines is no longer in the catalog (its definition is unknown).
 */
export function describedAsOfStatement(
  previous: DescribedTable,
  now: DescribedTable,
  sql: string,
): DescribedTable | null {
  const clauses = columnClauses(sql);
  if (clauses === null) return null;
  const before = entries(previous);
  const catalog = entries(now);
  /** Column order after the statement: each name with its entry (null: take the catalog's). */
  let list: { name: string; entry: Entry | null }[] = [...before].map(([name, entry]) => ({ name, entry }));
  let keyChanged = false;
  const renames = new Map<string, string>();
  const place = (item: { name: string; entry: Entry | null }, p: ColumnPosition): boolean => {
    if (p === null) {
      list.push(item);
    } else if ('first' in p) {
      list.unshift(item);
    } else {
      const i = list.findIndex((c) => c.name === p.after);
      if (i < 0) return false;
      list.splice(i + 1, 0, item);
    }
    return true;
  };
  for (const clause of clauses) {
    switch (clause.kind) {
      case 'add':
        if (list.some((c) => c.name === clause.name)) return null;
        if (!place({ name: clause.name, entry: null }, clause.position)) return null;
        break;
      case 'drop':
        list = list.filter((c) => c.name !== clause.name);
        break;
      case 'rename': {
        const c = list.find((x) => x.name === clause.from);
        if (c === undefined) return null;
        c.name = clause.to;
        if (c.entry !== null) c.entry = renamed(c.entry, clause.to);
        renames.set(clause.from, clause.to);
        break;
      }
      case 'redefine': {
        const i = list.findIndex((x) => x.name === clause.from);
        if (i < 0) return null;
        const item = { name: clause.to, entry: null };
        if (clause.from !== clause.to) renames.set(clause.from, clause.to);
        if (clause.position === null) list[i] = item;
        else {
          list.splice(i, 1);
          if (!place(item, clause.position)) return null;
        }
        break;
      }
      case 'primary-key':
        keyChanged = true;
        break;
      case 'none':
        break;
    }
  }
  const names = list.map((c) => c.name);
  if (names.length === now.columns.length && names.every((n, i) => now.columns[i]?.name === n)) return null;
  const resolved: Entry[] = [];
  for (const c of list) {
    const entry = c.entry ?? catalog.get(c.name);
    if (entry === undefined) return null;
    resolved.push(renamed(entry, c.name));
  }
  const has = new Set(names);
  const primaryKey = keyChanged ? now.schema.primaryKey : previous.schema.primaryKey.map((k) => renames.get(k) ?? k);
  if (primaryKey.some((k) => !has.has(k))) return null;
  const within = (columns: readonly string[]) => columns.every((c) => has.has(c));
  return {
    schema: {
      ...now.schema,
      columns: resolved.map((e) => e.schema),
      primaryKey,
      chunkKey: primaryKey,
      ...(now.schema.indexes === undefined ? {} : { indexes: now.schema.indexes.filter((i) => within(i.columns)) }),
      ...(now.schema.uniqueKeys === undefined ? {} : { uniqueKeys: now.schema.uniqueKeys.filter(within) }),
    },
    binlogColumns: resolved.map((e) => e.binlog),
    columns: resolved.map((e) => e.column),
    decoders: new Map(resolved.map((e) => [e.column.name, e.decoder])),
  };
}
