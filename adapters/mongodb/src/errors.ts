import {
  AdapterError,
  DatabaseSetupError,
  ConnectionLostError,
  HighwaterError,
  networkConnectError,
  OffsetUnavailableError,
  PermissionError,
  TableNotFoundError,
} from '@highwater/core';

/** Where a failure happened, for the message: the servers of the connection string (never its password). */
export interface Endpoint {
  readonly where: string;
  readonly host: string;
}

/** The hosts of a connection string, without user or password (`db1:27017,db2:27017`). */
export function endpointOf(url: string): Endpoint {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/.exec(url);
  const where = match?.[1] || url.replace(/\/\/[^@/]*@/, '//');
  return { where, host: where.split(',')[0]?.replace(/:\d+$/, '') ?? where };
}

/** Server error codes the adapter translates (MongoDB's `error_codes.yml`). */
export const CODES = {
  Unauthorized: 13,
  AuthenticationFailed: 18,
  NamespaceNotFound: 26,
  ChangeStreamFatalError: 280,
  ChangeStreamHistoryLost: 286,
  /** A `readConcern: snapshot` read at a cluster time older than the server keeps history for. */
  SnapshotTooOld: 239,
  NoMatchingDocument: 47,
  /** No pre-image recorded for an event whose change stream requires one. */
  PreImageNotFound: 51770,
  /** `$changeStream` on a standalone server ("only supported on replica sets"). */
  ChangeStreamNotReplicaSet: 40573,
  IllegalOperation: 20,
} as const;

interface DriverError {
  readonly name?: string;
  readonly code?: number | string;
  readonly codeName?: string;
  readonly message?: string;
  readonly cause?: unknown;
  readonly reason?: { readonly servers?: Map<string, { readonly error?: unknown }> };
  hasErrorLabel?(label: string): boolean;
}

/**
 * Translates what the driver threw into the errors the core understands, keeping it whole as
 * `cause`: network failures are retriable `ConnectionLostError`s (or an unknown host), the server's
 * refusals say what to do. `what` names the operation and `ns` the collection where there is one.
 */
export function toHighwaterError(error: unknown, at: Endpoint, what: string, ns?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const e = (error ?? {}) as DriverError;
  const message = e.message ?? String(error);
  const where = ns === undefined ? at.where : `${ns} at ${at.where}`;
  const network = networkConnectError('mongodb', at, nestedNetworkCause(error));
  if (network !== null) return network;
  switch (e.code) {
    case CODES.AuthenticationFailed:
      return new PermissionError(
        `mongodb: authentication failed at ${at.where}: check the user name, password and authSource of the connection string`,
        { cause: error },
      );
    case CODES.Unauthorized:
      return new PermissionError(
        `mongodb: ${what} on ${where} was refused (${message}): the user needs the \`find\` and \`changeStream\` actions on the captured databases (e.g. the built-in role \`read\` on each, or \`readAnyDatabase\` for a cluster-wide stream), \`listCollections\`, and \`readWrite\` on the heartbeat collection`,
        { cause: error },
      );
    case CODES.ChangeStreamHistoryLost:
      return new OffsetUnavailableError(
        `mongodb: the resume point is no longer in the oplog of ${at.where} (ChangeStreamHistoryLost): the oplog window is shorter than the time the source was stopped. Start again with startup 'initial' (a new snapshot), and enlarge the oplog (replSetResizeOplog, or oplogMinRetentionHours) so it covers the longest stop`,
        { cause: error },
      );
    case CODES.SnapshotTooOld:
      return new OffsetUnavailableError(
        `mongodb: ${what} on ${where} asked for a cluster time the server no longer keeps snapshot history for (SnapshotTooOld; it keeps minSnapshotHistoryWindowInSeconds, 300 s by default): changelog 'normalize' seeds its store with a read at the start position, so start with startup 'initial' or 'latest', or a 'timestamp' within that window, or raise minSnapshotHistoryWindowInSeconds`,
        { cause: error },
      );
    case CODES.ChangeStreamNotReplicaSet:
      return new DatabaseSetupError(
        `mongodb: ${at.where} is not a replica set or sharded cluster, and change streams need one: start mongod with --replSet <name> and run rs.initiate() (a one-node replica set is enough)`,
        { cause: error },
      );
    case CODES.NamespaceNotFound:
      return new TableNotFoundError(
        ns ?? 'unknown',
        `mongodb: ${ns ?? 'the collection'} does not exist at ${at.where}`,
      );
  }
  if (isMissingImage(e)) {
    const [db, coll] = splitNs(ns);
    return new DatabaseSetupError(
      `mongodb: ${what} on ${where} needs pre- and post-images, and the server has none for a change (${message}): enable them on each captured collection with db.getSiblingDB('${db}').runCommand({ collMod: '${coll}', changeStreamPreAndPostImages: { enabled: true } }) (MongoDB 6.0+) and start again with a new snapshot, or use changelog 'normalize'`,
      { cause: error },
    );
  }
  if (isConnectionLoss(e)) {
    return new ConnectionLostError(`mongodb: ${what} at ${at.where} lost its connection: ${message}`, { cause: error });
  }
  return new AdapterError(`mongodb: ${what} on ${where} failed: ${message}`, { cause: error });
}

function splitNs(ns: string | undefined): [string, string] {
  if (ns === undefined) return ['<db>', '<collection>'];
  const dot = ns.indexOf('.');
  return dot < 0 ? [ns, '<collection>'] : [ns.slice(0, dot), ns.slice(dot + 1)];
}

function isMissingImage(e: DriverError): boolean {
  if (e.code === CODES.PreImageNotFound) return true;
  if (e.code !== CODES.ChangeStreamFatalError && e.code !== CODES.NoMatchingDocument) return false;
  return /pre-?image|post-?image|fullDocument/i.test(e.message ?? '');
}

function isConnectionLoss(e: DriverError): boolean {
  const name = e.name ?? '';
  if (/MongoNetwork|MongoServerSelection|MongoTopologyClosed|PoolCleared|MongoNotConnected/.test(name)) return true;
  if (e.hasErrorLabel?.('ResumableChangeStreamError') || e.hasErrorLabel?.('RetryableWriteError')) return true;
  // NotWritablePrimary, NotPrimaryNoSecondaryOk, InterruptedAtShutdown, ShutdownInProgress, HostUnreachable…
  return [10107, 13435, 11600, 91, 6, 7, 89, 9001, 189, 262].includes(Number(e.code));
}

/** The socket error underneath a driver error (server selection keeps it per server). */
function nestedNetworkCause(error: unknown): unknown {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e;
    const d = e as DriverError;
    queue.push(d.cause);
    for (const server of d.reason?.servers?.values() ?? []) queue.push(server.error);
  }
  return null;
}
