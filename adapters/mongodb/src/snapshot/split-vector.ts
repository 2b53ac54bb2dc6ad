import { type Key, type TableSchema, tableName } from '@highwater/core';
import type { Document, MongoClient } from 'mongodb';
import { compareMongoKeys } from '../bson/compare-keys.js';
import { EXACT_REPLY } from '../connection.js';
import { type Endpoint, toHighwaterError } from '../errors.js';
import { rowsOf } from '../rows/collection-rows.js';

/**
 * Chunk boundaries from the server's `splitVector` (MongoDB manual, `splitVector`): one walk of the
 * `_id` index per table that returns every split point, instead of one sorted-`_id` skip per
 * boundary. It needs the `splitVector` privilege action (e.g. the `clusterManager` role); where the
 * server refuses it (privilege, a mongos, a server without the command), the table falls back to
 * paging, so the default needs no privileged command. `$bucketAuto` is not used: it reads and sorts
 * every document of the collection, which is no faster than paging over the index.
 *
 * The server cuts chunks of about half `maxChunkSizeBytes` (by the average document size, from
 * `$collStats`), so asking for twice `chunkSize` documents' worth gives chunks of about `chunkSize`.
 */
export class SplitVectorBoundaries {
  /** Per table and chunk size: the split keys in order, or null where the server refused (page instead). */
  private readonly cache = new Map<string, readonly Key[] | null>();

  constructor(
    private readonly client: MongoClient,
    private readonly at: Endpoint,
  ) {}

  /** The first split key after `from` (null: none), or undefined when splitVector cannot be used for the table. */
  async next(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null | undefined> {
    const keys = await this.keysOf(table, chunkSize);
    if (keys === null) return undefined;
    // The first key greater than `from`, by binary search (keys come in `_id` order).
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (from !== null && compareMongoKeys(table, keys[mid] as Key, from) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return keys[lo] ?? null;
  }

  private async keysOf(table: TableSchema, chunkSize: number): Promise<readonly Key[] | null> {
    const name = `${tableName(table.id)}\u0000${chunkSize}`;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const keys = await this.splitVector(table, chunkSize);
    this.cache.set(name, keys);
    return keys;
  }

  private async splitVector(table: TableSchema, chunkSize: number): Promise<readonly Key[] | null> {
    const db = this.client.db(table.id.database ?? 'test');
    const ns = `${table.id.database ?? 'test'}.${table.id.name}`;
    try {
      const [stats] = await db
        .collection(table.id.name)
        .aggregate([{ $collStats: { storageStats: {} } }])
        .toArray();
      const avg = Number((stats?.storageStats as Document | undefined)?.avgObjSize ?? 0);
      if (!(avg > 0)) return [];
      const reply = await db.command(
        { splitVector: ns, keyPattern: { _id: 1 }, maxChunkSizeBytes: Math.max(1, Math.round(2 * chunkSize * avg)) },
        EXACT_REPLY,
      );
      const rows = rowsOf(table);
      return ((reply.splitKeys ?? []) as Document[]).map((k) => rows.keyOf(k._id));
    } catch (error) {
      // The server's refusal (a code it answered with) means "page instead"; anything else is a failure.
      if (typeof (error as { code?: unknown }).code === 'number') return null;
      throw toHighwaterError(error, this.at, 'asking for split points (splitVector)', ns);
    }
  }
}
