import type { TableSchema } from '@highwater/core';
import type { SqlSinkConfig } from '../pipeline/pipeline-schema.js';
import { mysqlColumnType, postgresColumnType, targetTableName } from '../sinks/sql/index.js';

/** The source table as the sink created it in the target: same columns and keys, mapped types. */
export function targetTableOf(source: TableSchema, config: SqlSinkConfig, schema: string): TableSchema {
  const keys = new Set(source.chunkKey);
  return {
    id: { schema, name: targetTableName(source.id, config.tableNaming) },
    columns: source.columns.map((c) => ({
      ...c,
      nativeType: config.type === 'postgres' ? postgresColumnType(c.type) : mysqlColumnType(c.type, keys.has(c.name)),
    })),
    primaryKey: source.primaryKey,
    chunkKey: source.chunkKey,
  };
}
