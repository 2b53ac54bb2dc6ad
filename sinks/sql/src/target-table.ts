import type { ColumnSchema, Row, TableId, TableIndex, TableSchema } from '@highwater/core';
import type { TargetAction } from './schema-evolution.js';

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
  /**
   * Old column name → current name, for columns renamed in the target (`evolve`): rows written
   * before the rename (earlier in a batch, or a snapshot chunk read before it) carry the old name.
   */
  readonly renamed?: ReadonlyMap<string, string>;
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

/**
 * `table` as the target has it after `actions` (see `targetActions`): the columns the sink writes,
 * with the types values are encoded for. Columns the actions leave alone keep their target type
 * (a narrowing kept the wider one; `ignore` keeps the target's schema).
 */
export function withActions(table: TargetTable, actions: readonly TargetAction[]): TargetTable {
  let columns = new Map(table.columns);
  let key = table.key;
  const renamed = new Map(table.renamed ?? []);
  for (const action of actions) {
    switch (action.kind) {
      case 'add-column':
        if (!columns.has(action.column.name)) columns.set(action.column.name, { ...action.column, nullable: true });
        break;
      case 'drop-column':
        columns.delete(action.column);
        break;
      case 'rename-column': {
        const next = new Map<string, ColumnSchema>();
        for (const [name, c] of columns)
          next.set(name === action.from ? action.to : name, name === action.from ? { ...c, name: action.to } : c);
        columns = next;
        key = key.map((k) => (k === action.from ? action.to : k));
        for (const [old, now] of renamed) if (now === action.from) renamed.set(old, action.to);
        renamed.set(action.from, action.to);
        break;
      }
      case 'alter-type': {
        const c = columns.get(action.column.name);
        if (c !== undefined)
          columns.set(c.name, { ...c, type: action.column.type, nativeType: action.column.nativeType });
        break;
      }
      case 'drop-not-null':
      case 'set-not-null': {
        const c = columns.get(action.column.name);
        if (c !== undefined) columns.set(c.name, { ...c, nullable: action.kind === 'drop-not-null' });
        break;
      }
      default:
        break;
    }
  }
  return { ...table, columns, key, ...(renamed.size === 0 ? {} : { renamed }) };
}

/** `row` with columns renamed in the target under their new names (a no-op for tables without renames). */
export function renamedRow(table: TargetTable, row: Row): Row {
  const renamed = table.renamed;
  if (renamed === undefined) return row;
  let out: Record<string, Row[string]> | null = null;
  for (const [old, now] of renamed) {
    if (old in row && !(now in row)) {
      out ??= { ...row };
      out[now] = row[old] ?? null;
      delete out[old];
    }
  }
  return out ?? row;
}

/** `table` keeping only the columns the target has (`ignore`: rows are written with the columns both share). */
export function sharedColumns(table: TargetTable, target: ReadonlyMap<string, boolean>): TargetTable {
  const columns = new Map([...table.columns].filter(([name]) => target.has(name)));
  return columns.size === table.columns.size ? table : { ...table, columns };
}
