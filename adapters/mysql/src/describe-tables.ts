import {
  type ColumnSchema,
  type TableId,
  type TableIndex,
  TableNotFoundError,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type mysql from 'mysql2/promise';
import { qualifiedName } from './sql/identifiers.js';
import { type ColumnDecoder, decoderFor } from './types/decode.js';
import { GEOMETRY_TYPES, geometryDecoder } from './types/geometry.js';
import { columnTypeText, logicalTypeOf, type MysqlColumn } from './types/mysql-column.js';

/** A column as zongji asks information_schema for it (it names and types row values with these). */
export interface BinlogColumn {
  readonly COLUMN_NAME: string;
  readonly COLLATION_NAME: string | null;
  readonly CHARACTER_SET_NAME: string | null;
  readonly COLUMN_COMMENT: string;
  readonly COLUMN_TYPE: string;
}

export interface DescribedTable {
  readonly schema: TableSchema;
  /** The columns in zongji's form, exactly as the server spells them (ENUM values keep their case). */
  readonly binlogColumns: readonly BinlogColumn[];
  readonly columns: readonly MysqlColumn[];
  readonly decoders: ReadonlyMap<string, ColumnDecoder>;
}

interface ColumnRow {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
  NUMERIC_PRECISION: string | number | null;
  NUMERIC_SCALE: string | number | null;
  DATETIME_PRECISION: string | number | null;
  IS_NULLABLE: string;
  /** MariaDB: a literal quoted (`'new'`), a number as is, `NULL` for DEFAULT NULL, an expression as text; SQL NULL for none. */
  COLUMN_DEFAULT: string | null;
  /** `VIRTUAL GENERATED`/`STORED GENERATED` (MySQL) or `VIRTUAL`/`PERSISTENT` (MariaDB) for generated columns. */
  EXTRA: string;
}

/** Columns with a `json_valid(col)` check (MariaDB's JSON): none where the server has no CHECK_CONSTRAINTS.TABLE_NAME. */
async function jsonColumns(db: mysql.Connection, schema: string, table: string): Promise<Set<string>> {
  try {
    const [rows] = await db.query(
      'SELECT CHECK_CLAUSE AS c FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?',
      [schema, table],
    );
    const out = new Set<string>();
    for (const r of rows as { c: string }[]) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(r.c.trim());
      if (m?.[1] !== undefined) out.add(m[1].replace(/``/g, '`'));
    }
    return out;
  } catch {
    return new Set();
  }
}

const num = (v: string | number | null) => (v === null ? 0 : Number(v));

/**
 * Secondary B-tree/hash indexes over whole columns, for sinks that recreate the table: prefix
 * (`col(10)`), functional, FULLTEXT and SPATIAL indexes are left out.
 */
