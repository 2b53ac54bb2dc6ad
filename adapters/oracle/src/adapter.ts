import type { AdapterCapabilities, SourceAdapter } from '@highwater/core';
import { OracleChunkReader } from './chunk-reader.js';
import { checkDatabase, checkTableLogging } from './checks.js';
import { compareOracleKeys } from './compare-keys.js';
import { toHighwaterError } from './errors.js';
import { OracleIntrospector } from './introspector.js';
import { DEFAULT_MINING, type MiningOptions, OracleLogReader } from './log-reader.js';
import { type OracleOffset, oracleOffsets } from './offsets/oracle-offset.js';
import { oracledbConnector } from './session/oracledb-session.js';
import {
  type OracleConnectSettings,
  type OracleConnector,
  type OracleSession,
  parseOracleUrl,
} from './session/session.js';

export interface OracleAdapterOptions {
  /** `oracle://user:password@host:1521/SERVICE` or the settings themselves. */
  readonly connection: string | OracleConnectSettings;
  /** Opens sessions; default node-oracledb Thin (`oracledbConnector`). Tests pass a simulator. */
  readonly connect?: OracleConnector;
  /** LogMiner window sizing and polling. */
  readonly mining?: Partial<MiningOptions>;
  /** Rows per batch yielded by `readChunk` (default 4096). */
  readonly chunkBatchSize?: number;
}

const capabilities: AdapterCapabilities = {
  startFromEarliest: true,
  startFromTimestamp: true,
  schemaChanges: true,
  truncate: true,
  addTables: false,
};

/**
 * The Highwater adapter for Oracle Database: LogMiner capture driven by SQL (SCN windows, the
 * online catalog, transactions buffered in the adapter), flashback-query snapshot chunks, SCN
 * watermarks. Every database call goes through an `OracleSession`.
 *
 * @example
 * const adapter = oracleAdapter({ connection: 'oracle://cdc:secret@db:1521/FREEPDB1' });
 * const source = createSource({ adapter, tables: { include: ['SHOP.*'] } });
 */
export function oracleAdapter(options: OracleAdapterOptions): SourceAdapter<OracleOffset> {
  const settings = typeof options.connection === 'string' ? parseOracleUrl(options.connection) : options.connection;
  const connector = options.connect ?? oracledbConnector;
  const mining: MiningOptions = { ...DEFAULT_MINING, ...options.mining };
  const open = async (): Promise<OracleSession> => {
    try {
      return await connector(settings);
    } catch (error) {
      throw toHighwaterError(error, 'connect');
    }
  };
  /** Runs `setup` on a new session; closes it if setup fails. */
  const prepared = async <T>(setup: (session: OracleSession) => Promise<T>): Promise<T> => {
    const session = await open();
    try {
      return await setup(session);
    } catch (error) {
      await session.close().catch(() => undefined);
      throw toHighwaterError(error, 'connect');
    }
  };
  return {
    name: 'oracle',
    capabilities,
    offsets: oracleOffsets,
    compareKeys: compareOracleKeys,
    createIntrospector: () =>
      prepared(async (session) => {
        await checkDatabase(session);
        return new OracleIntrospector(session);
      }),
    createChunkReader: () =>
      prepared(async (session) => new OracleChunkReader(session, options.chunkBatchSize ?? 4096)),
    createLogReader: (request) =>
      prepared(async (session) => {
        const { allColumnsLogged } = await checkDatabase(session);
        if (!allColumnsLogged) await checkTableLogging(session, request.tables);
        return new OracleLogReader(session, request.from, request.tables, mining);
      }),
  };
}
