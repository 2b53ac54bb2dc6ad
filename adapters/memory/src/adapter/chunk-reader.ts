import {
  type ChunkRange,
  type ChunkReader,
  chunkKeyOf,
  type JsonValue,
  type Row,
  type TableSchema,
  tableName,
  type UndecodedRows,
  valueFromJson,
  valueToJson,
} from '@highwater/core';
import type { MemoryConnection } from '../database/connection.js';
import { chunksOnPrimaryKey, inRange } from './chunk-key.js';
import { toHighwaterError } from './errors.js';

/**
 * Reads chunks as plain range scans of the visible rows: no lock, no snapshot. Writes landing
 * between two batches may or may not be seen — exactly what the core's watermark merge is built to
 * tolerate, so the adapter must not try to hide it.
 */
export class MemoryChunkReader implements ChunkReader {
  constructor(
    private readonly connection: MemoryConnection,
    private readonly batchSize: number,
  ) {}

  async *readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    const name = tableName(table.id);
    try {
      if (chunksOnPrimaryKey(table)) {
        yield* this.connection.scan(name, range.start, range.end, this.batchSize);
        return;
      }
      // Chunked on other columns: scan everything and keep the rows in range (no index to use).
      for (const batch of this.connection.scan(name, null, null, this.batchSize)) {
        const rows = batch.filter((row) => inRange(chunkKeyOf(table, row), range.start, range.end));
        if (rows.length > 0) yield rows;
      }
    } catch (error) {
      throw toHighwaterError(error, name);
    }
  }

  async close(): Promise<void> {
    this.connection.close();
  }
}

/**
 * With the adapter's `deferDecoding`, chunks also come as JSON text turned into rows only when the
 * core asks, as an adapter reading a wire format hands them over (the Postgres adapter keeps COPY
 * output until the chunk is emitted), so the core's deferred path runs on the reference adapter too.
 */
export class DeferringMemoryChunkReader extends MemoryChunkReader {
  async *readUndecodedChunk(table: TableSchema, range: ChunkRange): AsyncIterable<UndecodedRows> {
    for await (const rows of this.readChunk(table, range)) yield new JsonRows(rows);
  }
}

class JsonRows implements UndecodedRows {
  readonly count: number;
  private readonly text: string;

  constructor(rows: readonly Row[]) {
    this.count = rows.length;
    this.text = JSON.stringify(rows.map((row) => Object.entries(row).map(([k, v]) => [k, valueToJson(v)])));
  }

  decode(): readonly Row[] {
    const rows = JSON.parse(this.text) as [string, JsonValue][][];
    return rows.map((entries) => Object.fromEntries(entries.map(([k, v]) => [k, valueFromJson(v)])));
  }
}
