import type { AdapterCapabilities, SourceAdapter } from '@highwater/core';
import { OracleChunkReader } from './chunk-reader.js';
import { checkDatabase, checkTableLogging } from './checks.js';
import { compareOracleKeys } from './compare-keys.js';
import { containerPlan, enterPdb, type PdbMining } from './logminer/container.js';
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
  /**
   * The pluggable database (PDB) of a multitenant (CDB) database whose tables are captured; leave it
   * out for a non-CDB. See docs/adapters/oracle.md, "Pluggable databases".
   */
  readonly pdb?: string;
  /**
   * Where LogMiner runs for `pdb` (default `root`): `root` connects to the CDB root's service as a
   * common user (C##…), mines there keeping the PDB's records (SRC_CON_NAME) and reads tables inside
   * the PDB (ALTER SESSION SET CONTAINER); `pdb` connects to the PDB's service and uses per-PDB
   * LogMiner (19c+: START_LOGMNR finds the logs, V$LOGMNR_CONTENTS holds that PDB's redo only).
   */
  readonly pdbMining?: PdbMining;
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
  const plan = containerPlan(options.pdb, options.pdbMining);
  const open = async (): Promise<OracleSession> => {
    try {
      return await connector(settings);
    } catch (error) {
      throw toHighwaterError(error, 'connect');
    }
  };
  /**
   * Runs `setup` on a new session — in the captured PDB unless `mining` (LogMiner in CDB$ROOT stays
   * in the root) — and closes it if setup fails.
   */
  const prepared = async <T>(
    setup: (session: OracleSession) => Promise<T>,
    where: 'tables' | 'mining' = 'tables',
  ): Promise<T> => {
    const session = await open();
    try {
      if (where === 'tables' && plan.switchTo !== null) await enterPdb(session, plan.switchTo);
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
        // Mining in CDB$ROOT: table definitions are read in the PDB, on a second session.
        const catalog = plan.switchTo === null ? session : await prepared(async (s) => s);
        try {
          if (!allColumnsLogged) await checkTableLogging(catalog, request.tables);
          return new OracleLogReader(session, request.from, request.tables, mining, describe, plan.scope, catalog);
        } catch (error) {
          if (catalog !== session) await catalog.close().catch(() => undefined);
          throw error;
        }
      }, 'mining'),
  };
}
