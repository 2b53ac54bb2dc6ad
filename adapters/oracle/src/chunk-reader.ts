import {
  AdapterError,
  type ChunkRange,
  type ChunkReader,
  type HighwaterError,
  type Row,
  type TableSchema,
  type Value,
} from '@highwater/core';
import { oracleColumnsOf } from './catalog.js';
import { toHighwaterError } from './errors.js';
import type { OracleSession } from './session/session.js';
import { chunkQuery, SQL } from './sql/statements.js';
import { decoderFor } from './types/decode.js';

/**
 * Reads chunks with a flashback query `AS OF SCN s`, where `s` is the database's SCN sampled at the
 * start of the read: a consistent, lock-free read of exactly the transactions committed at or before
 * `s` (see docs/algorithm.md, "Oracle"). Needs FLASHBACK on the table (or FLASHBACK ANY TABLE) and
 * enough undo retention for the read's duration.
 */
export class OracleChunkReader implements ChunkReader {
  constructor(
    private readonly session: OracleSession,
    private readonly batchSize: number,
  ) {}

  async *readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    let rows: readonly Record<string, unknown>[];
    const columns = oracleColumnsOf(table);
    try {
      const scn = String((await this.session.execute(SQL.currentScn)).rows[0]?.CURRENT_SCN);
      const q = chunkQuery(table.id.schema ?? '', table.id.name, columns, table.chunkKey, range, scn);
      rows = (await this.session.execute(q.sql, q.binds)).rows;
    } catch (error) {
      throw chunkError(error);
    }
    const decoders = columns.map(decoderFor);
    let batch: Row[] = [];
    for (const r of rows) {
      const row: Record<string, Value> = {};
      for (let i = 0; i < columns.length; i++) {
        const name = (columns[i] as { name: string }).name;
        row[name] = (decoders[i] as (raw: unknown) => Value)(r[name]);
      }
      batch.push(row);
      if (batch.length >= this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

/**
 * Worth a retry: ORA-01466 (the table's definition changed after the flashback SCN, e.g. a DDL just
 * now) and ORA-01555 (undo for the flashback SCN is gone: the next attempt reads at a newer SCN).
 */
function chunkError(error: unknown): HighwaterError {
  const e = toHighwaterError(error, 'readChunk');
  if (!/ORA-01466|ORA-01555/.test(e.message)) return e;
  return new AdapterError(`${e.message} (retrying the chunk at a newer SCN)`, {
    cause: error,
    retriable: true,
  });
}
