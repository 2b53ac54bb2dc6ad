import type { Checkpoint } from '@highwater/core';
import { readCheckpointRow } from './checkpoint-table.js';
import type { Dialect, SqlSession } from './dialect.js';
import type { SqlSinkConfig } from './sink-config.js';
import { connectError, sinkError } from './sql-errors.js';

/**
 * The checkpoint a SQL sink stored for `pipelineName`, with when it was stored; null when none is
 * stored or the checkpoint table does not exist. Only reads (for `highwater status`).
 */
export async function readSqlCheckpoint(
  dialect: Dialect,
  config: Pick<SqlSinkConfig, 'connection' | 'schema'>,
  pipelineName: string,
): Promise<{ checkpoint: Checkpoint; storedAt: Date } | null> {
  let session: SqlSession;
  try {
    session = await dialect.connect(config.connection);
  } catch (error) {
    throw connectError(dialect, config.connection, error);
  }
  try {
    const schema = config.schema ?? (await dialect.currentSchema(session));
    return await readCheckpointRow(dialect, session, schema, pipelineName);
  } catch (error) {
    throw sinkError(dialect, 'reading the stored checkpoint', error);
  } finally {
    await session.close();
  }
}
