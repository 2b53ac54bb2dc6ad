import type { AdapterCapabilities, SourceAdapter } from '@highwater/core';
import { type ChunkPlans, MysqlChunkReader } from './chunk-reader.js';
import { compareMysqlKeys } from './compare-keys.js';
import { type ConnectionSettings, closeConnection, connect, connectCore, connectionOptions } from './connection.js';
import { untilLost, watchLoss } from './connection-loss.js';
import { toHighwaterError } from './errors.js';
import { MysqlIntrospector } from './introspector.js';
import { createMysqlLogReader } from './log-reader.js';
import { type MysqlOffset, mysqlOffsets } from './offsets/mysql-offset.js';
import { checkSetup } from './setup-check.js';

export interface MysqlAdapterOptions {
  /** `mysql://user:password@host:3306/db` or mysql2 connection options. */
  readonly connection: ConnectionSettings;
  /**
   * The binlog connection's replica server id; must differ from the server's own and from every other
   * replica's. Default: a random id in 0x48570000–0x4857FFFF.
   */
  readonly serverId?: number;
  /** Heartbeat period of the binlog connection: how soon an idle reader reports progress (default 500 ms). */
  readonly heartbeatMs?: number;
  /** Rows per batch yielded by `readChunk` (default 4096). */
  readonly chunkBatchSize?: number;
  /** How long `lowWatermark()` waits for in-flight writers before using an older safe sample (default 2000 ms). */
  readonly lowWatermarkPatienceMs?: number;
}

const capabilities: AdapterCapabilities = {
  startFromEarliest: true,
  startFromTimestamp: true,
  schemaChanges: true,
  truncate: true,
  addTables: true,
};

/**
 * The Highwater adapter for MySQL and MariaDB: the binlog read with zongji (one connection for every
 * captured table), snapshot chunks with mysql2, one value decoder per path that agree.
 *
 * @example
 * const adapter = mysqlAdapter({ connection: 'mysql://cdc:secret@db:3306/shop' });
 * const source = createSource({ adapter, tables: { include: ['shop.*'] } });
 */
export function mysqlAdapter(options: MysqlAdapterOptions): SourceAdapter<MysqlOffset> {
  const serverId = options.serverId ?? 0x48570000 + Math.floor(Math.random() * 0x10000);
  /** Thread ids of this adapter's chunk readers: the low watermark need not wait for their SELECTs. */
  const chunkReaders = new Set<number>();
  const chunkPlans: ChunkPlans = new Map();
  return {
    name: 'mysql',
    capabilities,
    offsets: mysqlOffsets,
    compareKeys: compareMysqlKeys,
    async createIntrospector() {
      try {
        const db = await connect(options.connection);
        try {
          await checkSetup(db, databaseOf(options.connection));
        } catch (error) {
          await closeConnection(db);
          throw error;
        }
        return new MysqlIntrospector(db, () => connect(options.connection), {
          lowWatermarkPatienceMs: options.lowWatermarkPatienceMs ?? 2000,
          ownConnections: chunkReaders,
          // Its own replica id: the server drops an older dump with the same id (the log reader's).
          timestampSearch: { connection: options.connection, serverId: (serverId + 1) >>> 0 || 1 },
        });
      } catch (error) {
        throw toHighwaterError(error, 'connect');
      }
    },
    async createChunkReader() {
      try {
        const connection = await connectCore(options.connection);
        const id = connection.threadId;
        if (id !== null) chunkReaders.add(id);
        const watch = watchLoss(connection);
        const reader = new MysqlChunkReader(
          connection,
          options.chunkBatchSize ?? 4096,
          () => {
            if (id !== null) chunkReaders.delete(id);
          },
          chunkPlans,
        );
        return {
          readChunk: (table, range) => untilLost(reader.readChunk(table, range), watch, 'readChunk'),
          readUndecodedChunk: (table, range) => untilLost(reader.readUndecodedChunk(table, range), watch, 'readChunk'),
          // Bounded: ending a connection the server dropped (restart, KILL) can wait forever.
          close: () => closeConnection({ end: () => reader.close(), destroy: () => connection.destroy() }),
        };
      } catch (error) {
        throw toHighwaterError(error, 'connect');
      }
    },
    async createLogReader(request) {
      return createMysqlLogReader(
        { connection: options.connection, serverId, heartbeatMs: options.heartbeatMs ?? 500 },
        request,
      );
    },
  };
}

/** The connection's database, whose SELECT grant the setup check looks for (none when the connection names none). */
function databaseOf(connection: ConnectionSettings): string[] {
  const database = connectionOptions(connection).database;
  return database === undefined || database === '' ? [] : [database];
}
