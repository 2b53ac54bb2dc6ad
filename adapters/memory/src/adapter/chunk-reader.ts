import { type ChunkRange, type ChunkReader, chunkKeyOf, type Row, type TableSchema, tableName } from '@highwater/core';
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
