import {
  DatabaseSetupError,
  type Introspector,
  type Key,
  OffsetUnavailableError,
  type TableId,
  TableNotFoundError,
  type TableSchema,
  tableName,
} from '@highwater/core';
import { Timestamp } from 'mongodb';
import type { Document, MongoClient } from 'mongodb';
import { isTimestamp, timestampToBigInt } from './bson/bson-order.js';
import { type Endpoint, toHighwaterError } from './errors.js';
import { AFTER_ALL, BEFORE_ALL, compareMongoOffsets, type MongoOffset, positionAt } from './offsets/mongo-offset.js';
import type { ResolvedOptions } from './options.js';
import { describeCollection, rowsOf } from './rows/collection-rows.js';
import { idRange } from './snapshot/id-range.js';
import { SplitVectorBoundaries } from './snapshot/split-vector.js';

const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * The control connection: collections, watermarks from cluster time, `_id` chunk boundaries.
 *
 * Watermarks (see docs/adapters/mongodb.md, "Watermarks"):
 * - low: the `operationTime` of a `readConcern: majority` read — the majority snapshot it read at.
 *   Every write at or before it is majority-committed, so chunk reads (also `majority`) started
 *   afterwards see it, and change streams (which only return majority-committed events) have it.
 * - high: the `operationTime` of a `w: majority` write to the heartbeat collection. Every visible
 *   change lies before it in the oplog, and the change stream's post-batch resume token passes it
 *   even when no captured collection changes — the write is the marker the SPI asks for.
 */
export class MongoIntrospector implements Introspector<MongoOffset> {
  private lastLow: MongoOffset | null = null;
  private readonly splitVector: SplitVectorBoundaries | null;

  constructor(
    private readonly client: MongoClient,
    private readonly at: Endpoint,
    private readonly options: ResolvedOptions,
  ) {
    this.splitVector = options.chunkBoundaries === 'auto' ? new SplitVectorBoundaries(client, at) : null;
  }

  async listTables(): Promise<readonly TableId[]> {
    try {
      const databases =
        this.options.databases ??
        (await this.client.db('admin').admin().listDatabases({ nameOnly: true })).databases
          .map((d) => d.name)
          .filter((n) => !SYSTEM_DATABASES.has(n) && n !== this.options.heartbeat.database);
      const out: TableId[] = [];
      for (const database of databases) {
        const collections = await this.client
          .db(database)
          .listCollections({ type: 'collection' }, { nameOnly: true })
          .toArray();
        const { heartbeat } = this.options;
        for (const c of collections) {
          if (c.name.startsWith('system.')) continue;
          // The heartbeat collection may live in a captured database: its markers are no rows.
          if (database === heartbeat.database && c.name === heartbeat.collection) continue;
          out.push({ database, name: c.name });
        }
      }
      return out;
    } catch (error) {
      throw toHighwaterError(error, this.at, 'listing collections');
    }
  }

  async describeTables(ids: readonly TableId[]): Promise<readonly TableSchema[]> {
    const out: TableSchema[] = [];
    for (const id of ids) {
      const name = tableName(id);
      let info: Document | undefined;
      try {
        [info] = await this.client
          .db(id.database ?? 'test')
          .listCollections({ name: id.name })
          .toArray();
      } catch (error) {
        throw toHighwaterError(error, this.at, 'describing', name);
      }
      if (info === undefined || info.type === 'view') {
        throw new TableNotFoundError(
          name,
          `mongodb: collection ${name} does not exist at ${this.at.where}${info === undefined ? '' : ' (it is a view: capture its source collection)'}`,
        );
      }
      out.push(describeCollection(id, info.options as Document | undefined, this.options.rows === 'document'));
    }
    return out;
  }

  async lowWatermark(): Promise<MongoOffset> {
    const { database, collection } = this.options.heartbeat;
    const reply = await this.command(database, 'taking a low watermark', {
      find: collection,
      filter: { _id: 'highwater' },
      limit: 1,
      readConcern: { level: 'majority' },
    });
    const offset = positionAt(clusterTimeOf(reply, 'low watermark'), AFTER_ALL);
    if (this.lastLow !== null && compareMongoOffsets(offset, this.lastLow) < 0) return this.lastLow;
    this.lastLow = offset;
    return offset;
  }