async function secondaryIndexes(db: mysql.Connection, schema: string, table: string): Promise<TableIndex[]> {
  const [rows] = await db.query(
    `SELECT INDEX_NAME AS name, NON_UNIQUE AS nonUnique, COLUMN_NAME AS col, SUB_PART AS part, INDEX_TYPE AS type
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY'
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [schema, table],
  );
  const byName = new Map<string, { columns: string[]; unique: boolean; whole: boolean }>();
  for (const r of rows as {
    name: string;
    nonUnique: string | number;
    col: string | null;
    part: unknown;
    type: string;
  }[]) {
    const index = byName.get(r.name) ?? { columns: [], unique: Number(r.nonUnique) === 0, whole: true };
    byName.set(r.name, index);
    if (r.col === null || r.part !== null || !['BTREE', 'HASH'].includes(r.type)) index.whole = false;
    else index.columns.push(r.col);
  }
  return [...byName].filter(([, i]) => i.whole).map(([name, i]) => ({ name, columns: i.columns, unique: i.unique }));
}

export async function describeTable(db: mysql.Connection, id: TableId): Promise<DescribedTable> {
  const schemaName = id.schema ?? '';
  const [columnRows] = await db.query(
    `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, NUMERIC_PRECISION, NUMERIC_SCALE,
            DATETIME_PRECISION, IS_NULLABLE, COLUMN_DEFAULT, EXTRA
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schemaName, id.name],
  );
  const rows = columnRows as ColumnRow[];
  if (rows.length === 0) {
    // information_schema shows only what the user may read: a missing grant looks like a missing table.
    throw new TableNotFoundError(
      tableName(id),
      `mysql: table ${tableName(id)} does not exist or is not visible to the adapter's user; if it exists, run: GRANT SELECT ON ${qualifiedName(id)} TO <user>`,
    );
  }
  const json = await jsonColumns(db, schemaName, id.name);
  const [keyRows] = await db.query(
    `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
    [schemaName, id.name],
  );
  const columns: MysqlColumn[] = rows.map((r) => {
    const dataType = r.DATA_TYPE.toLowerCase();
    const temporal = ['time', 'datetime', 'timestamp'].includes(dataType);
    return {
      name: r.COLUMN_NAME,
      dataType,
      columnType: columnTypeText(r.COLUMN_TYPE),
      charset: r.CHARACTER_SET_NAME,
      collation: r.COLLATION_NAME,
      precision: num(r.NUMERIC_PRECISION),
      scale: temporal ? num(r.DATETIME_PRECISION) : num(r.NUMERIC_SCALE),
      nullable: r.IS_NULLABLE === 'YES',
      json: dataType === 'json' || json.has(r.COLUMN_NAME),
    };
  });
  const primaryKey = (keyRows as { COLUMN_NAME: string }[]).map((r) => r.COLUMN_NAME);
  const indexes = await secondaryIndexes(db, schemaName, id.name);
  // Unique indexes whose columns are all NOT NULL and whole (SUB_PART null: a prefix index is not unique on the column).
  const [uniqueRows] = await db.query(
    `SELECT INDEX_NAME, COLUMN_NAME, NULLABLE, SUB_PART FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [schemaName, id.name],
  );
  const uniqueIndexes = new Map<string, { columns: string[]; usable: boolean }>();
  for (const r of uniqueRows as {
    INDEX_NAME: string;
    COLUMN_NAME: string | null;
    NULLABLE: string;
    SUB_PART: unknown;
  }[]) {
    const index = uniqueIndexes.get(r.INDEX_NAME) ?? { columns: [], usable: true };
    uniqueIndexes.set(r.INDEX_NAME, index);
    if (r.COLUMN_NAME === null || r.NULLABLE === 'YES' || r.SUB_PART !== null) index.usable = false;
    else index.columns.push(r.COLUMN_NAME);
  }
  const uniqueKeys = [...uniqueIndexes.values()].filter((i) => i.usable).map((i) => i.columns);
  const schemaColumns: ColumnSchema[] = columns.map((c, i) => {
    const row = rows[i] as ColumnRow;
    const generated = /GENERATED|VIRTUAL|PERSISTENT/i.test(row.EXTRA ?? '');
    const defaultText =
      generated || row.COLUMN_DEFAULT === null || row.COLUMN_DEFAULT === 'NULL' ? null : row.COLUMN_DEFAULT;
    return {
      name: c.name,
      type: logicalTypeOf(c),
      // Text columns name their collation: compareKeys needs to know PAD SPACE from NO PAD.
      nativeType: c.collation === null ? c.columnType : `${c.columnType} collate ${c.collation}`,
      nullable: c.nullable,
      ...(defaultText === null ? {} : { default: defaultText }),
    };
  });
  return {
    schema: {
      id: { schema: schemaName, name: id.name },
      columns: schemaColumns,
      primaryKey,
      chunkKey: primaryKey,
      ...(indexes.length === 0 ? {} : { indexes }),
      uniqueKeys,
    },
    binlogColumns: rows.map((r) => ({
      COLUMN_NAME: r.COLUMN_NAME,
      COLLATION_NAME: r.COLLATION_NAME,
      CHARACTER_SET_NAME: r.CHARACTER_SET_NAME,
      COLUMN_COMMENT: '',
      COLUMN_TYPE: r.COLUMN_TYPE,
    })),
    columns,
    decoders: new Map(
      columns.map((c) => [c.name, GEOMETRY_TYPES.has(c.dataType) ? geometryDecoder(c) : decoderFor(c)]),
    ),
  };
}

/**
 * A table described from a definition the pipeline stored (its checkpoint's), for a captured table
 * the catalog no longer has: dropped or renamed while the pipeline was down. The binlog still holds
 * its changes up to the DDL, which are decoded with this. `nativeType` keeps the ENUM and SET values
 * as declared (`columnTypeText`), so such a value decodes with its case.
 */
export function describedFromSchema(schema: TableSchema): DescribedTable {
  const columns: MysqlColumn[] = schema.columns.map((c) => {
    const [, columnType = c.nativeType, collation = null] = /^(.*?)(?: collate (\S+))?$/.exec(c.nativeType) ?? [];
    const type = c.type;
    const scale =
      type.kind === 'decimal'
        ? (type.scale ?? 0)
        : type.kind === 'time' || type.kind === 'timestamp' || type.kind === 'timestamptz'
          ? (type.precision ?? 0)
          : 0;
    const precision = type.kind === 'decimal' ? (type.precision ?? 0) : type.kind === 'bits' ? (type.length ?? 0) : 0;
    return {
      name: c.name,
      dataType: /^[a-z]+/.exec(columnType)?.[0] ?? columnType,
      columnType,
      charset: collation === null ? null : collation === 'binary' ? 'binary' : (collation.split('_')[0] ?? null),
      collation,
      precision,
      scale,
      nullable: c.nullable,
      json: type.kind === 'json' && !GEOMETRY_TYPES.has(/^[a-z]+/.exec(columnType)?.[0] ?? ''),
    };
  });
  return {
    schema,
    binlogColumns: columns.map((c) => ({
      COLUMN_NAME: c.name,
      COLLATION_NAME: c.collation,
      CHARACTER_SET_NAME: c.charset,
      COLUMN_COMMENT: '',
      COLUMN_TYPE: c.columnType,
    })),
    columns,
    decoders: new Map(
      columns.map((c) => [c.name, GEOMETRY_TYPES.has(c.dataType) ? geometryDecoder(c) : decoderFor(c)]),
    ),
  };
}
