import {
  AdapterError,
  ConnectionLostError,
  HighwaterError,
  networkConnectError,
  OffsetUnavailableError,
  PermissionError,
  TableNotFoundError,
} from '@highwater/core';

function field(error: unknown, name: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

/** True when the error means the connection is gone (the core retries these). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof ConnectionLostError) return true;
  const code = field(error, 'code');
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (field(error, 'fatal') === true && field(error, 'errno') === undefined) return true;
  const message = error instanceof Error ? error.message : '';
  // zongji reports its lost control connection (used for table metadata) as a plain Error.
  return /closed state|Connection lost|connection is in closed|Control connection unavailable/i.test(message);
}

/** Translates a mysql2 / zongji error into the errors the core understands, keeping the original as `cause`. */
export function toHighwaterError(error: unknown, where: string, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errno = field(error, 'errno');
  if (isConnectionError(error)) return new ConnectionLostError(`mysql: ${where}: ${message}`, { cause: error });
  if (/schema changed between binlog event and metadata fetch/.test(message)) {
    return new AdapterError(
      `mysql: ${where}: ${message}. A row written before a DDL that removed columns is read after it: MariaDB's binlog has no column names, so it cannot be decoded with today's definition. Resume from an offset after the DDL, or take a new snapshot (startup 'initial').`,
      { cause: error },
    );
  }
  switch (errno) {
    case 1044: // ER_DBACCESS_DENIED_ERROR
    case 1045: // ER_ACCESS_DENIED_ERROR
    case 1142: // ER_TABLEACCESS_DENIED_ERROR
    case 1143: // ER_COLUMNACCESS_DENIED_ERROR
    case 1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
      return new PermissionError(`mysql: ${where}: ${message}. ${grantHint(message)}`, { cause: error });
    case 1146: // ER_NO_SUCH_TABLE
      return new TableNotFoundError(table ?? 'unknown', `mysql: ${where}: ${message}`);
    case 1236: // ER_MASTER_FATAL_ERROR_READING_BINLOG (purged / unknown file)
      return new OffsetUnavailableError(
        `mysql: ${where}: ${message}. The binlog position is no longer on the server (purged); start a new snapshot, and raise binlog_expire_logs_seconds so it does not happen again.`,
        { cause: error },
      );
    default:
      return new AdapterError(`mysql: ${where}: ${message}`, { cause: error });
  }
}

const ALL_GRANTS =
  "The adapter's user needs: GRANT SELECT ON <db>.* TO <user>; GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO <user> " +
  '(on MariaDB 10.5+ REPLICATION CLIENT is also called BINLOG MONITOR).';

/** The GRANT that fixes an access-denied message, naming the privilege the server asked for. */
export function grantHint(message: string): string {
  const needed = /you need \(at least one of\) the (.+?) privilege/i.exec(message)?.[1]?.toUpperCase() ?? '';
  if (/REPLICATION SLAVE|REPLICA/.test(needed) && !/CLIENT|MONITOR/.test(needed))
    return `Run: GRANT REPLICATION SLAVE ON *.* TO <user> (needed to read the binlog). ${ALL_GRANTS}`;
  if (/BINLOG MONITOR|REPLICATION CLIENT/.test(needed))
    return `Run: GRANT REPLICATION CLIENT ON *.* TO <user> (needed for SHOW BINARY LOGS / SHOW MASTER STATUS). ${ALL_GRANTS}`;
  if (/PROCESS/.test(needed)) return `Run: GRANT PROCESS ON *.* TO <user>. ${ALL_GRANTS}`;
  const database = /to database '([^']+)'/i.exec(message)?.[1];
  if (database !== undefined) return `Run: GRANT SELECT ON \`${database}\`.* TO <user>. ${ALL_GRANTS}`;
  const table = /command denied to user .* for table [`']([^`']+)[`']/i.exec(message)?.[1];
  if (table !== undefined) return `Run: GRANT SELECT ON <db>.\`${table}\` TO <user>. ${ALL_GRANTS}`;
  return ALL_GRANTS;
}

/** Where a connection was going, for messages (never the password). */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string | undefined;
}

/**
 * A failure to open a connection as an error that says what went wrong, where, and what to check:
 * wrong password, unknown database or host, refused or unanswered connections. Refused and
 * unanswered connections stay retriable `ConnectionLostError`s. The message never holds the password.
 */
export function connectError(error: unknown, at: Endpoint): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const where = `${at.host}:${at.port}`;
  const lost = (what: string) =>
    new ConnectionLostError(`mysql: cannot connect to ${where}: ${what}`, { cause: error });
  const network = networkConnectError('mysql', { where, host: at.host }, error);
  if (network !== null) return network;
  switch (field(error, 'errno')) {
    case 1045: // ER_ACCESS_DENIED_ERROR: at connect, a wrong user or password
      return new PermissionError(
        `mysql: authentication failed for user ${JSON.stringify(at.user)} at ${where}: check the user name and password of the connection`,
        { cause: error },
      );
    case 1049: // ER_BAD_DB_ERROR
      return new AdapterError(
        `mysql: database ${JSON.stringify(at.database)} does not exist on ${where}: check the database name of the connection`,
        { cause: error },
      );
    case 1040: // ER_CON_COUNT_ERROR
      return lost(
        'the server has no free connections (too many connections): raise max_connections or close idle sessions',
      );
  }
  return toHighwaterError(error, `connect to ${where} as user ${JSON.stringify(at.user)}`);
}
