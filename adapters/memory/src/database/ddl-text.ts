import type { ColumnSchema, Value } from '@highwater/core';
import type { MemoryTable } from './table.js';

// The statements the memory database "logs" with schema changes, as a real database's DDL events
// carry their SQL. Only for people reading events: nothing parses them.

function columnSql(c: ColumnSchema, defaultValue: Value): string {
  const d = defaultValue === null ? '' : ` DEFAULT ${literal(defaultValue)}`;
  return `${c.name} ${c.nativeType}${c.nullable ? '' : ' NOT NULL'}${d}`;
}

function literal(v: Value): string {
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

export function createTableSql(table: MemoryTable): string {
  const parts = table.columns.map((c) => columnSql(c, null));
  if (table.primaryKey.length > 0) parts.push(`PRIMARY KEY (${table.primaryKey.join(', ')})`);
  return `CREATE TABLE ${table.name} (${parts.join(', ')})`;
}

export function dropTableSql(name: string): string {
  return `DROP TABLE ${name}`;
}

export function addColumnSql(table: MemoryTable, column: ColumnSchema, defaultValue: Value): string {
  return `ALTER TABLE ${table.name} ADD COLUMN ${columnSql(column, defaultValue)}`;
}

export function dropColumnSql(table: MemoryTable, column: string): string {
  return `ALTER TABLE ${table.name} DROP COLUMN ${column}`;
}
