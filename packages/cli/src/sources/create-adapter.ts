import type { SourceAdapter, SourceOptions, StartupMode } from '@highwater/core';
import type { ConnectionConfig, SourceConfig } from '../pipeline/pipeline-schema.js';

/**
 * The adapter a pipeline's `source` section describes. Only that adapter's package (and its
 * driver) is imported: a process needs one of the four.
 */
export async function createAdapter(source: SourceConfig, pipelineName: string): Promise<SourceAdapter<unknown>> {
  switch (source.adapter) {
    case 'postgres': {
      const { postgresAdapter } = await import('@highwater/postgres');
      return postgresAdapter({
        connection: postgresConnection(source.connection),
        ...replicationNamesOf(source, pipelineName),
        createSlot: source.options.createSlot,
        createPublication: source.options.createPublication,
        dropSlotOnClose: source.options.dropSlotOnClose,
      }) as SourceAdapter<unknown>;
    }
    case 'mysql': {
      const { mysqlAdapter } = await import('@highwater/mysql');
      return mysqlAdapter({
        connection: mysqlConnection(source.connection),
        serverId: source.options.serverId,
        heartbeatMs: source.options.heartbeatMs,
      }) as SourceAdapter<unknown>;
    }
    case 'oracle': {
      const { oracleAdapter } = await import('@highwater/oracle');
      return oracleAdapter({
        connection: oracleConnection(source.connection),
        rowidKeys: source.options.rowidKeys === true,
        ...(source.options.pdb === undefined ? {} : { pdb: source.options.pdb }),
        ...(source.options.pdbMining === undefined ? {} : { pdbMining: source.options.pdbMining }),
        mining: {
          ...(source.options.windowScns === undefined ? {} : { windowScns: source.options.windowScns }),
          ...(source.options.pollMs === undefined ? {} : { pollMs: source.options.pollMs }),
          ...(source.options.redoFlushMs === undefined ? {} : { redoFlushMs: source.options.redoFlushMs }),
        },
      }) as SourceAdapter<unknown>;
    }
    case 'mongodb': {
      const { mongodbAdapter } = await import('@highwater/mongodb');
      return mongodbAdapter({
        url: mongodbUrl(source.connection),
        ...source.options,
        // Without a path of its own, each pipeline keeps its normalize store under its name.
        ...(source.options.changelog === 'normalize' && source.options.normalizeStore === undefined
          ? { normalizeStore: { directory: `highwater-${pipelineName}.images` } }
          : {}),
      }) as SourceAdapter<unknown>;
    }
  }
}

/** The `createSource` options of a pipeline's `source` section, minus adapter and checkpoints. */
export function sourceOptionsOf(
  source: SourceConfig,
): Pick<
  SourceOptions<unknown>,
  'tables' | 'startup' | 'chunkSize' | 'parallelism' | 'chunkKeys' | 'keylessTables' | 'batchSize'
> {
  return {
    tables: source.tables,
    startup: startupOf(source.startup),
    chunkSize: source.chunkSize,
    parallelism: source.parallelism,
    chunkKeys: source.chunkKeys,
    keylessTables: source.keylessTables,
    batchSize: source.batchSize,
  };
}

/**
 * The replication slot and publication of a Postgres pipeline. One of each per pipeline by default,
 * so two pipelines on one database never share a slot.
 */
export function replicationNamesOf(
  source: Extract<SourceConfig, { adapter: 'postgres' }>,
  pipelineName: string,
): { slotName: string; publicationName: string } {
  return {
    slotName: source.options.slotName ?? defaultSlotName(pipelineName),
    publicationName: source.options.publicationName ?? defaultSlotName(pipelineName),
  };
}

/** `highwater_<name>` in the characters a replication slot name allows. */
export function defaultSlotName(pipelineName: string): string {
  return `highwater_${pipelineName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

function startupOf(startup: SourceConfig['startup']): StartupMode {
  if (typeof startup === 'string') return { mode: startup };
  if ('offset' in startup) return { mode: 'offset', offset: startup.offset };
  return { mode: 'timestamp', timestamp: startup.timestamp };
}

/** The `pg` connection settings of a pipeline's Postgres `connection`. */
export function postgresConnection(connection: ConnectionConfig) {
  if (typeof connection === 'string') return connection;
  return { ...connection, port: connection.port ?? 5432 };
}

function mysqlConnection(connection: ConnectionConfig) {
  if (typeof connection === 'string') return connection;
  return { ...connection, port: connection.port ?? 3306 };
}

/** `{host, port, user, password, database}` as Oracle settings: `database` is the service name (`FREEPDB1`). */
function oracleConnection(connection: ConnectionConfig) {
  if (typeof connection === 'string') return connection;
  const { host, port, user, password, database } = connection;
  return { user, password: password ?? '', connectString: `${host}:${port ?? 1521}/${database}` };
}

/** A `mongodb://` URL from connection parts (`database` is the authentication database). */
function mongodbUrl(connection: ConnectionConfig): string {
  if (typeof connection === 'string') return connection;
  const password = connection.password === undefined ? '' : `:${encodeURIComponent(connection.password)}`;
  const port = connection.port ?? 27017;
  return `mongodb://${encodeURIComponent(connection.user)}${password}@${connection.host}:${port}/?authSource=${encodeURIComponent(connection.database)}`;
}
