import { type Checkpoint, SinkError } from '@highwater/core';
import { CHECKPOINT_TABLE, readCheckpointRow } from './checkpoint-table.js';
import {
  type AcceptedSchemaChange,
  type AcceptMode,
  checkpointWithNotes,
  type RefusedSchemaChange,
} from './schema-acceptance.js';
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
  return withTarget(dialect, config, 'reading the stored checkpoint', (session, schema) =>
    readCheckpointRow(dialect, session, schema, pipelineName),
  );
}

/** Runs `use` on a session of its own in the sink's schema; errors as the sink words them (`what` failed). */
async function withTarget<T>(
  dialect: Dialect,
  config: Pick<SqlSinkConfig, 'connection' | 'schema'>,
  what: string,
  use: (session: SqlSession, schema: string) => Promise<T>,
): Promise<T> {
  let session: SqlSession;
  try {
    session = await dialect.connect(config.connection);
  } catch (error) {
    throw connectError(dialect, config.connection, error);
  }
  try {
    return await use(session, config.schema ?? (await dialect.currentSchema(session)));
  } catch (error) {
    throw sinkError(dialect, what, error);
  } finally {
    await session.close();
  }
}

/**
 * Records in the stored checkpoint of `pipelineName` that the schema change the sink refused there
 * (the one recorded with it) is to pass as `as` when the pipeline runs again. `table` names it when
 * the sink could not record it (it had stored no checkpoint yet, or the record failed); when both
 * are there they must agree. Returns the stored checkpoint, where the next run resumes, and the
 * acceptance. Fails with a `SinkError` when there is nothing to accept.
 */
export async function acceptSchemaChange(
  dialect: Dialect,
  config: Pick<SqlSinkConfig, 'connection' | 'schema'>,
  pipelineName: string,
  request: { readonly as: AcceptMode; readonly table?: string },
): Promise<{ checkpoint: Checkpoint; accepted: AcceptedSchemaChange; refused: RefusedSchemaChange | null }> {
  return withTarget(dialect, config, 'recording the accepted schema change', async (session, schema) => {
    const qualified = `${dialect.quote(schema)}.${dialect.quote(CHECKPOINT_TABLE)}`;
    const stored = await readCheckpointRow(dialect, session, schema, pipelineName);
    if (stored === null) {
      throw new SinkError(
        `${dialect.name} sink: no checkpoint is stored for pipeline ${pipelineName} in ${qualified}: there is no ` +
          'refused schema change to go on past (a pipeline that stopped at one has stored a checkpoint)',
      );
    }
    const refused = stored.refused;
    const table = request.table ?? refused?.table;
    if (table === undefined) {
      throw new SinkError(
        `${dialect.name} sink: no refused schema change is recorded for pipeline ${pipelineName} in ${qualified}: name ` +
          'the table the error named with --table',
      );
    }
    if (refused !== null && refused.table !== table) {
      throw new SinkError(
        `${dialect.name} sink: the schema change refused at the stored checkpoint of pipeline ${pipelineName} is on ` +
          `${refused.table} (${refused.change}), not ${table}: accept that one first`,
      );
    }
    const accepted: AcceptedSchemaChange = { table, as: request.as, through: refused?.offset ?? null };
    const notes = { accepted: [...stored.accepted.filter((a) => a.table !== table), accepted], refused: null };
    await session.query(dialect.storeCheckpoint(qualified), [
      pipelineName,
      checkpointWithNotes(stored.checkpoint, notes),
    ]);
    return { checkpoint: stored.checkpoint, accepted, refused };
  });
}
