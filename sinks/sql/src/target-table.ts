import type { ColumnSchema, TableId, TableIndex, TableSchema } from '@highwater/core';

/** A source table as the sink replicates it. */
export interface TargetTable {
  /** The source's qualified name (`schema.table`), as events name it. */
  readonly source: string;
  /** The target table's name inside the target schema. */
  readonly name: string;
  /** Schema-qualified, quoted: ready for SQL. */
  readonly qualified: string;
  /** The key the target table is created with and rows are upserted on. */
  readonly key: readonly string[];
  /**
   * Every column the source table has had while this sink ran, in first-seen order. A column
   * dropped in the source stays (its target column keeps old values and takes NULL for new rows,
   * so it counts as nullable from then on).
   */
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  /** The source's secondary indexes when the table was first described (created with the table). */
  readonly indexes?: readonly TableIndex[];
}

/** `orders` or `shop_orders`, per the sink's `tableNaming`. */
export function targetTableName(id: TableId, naming: 'table' | 'schema_table'): string {
  if (naming === 'table') return id.name;
  const prefix = id.schema ?? id.database;
  return prefix === undefined ? id.name : `${prefix}_${id.name}`;
}

/** The key rows are matched on: the primary key, or the chunk key of a table without one (one rule, the core's). */
export { keyColumnsOf } from '@highwater/core';

/**
 * `table` with the columns of a newer schema of the same source table added (never removed):
 * columns the newer schema lacks become nullable, since new rows have no value for them.
 */
export function withSchema(table: TargetTable, schema: TableSchema): TargetTable {
  const current = new Set(schema.columns.map((c) => c.name));
  const columns = new Map<string, ColumnSchema>();
  for (const [name, c] of table.columns) columns.set(name, current.has(name) ? c : { ...c, nullable: true });
  for (const c of schema.columns) columns.set(c.name, c);
  return { ...table, columns };
}
