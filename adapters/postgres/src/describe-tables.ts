import {
  type ColumnSchema,
  type TableId,
  type TableIndex,
  TableNotFoundError,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type { Queryable } from './sql/queryable.js';
import { parseArrayText } from './types/array-text.js';
import { logicalTypeOf } from './types/logical-type.js';
import type { PgType } from './types/pg-type.js';
import type { TypeCatalog } from './types/type-catalog.js';

/** A table as the adapter knows it: its schema plus each column's Postgres type (for decoding). */
export interface DescribedTable {
  readonly oid: number;
  readonly schema: TableSchema;
  readonly types: ReadonlyMap<string, PgType>;
  /**
   * Each column's number (`pg_attribute.attnum`): it stays with a renamed column, and a column
   * dropped and added again gets a new one, so the log reader tells a rename from a drop and an add.
   */
  readonly numbers: ReadonlyMap<string, number>;
}

const TABLE_QUERY = `
SELECT c.oid::int8 AS oid, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`;

const COLUMN_QUERY = `
SELECT a.attname, a.atttypid::int8 AS typid, a.atttypmod AS typmod, a.attnotnull, a.attnum,
       format_type(a.atttypid, a.atttypmod) AS native,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS def
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

const KEY_QUERY = `
SELECT a.attname
  FROM pg_index i
  JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = $1::oid AND i.indisprimary
 ORDER BY k.ord`;

/**
 * Secondary B-tree indexes over plain columns (no expression, no predicate; INCLUDE columns left out),
 * for sinks that recreate the table.
 */
const INDEX_QUERY = `
SELECT ic.relname AS name, i.indisunique AS uniq, json_agg(a.attname ORDER BY k.ord)::text AS cols
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
  JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON k.ord <= i.indnkeyatts
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = $1::oid AND NOT i.indisprimary AND i.indisvalid
   AND i.indexprs IS NULL AND i.indpred IS NULL
 GROUP BY ic.relname, i.indisunique
 ORDER BY ic.relname`;

/** Unique indexes (the primary key included) on plain columns that are all NOT NULL, usable, not partial. */
const UNIQUE_QUERY = `
SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_index i
  JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
   AND NOT (0 = ANY(i.indkey::int2[]))
 GROUP BY i.indexrelid
HAVING bool_and(a.attnotnull)
 ORDER BY i.indexrelid`;

/** Columns (with types), primary key, secondary indexes and unique keys of a table; `chunkKey` is the primary key. */
export async function describeTable(db: Queryable, catalog: TypeCatalog, id: TableId): Promise<DescribedTable> {
  const schemaName = id.schema ?? 'public';
  const found = await db.query<{ oid: string }>(TABLE_QUERY, [schemaName, id.name]);
  const row = found.rows[0];
  if (row === undefined) {
    throw new TableNotFoundError(
      tableName(id),
      `postgres: table ${tableName(id)} does not exist or is not a table (views and partitions are not captured: name the partitioned root)`,
    );
  }
  const oid = Number(row.oid);
  const columns = await db.query<{
    attname: string;
    typid: string;
    typmod: string;
    attnotnull: string;
    attnum: number;
    native: string;
    def: string | null;
  }>(COLUMN_QUERY, [oid]);
  const types = await catalog.resolve(columns.rows.map((c) => Number(c.typid)));
  const byColumn = new Map<string, PgType>();
  const columnSchemas: ColumnSchema[] = columns.rows.map((c) => {
    const type = types.get(Number(c.typid)) as PgType;
    byColumn.set(c.attname, type);
    return {
      name: c.attname,
      type: logicalTypeOf(type, Number(c.typmod)),
      nativeType: c.native,
      nullable: c.attnotnull !== 't',
      ...(c.def === null ? {} : { default: c.def }),
    };
  });
  const key = await db.query<{ attname: string }>(KEY_QUERY, [oid]);
  const primaryKey = key.rows.map((k) => k.attname);
  const indexRows = await db.query<{ name: string; uniq: boolean | string; cols: string }>(INDEX_QUERY, [oid]);
  const indexes: TableIndex[] = indexRows.rows.map((r) => ({
    name: r.name,
    columns: JSON.parse(r.cols) as string[],
    unique: r.uniq === true || r.uniq === 't',
  }));
  const unique = await db.query<{ columns: string }>(UNIQUE_QUERY, [oid]);
  const uniqueKeys = unique.rows.map((u) => parseArrayText(u.columns, ',', (t) => t).map(String));
  return {
    oid,
    schema: {
      id: { schema: schemaName, name: id.name },
      columns: columnSchemas,
      primaryKey,
      chunkKey: primaryKey,
      ...(indexes.length === 0 ? {} : { indexes }),
      uniqueKeys,
      sourceIds: { table: oid, columns: Object.fromEntries(columns.rows.map((c) => [c.attname, Number(c.attnum)])) },
    },
    types: byColumn,
    numbers: new Map(columns.rows.map((c) => [c.attname, Number(c.attnum)])),
  };
}
