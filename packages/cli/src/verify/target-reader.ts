import type { ChunkReader, SourceAdapter, TableSchema } from '@highwater/core';
import { mysqlAdapter } from '@highwater/mysql';
import { postgresAdapter } from '@highwater/postgres';
import type { ConnectionConfig, SqlSinkConfig } from '../pipeline/pipeline-schema.js';
import { mysqlColumnType, postgresColumnType, targetTableName } from '../sinks/sql/index.js';

/**
 * Reads the target with the target database's own adapter: its chunk reader runs the same key-range
 * query the snapshot runs and decodes values into the logical representation, which the canonical
 * form then compares with the source's. Only chunk readers are opened: no slot, no publication, no
 * binlog check, nothing written.
 */
export function targetAdapter(config: SqlSinkConfig): SourceAdapter<unknown> {
  if (config.type === 'postgres') {
    return postgresAdapter({
      connection: withPort(config.connection, 5432),
      createSlot: false,
      createPublication: false,
    }) as SourceAdapter<unknown>;
  }
  return mysqlAdapter({ connection: withPort(config.connection, 3306) }) as SourceAdapter<unknown>;
}

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

export type { ChunkReader };

function withPort(connection: ConnectionConfig, port: number) {
  return typeof connection === 'string' ? connection : { ...connection, port: connection.port ?? port };
}
