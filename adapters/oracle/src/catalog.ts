import { type ColumnSchema, type TableId, type TableSchema, TableNotFoundError, tableName } from '@highwater/core';
import type { OracleSession, ResultRow } from './session/session.js';
import { SQL } from './sql/statements.js';
import { columnSchemaOf, type OracleColumn, ROWID, rowidColumn } from './types/oracle-column.js';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function columnOf(r: ResultRow): OracleColumn {
  const dataType = String(r.DATA_TYPE);
  const charLength = num(r.CHAR_LENGTH);
  return {
    name: String(r.COLUMN_NAME),
    dataType,
    precision: num(r.DATA_PRECISION),
    scale: num(r.DATA_SCALE),
    length: charLength !== null && charLength > 0 ? charLength : dataType === 'RAW' ? num(r.DATA_LENGTH) : null,
    nullable: r.NULLABLE !== 'N',
  };
}

/** How tables are described. */
export interface DescribeOptions {
  /**
   * A table without a primary key gets the ROWID pseudo-column as an extra column `ROWID` and as its
   * chunk key (so its events are keyed by ROWID); see docs/adapters/oracle.md, "Tables without a
   * primary key". Off: such a table has no chunk key, and the core's `chunkKeys`/`keylessTables` decide.
   */
  readonly rowidKeys?: boolean;
}

/** A table's definition from the catalog views (ALL_TAB_COLUMNS, ALL_CONSTRAINTS, ALL_CONS_COLUMNS). */
export async function describeTable(
  session: OracleSession,
  id: TableId,
  options: DescribeOptions = {},
): Promise<TableSchema> {
  const owner = id.schema ?? '';
  const binds = { owner, name: id.name };
  const columns = (await session.execute(SQL.tableColumns, binds)).rows.map(columnOf);
  if (columns.length === 0) {
    throw new TableNotFoundError(
      tableName(id),
      `oracle: table ${tableName(id)} does not exist or the capture user cannot see it (GRANT SELECT ON ${owner}.${id.name} TO <user>)`,
    );
  }
  const primaryKey = (await session.execute(SQL.primaryKey, binds)).rows.map((r) => String(r.COLUMN_NAME));
  // A table with an ordinary column named ROWID keeps no ROWID key: the name would be ambiguous.
  if (primaryKey.length === 0 && options.rowidKeys === true && !columns.some((c) => c.name === ROWID)) {
    return {
      id: { schema: owner, name: id.name },
      columns: [...columns, rowidColumn()].map(columnSchemaOf),
      primaryKey,
      chunkKey: [ROWID],
    };
  }
  return {
    id: { schema: owner, name: id.name },
    columns: columns.map(columnSchemaOf),
    primaryKey,
    chunkKey: primaryKey,
  };
}

const NATIVE = /^(NUMBER|VARCHAR2|NVARCHAR2|CHAR|NCHAR|RAW)\((\d+)(?:,(-?\d+))?\)$/;

/**
 * The Oracle column behind a column schema this adapter described: `nativeType` carries the data
 * type with its precision/scale/length (`NUMBER(10,0)`, `VARCHAR2(100)`, `TIMESTAMP(6) WITH TIME ZONE`).
 */
export function oracleColumnOf(column: ColumnSchema): OracleColumn {
  const m = NATIVE.exec(column.nativeType);
  if (m === null) {
    return {
      name: column.name,
      dataType: column.nativeType,
      precision: null,
      scale: null,
      length: null,
      nullable: column.nullable,
    };
  }
  const [, type, a, b] = m;
  if (type === 'NUMBER') {
    return {
      name: column.name,
      dataType: 'NUMBER',
      precision: Number(a),
      scale: Number(b ?? 0),
      length: null,
      nullable: column.nullable,
    };
  }
  return {
    name: column.name,
    dataType: type as string,
    precision: null,
    scale: null,
    length: Number(a),
    nullable: column.nullable,
  };
}

export function oracleColumnsOf(table: TableSchema): OracleColumn[] {
  return table.columns.map(oracleColumnOf);
}
