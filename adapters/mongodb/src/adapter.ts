import type { AdapterCapabilities, SourceAdapter } from '@highwater/core';
import { compareMongoKeys } from './bson/compare-keys.js';
import { MongoChunkReader } from './chunk-reader.js';
import { connect } from './connection.js';
import { MongoIntrospector } from './introspector.js';
import { afterImages, serverImages } from './log/images.js';
import { type ImageSource, MongoLogReader } from './log/log-reader.js';
import { openNormalizer } from './normalize/normalizer.js';
import { type MongoOffset, mongoOffsets } from './offsets/mongo-offset.js';
import type { MongoAdapterOptions, ResolvedOptions } from './options.js';

/** `addTables` is not offered with changelog `normalize`: a table added later would need its own seeding read. */
function capabilitiesOf(options: ResolvedOptions): AdapterCapabilities {
  return {
    // Not with normalize: its store is seeded by a read at the start position, and servers keep
    // snapshot history for minutes (minSnapshotHistoryWindowInSeconds), not for the oplog's window.
    startFromEarliest: options.changelog !== 'normalize',
    startFromTimestamp: true,
    schemaChanges: false,
    truncate: true,
    addTables: options.changelog !== 'normalize',
  };
}

function resolve(options: MongoAdapterOptions): ResolvedOptions {
  return {
    connection: {
      url: options.url,
      ...(options.clientOptions === undefined ? {} : { clientOptions: options.clientOptions }),
    },
    changelog: options.changelog ?? 'preImages',
    rows: options.rows ?? 'auto',
    databases: options.databases ?? null,
    heartbeat: options.heartbeat ?? { database: 'highwater', collection: 'heartbeat' },
    chunkBatchSize: options.chunkBatchSize ?? 4096,
    maxAwaitTimeMs: options.maxAwaitTimeMs ?? 250,
    normalizeStore: options.normalizeStore ?? null,
    splitLargeEvents: options.splitLargeEvents ?? true,
    chunkBoundaries: options.chunkBoundaries ?? 'auto',
  };
}

/**
 * The Highwater adapter for MongoDB (replica sets and sharded clusters; 6.0+ for `changelog:
 * 'preImages'` and `'upsert'`): one change stream per source, snapshot chunks by `_id` ranges read
 * with plain `find`s, offsets from cluster time and resume tokens.
 *
 * @example
 * const adapter = mongodbAdapter({ url: 'mongodb://cdc@db:27017/?replicaSet=rs0', changelog: 'preImages' });
 * const source = createSource({ adapter, tables: { include: ['shop.orders'] } });
 */
export function mongodbAdapter(options: MongoAdapterOptions): SourceAdapter<MongoOffset> {
  const resolved = resolve(options);
  return {
    name: 'mongodb',
    capabilities: capabilitiesOf(resolved),
    offsets: mongoOffsets,
    compareKeys: compareMongoKeys,
    async createIntrospector() {
      const { client, at } = await connect(resolved.connection, 'introspector');
      return new MongoIntrospector(client, at, resolved);
    },
    async createChunkReader() {
      const { client, at } = await connect(resolved.connection, 'chunk-reader');
      return new MongoChunkReader(client, at, resolved.chunkBatchSize);
    },
    async createLogReader(request) {
      const { client, at } = await connect(resolved.connection, 'log-reader');
      try {
        let images: ImageSource;
        if (resolved.changelog === 'preImages') images = { images: serverImages };
        else if (resolved.changelog === 'upsert') images = { images: afterImages };
        else images = await openNormalizer(client, at, resolved, request);
        const reader = new MongoLogReader(client, at, resolved, request, images);
        try {
          await reader.open();
        } catch (error) {
          await images.close?.();
          throw error;
        }
        return reader;
      } catch (error) {
        await client.close().catch(() => undefined);
        throw error;
      }
    },
  };
}
