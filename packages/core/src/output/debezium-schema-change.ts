import type { SchemaChangeEvent } from '../events/source-event.js';
import type { ColumnSchema, LogicalType, TableSchema } from '../schema/table-schema.js';
import { type DebeziumOptions, type DebeziumSource, sourceBlock } from './debezium.js';

/** A column as Debezium's schema-change events describe it (`tableChanges[].table.columns[]`). */
export interface DebeziumColumn {
  readonly name: string;
  /** The `java.sql.Types` code Debezium writes for the column's type. */
  readonly jdbcType: number;
  readonly typeName: string;
  readonly typeExpression: string;
  readonly length: number | null;
  readonly scale: number | null;
  /** 1-based. */
  readonly position: number;
  readonly optional: boolean;
  readonly hasDefaultValue: boolean;
  readonly defaultValueExpression: string | null;
  readonly enumValues: readonly string[];
}

/** A table definition as Debezium's schema-change events carry it. */
export interface DebeziumTable {
  readonly primaryKeyColumnNames: readonly string[];
  readonly columns: readonly DebeziumColumn[];
}

/** One entry of `tableChanges`. */
export interface DebeziumTableChange {
  readonly type: 'CREATE' | 'ALTER' | 'DROP';
  /** `"db"."table"` or `"db"."schema"."table"`, as Debezium quotes table ids. */
  readonly id: string;
  /** The definition after the change (for `DROP`, the last one). */
  readonly table: DebeziumTable;
  /**
   * Highwater's addition: the definition before the change (null for `CREATE`), so a consumer sees
   * both sides without keeping a history. Debezium consumers ignore fields they do not know.
   */
  readonly previousTable: DebeziumTable | null;
}

/** The value of a Debezium schema-change record (what its schema-change topic carries). */
export interface DebeziumSchemaChange {
  readonly source: DebeziumSource;
  readonly ts_ms: number;
  readonly databaseName: string;
  readonly schemaName: string | null;
  /** The statement where the source logged one (MySQL); null where its log has none (Postgres). */
  readonly ddl: string | null;
  readonly tableChanges: readonly DebeziumTableChange[];
}

/** A schema-change record: Debezium's topic (`<name>`), key (`{databaseName}`) and value. */
export interface DebeziumSchemaChangeRecord {
  readonly topic: string;
  readonly key: { readonly databaseName: string };
  readonly value: DebeziumSchemaChange;
}

/**
 * A schema-change event in the shape of Debezium's schema-change topic: `tableChanges` with the new
 * definition (`CREATE` for a table not seen before, `ALTER`, `DROP`), plus `previousTable` with the
 * old one. Types are described by the source's native type name (`typeExpression`) and the JDBC code
 * of its logical type.
 */
export function toDebeziumSchemaChange(
  event: SchemaChangeEvent,
  options: DebeziumOptions = {},
): DebeziumSchemaChangeRecord {
  const now = (options.now ?? Date.now)();
  const name = options.name ?? 'highwater';
  const id = event.schema?.id ?? event.before?.id ?? event.source.tableId;
  const source = sourceBlock(event.source, id, name, now, options);
  const definition = event.schema ?? event.before;
  const type = event.schema === null ? 'DROP' : event.before === null ? 'CREATE' : 'ALTER';
  const quotedId = [source.db, source.schema, source.table]
    .filter((part): part is string => part !== null && part !== '')
    .map((part) => `"${part}"`)
    .join('.');
  return {
    topic: name,
    key: { databaseName: source.db },
    value: {
      source,
      ts_ms: now,
      databaseName: source.db,
      schemaName: source.schema,
      ddl: event.ddl,
      tableChanges: [
        {
          type,
          id: quotedId,
          table: debeziumTable(definition),
          previousTable: event.before === null ? null : debeziumTable(event.before),
        },
      ],
    },
  };
}

function debeziumTable(schema: TableSchema | null): DebeziumTable {
  return {
    primaryKeyColumnNames: schema?.primaryKey ?? [],
    columns: (schema?.columns ?? []).map(debeziumColumn),
  };
}

function debeziumColumn(column: ColumnSchema, index: number): DebeziumColumn {
  const { type } = column;
  const length =
    type.kind === 'string' || type.kind === 'bytes' || type.kind === 'bits'
      ? (type.length ?? null)
      : type.kind === 'decimal'
        ? (type.precision ?? null)
        : null;
  return {
    name: column.name,
    jdbcType: jdbcType(type),
    typeName: column.nativeType.replace(/\(.*$/, '').trim().toUpperCase(),
    typeExpression: column.nativeType,
    length,
    scale: type.kind === 'decimal' ? (type.scale ?? null) : null,
    position: index + 1,
    optional: column.nullable,
    hasDefaultValue: column.default !== undefined,
    defaultValueExpression: column.default ?? null,
    enumValues: type.kind === 'enum' || type.kind === 'set' ? type.values : [],
  };
}

/** `java.sql.Types` codes, as Debezium reports column types. */
function jdbcType(type: LogicalType): number {
  switch (type.kind) {
    case 'boolean':
      return 16;
    case 'int16':
      return 5;
    case 'int32':
      return 4;
    case 'int64':
      return -5;
    case 'uint64':
    case 'decimal':
      return 2;
    case 'float32':
      return 7;
    case 'float64':
      return 8;
    case 'string':
    case 'enum':
    case 'set':
    case 'uuid':
    case 'interval':
    case 'json':
      return 12;
    case 'bytes':
      return -3;
    case 'date':
      return 91;
    case 'time':
      return type.withTimeZone === true ? 2013 : 92;
    case 'timestamp':
      return 93;
    case 'timestamptz':
      return 2014;
    case 'bits':
      return -7;
    case 'array':
      return 2003;
    case 'other':
      return 1111;
  }
}