  async highWatermark(): Promise<MongoOffset> {
    const { database, collection } = this.options.heartbeat;
    const reply = await this.command(database, 'writing the heartbeat (high watermark)', {
      update: collection,
      updates: [{ q: { _id: 'highwater' }, u: { $inc: { beats: 1 } }, upsert: true }],
      writeConcern: { w: 'majority' },
    });
    return positionAt(clusterTimeOf(reply, 'high watermark'), AFTER_ALL);
  }

  async earliestOffset(): Promise<MongoOffset> {
    const reply = await this.command('local', 'reading the oldest oplog entry', {
      find: 'oplog.rs',
      filter: {},
      sort: { $natural: 1 },
      limit: 1,
      projection: { ts: 1 },
    });
    const first = (reply.cursor as { firstBatch?: Document[] } | undefined)?.firstBatch?.[0];
    if (!isTimestamp(first?.ts)) {
      throw new OffsetUnavailableError(
        `mongodb: the oplog of ${this.at.where} is empty or unreadable (local.oplog.rs)`,
      );
    }
    return positionAt(first?.ts as Timestamp, BEFORE_ALL);
  }

  async offsetAtTimestamp(time: Date): Promise<MongoOffset> {
    // Cluster times count seconds: the position is before every event of the second `time` falls in.
    const seconds = Math.floor(time.getTime() / 1000);
    return positionAt(new Timestamp({ t: seconds, i: 0 }), BEFORE_ALL);
  }

  async keyRange(table: TableSchema): Promise<{ readonly min: Key; readonly max: Key } | null> {
    const rows = rowsOf(table);
    const first = async (direction: 1 | -1) =>
      (
        await this.collectionOf(table)
          .find({}, { sort: { _id: direction }, limit: 1, hint: { _id: 1 } })
          .toArray()
      )[0];
    try {
      const min = await first(1);
      const max = await first(-1);
      if (min === undefined || max === undefined) return null;
      return { min: rows.keyOf(min._id), max: rows.keyOf(max._id) };
    } catch (error) {
      throw toHighwaterError(error, this.at, 'reading the _id range', tableName(table.id));
    }
  }

  async estimateRowCount(table: TableSchema): Promise<number> {
    try {
      return await this.collectionOf(table).estimatedDocumentCount();
    } catch (error) {
      throw toHighwaterError(error, this.at, 'estimating the document count', tableName(table.id));
    }
  }

  /**
   * The server's split points (`splitVector`) where it allows them; else sorted `_id` paging: the
   * `_id` `chunkSize` documents after `from` in index order (no privileged command).
   */
  async nextChunkBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null> {
    const split = await this.splitVector?.next(table, from, chunkSize);
    if (split !== undefined) return split;
    const rows = rowsOf(table);
    try {
      const [doc] = await this.collectionOf(table)
        .find({}, { sort: { _id: 1 }, skip: chunkSize, limit: 1, ...idRange(rows, from, null) })
        .toArray();
      return doc === undefined ? null : rows.keyOf(doc._id);
    } catch (error) {
      throw toHighwaterError(error, this.at, 'finding a chunk boundary', tableName(table.id));
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private collectionOf(table: TableSchema) {
    return this.client.db(table.id.database ?? 'test').collection(table.id.name);
  }

  private async command(database: string, what: string, command: Document): Promise<Document> {
    try {
      return await this.client.db(database).command(command);
    } catch (error) {
      throw toHighwaterError(error, this.at, what, `${database}.${String(Object.values(command)[0])}`);
    }
  }
}

function clusterTimeOf(reply: Document, what: string): bigint {
  const t = reply.operationTime;
  if (!isTimestamp(t)) {
    throw new DatabaseSetupError(
      `mongodb: the server's reply to the ${what} has no operationTime: it is not a replica set or sharded cluster, and change streams need one: start mongod with --replSet <name> and run rs.initiate() (a one-node replica set is enough)`,
    );
  }
  return timestampToBigInt(t);
}
