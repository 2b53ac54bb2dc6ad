import { type ChunkRange, type ChunkReader, ConfigError, type Row, type TableSchema, tableName } from '@highwater/core';
import type { MongoClient } from 'mongodb';
import { type Endpoint, toHighwaterError } from './errors.js';
import { rowsOf } from './rows/collection-rows.js';
import { idRange } from './snapshot/id-range.js';

/** Reads one `_id` range of a collection: a plain `find` with `readConcern: majority`, no lock, no session. */
export class MongoChunkReader implements ChunkReader {
  constructor(
    private readonly client: MongoClient,
    private readonly at: Endpoint,
    private readonly batchSize: number,
  ) {}

  async *readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    const rows = rowsOf(table);
    if (table.chunkKey.join() !== table.primaryKey.join()) {
      throw new ConfigError(
        `mongodb: ${tableName(table.id)} is chunked on ${table.chunkKey.join(', ')}, but MongoDB collections are split by _id only: remove its chunkKeys setting`,
      );
    }
    const cursor = this.client
      .db(table.id.database ?? 'test')
      .collection(table.id.name)
      .find(
        {},
        { ...idRange(rows, range.start, range.end), batchSize: this.batchSize, readConcern: { level: 'majority' } },
      );
    let batch: Row[] = [];
    try {
      for await (const doc of cursor) {
        batch.push(rows.rowOf(doc));
        // The rest of the server's batch without an await per document (as the driver's toArray does).
        for (const more of cursor.readBufferedDocuments()) batch.push(rows.rowOf(more));
        if (batch.length >= this.batchSize) {
          yield batch;
          batch = [];
        }
      }
    } catch (error) {
      throw toHighwaterError(error, this.at, 'reading a chunk', tableName(table.id));
    } finally {
      await cursor.close().catch(() => undefined);
    }
    if (batch.length > 0) yield batch;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
