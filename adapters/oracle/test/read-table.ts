import type { Row } from '@highwater/core';
import { describeTable } from '../src/catalog.js';
import { OracleChunkReader } from '../src/chunk-reader.js';
import type { OracleSession } from '../src/index.js';

/**
 * Every row of `OWNER.TABLE` through the adapter's own snapshot path (a flashback chunk read of the
 * whole table): the harnesses' `readTable`, which value-types checks against the written values.
 * Closes `session`.
 */
export async function readWholeTable(session: OracleSession, table: string): Promise<Row[]> {
  const dot = table.indexOf('.');
  const reader = new OracleChunkReader(session, 10_000);
  try {
    const schema = await describeTable(session, { schema: table.slice(0, dot), name: table.slice(dot + 1) });
    const rows: Row[] = [];
    for await (const batch of reader.readChunk({ ...schema, chunkKey: [] }, { start: null, end: null }))
      rows.push(...batch);
    return rows;
  } finally {
    await reader.close();
  }
}
