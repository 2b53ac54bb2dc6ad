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
  /**
   * Key tables without a primary key by ROWID (default false): such a table gets a column `ROWID`
   * (its rows' extended ROWIDs), is split into ROWID ranges cut from its extents, and its events are
   * keyed by ROWID. A `chunkKeys` entry for the table still takes precedence as its chunk and event
   * key. Off, a keyless table has no key and the source's `keylessTables` setting skips or refuses it.
   * A DDL that moves the table's rows (`ALTER TABLE … MOVE`, `SHRINK SPACE`, …) changes every ROWID:
   * the log reader then fails with `MissingKeyError`, and the table needs a new snapshot.
   * See docs/adapters/oracle.md, "Tables without a primary key".
   */
  readonly rowidKeys?: boolean;
}

const capabilities: AdapterCapabilities = {
  startFromEarliest: true,
  startFromTimestamp: true,
  schemaChanges: true,
  truncate: true,
  addTables: true,
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
  const describe = { rowidKeys: options.rowidKeys === true };
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
        return new OracleIntrospector(session, describe);
      }),
    createChunkReader: () =>
      prepared(async (session) => new OracleChunkReader(session, options.chunkBatchSize ?? 4096)),
    createLogReader: (request) =>
      prepared(async (session) => {
        const { allColumnsLogged } = await checkDatabase(session);
        if (!allColumnsLogged) await checkTableLogging(session, request.tables);
        return new OracleLogReader(session, request.from, request.tables, mining, describe);
      }),
  };
}
