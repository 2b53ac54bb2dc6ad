import type { Checkpoint, Sink } from '@highwater/core';
import type { SqlSinkConfig } from '../../pipeline/pipeline-schema.js';
import { mysqlDialect } from '@highwater/sink-mysql';
import { postgresDialect } from '@highwater/sink-postgres';
import { type Dialect, readSqlCheckpoint, SqlSink, type SqlSinkContext } from '@highwater/sink-sql';

export { mysqlColumnType } from '@highwater/sink-mysql';
export { postgresColumnType } from '@highwater/sink-postgres';
export {
  BULK_MIN_ROWS,
  CHECKPOINT_TABLE,
  DEFAULT_STATEMENT_ROWS,
  type SqlSinkContext,
  sourceTableDescriber,
  targetTableName,
} from '@highwater/sink-sql';

export function dialectOf(type: SqlSinkConfig['type']): Dialect {
  return type === 'postgres' ? postgresDialect : mysqlDialect;
}

/**
 * The `postgres` or `mysql` sink of a pipeline: table replication with the source checkpoint in the
 * same transaction as the rows (see docs/sinks.md). Pass `describeTables` in the context so it can
 * create target tables with mapped types.
 */
export function createSqlSink(config: SqlSinkConfig, context: SqlSinkContext): Sink {
  return new SqlSink(dialectOf(config.type), config, context);
}

/**
 * The checkpoint a SQL sink stored for `pipelineName`, with when it was stored; null when none is
 * stored or the checkpoint table does not exist. Only reads (for `highwater status`).
 */
export async function readSqlSinkCheckpoint(
  config: SqlSinkConfig,
  pipelineName: string,
): Promise<{ checkpoint: Checkpoint; storedAt: Date } | null> {
  return readSqlCheckpoint(dialectOf(config.type), config, pipelineName);
}
