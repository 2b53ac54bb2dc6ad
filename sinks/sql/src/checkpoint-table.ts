import { type Checkpoint, parseCheckpoint } from '@highwater/core';
import type { Dialect, SqlSession } from './dialect.js';
import { type SchemaChangeNotes, schemaChangeNotesIn } from './schema-acceptance.js';

export const CHECKPOINT_TABLE = 'highwater_checkpoints';

/**
 * The pipeline's stored checkpoint (with the schema change refused at it and those accepted by
 * hand, see `acceptSchemaChange`), or null when the table or the row does not exist. Reads only.
 */
export async function readCheckpointRow(
  dialect: Dialect,
  session: SqlSession,
  schema: string,
  pipeline: string,
): Promise<({ checkpoint: Checkpoint; storedAt: Date } & SchemaChangeNotes) | null> {
  if ((await dialect.columnsOf(session, schema, CHECKPOINT_TABLE)) === null) return null;
  const table = `${dialect.quote(schema)}.${dialect.quote(CHECKPOINT_TABLE)}`;
  const storedAt =
    dialect.name === 'postgres'
      ? `to_char(stored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : `DATE_FORMAT(stored_at, '%Y-%m-%dT%H:%i:%s.%fZ')`;
  const rows = await session.query<{ checkpoint: string; stored_at: string }>(
    `SELECT checkpoint, ${storedAt} AS stored_at FROM ${table} WHERE pipeline = ${dialect.param(1)}`,
    [pipeline],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const text = typeof row.checkpoint === 'string' ? row.checkpoint : JSON.stringify(row.checkpoint);
  const json: unknown = JSON.parse(text);
  const checkpoint = parseCheckpoint(json, `${table} row ${pipeline}`);
  return { checkpoint, storedAt: new Date(row.stored_at), ...schemaChangeNotesIn(json, `${table} row ${pipeline}`) };
}
