import {
  AdapterError,
  ConnectionLostError,
  HighwaterError,
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
  const code = field(error, 'code');
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (field(error, 'fatal') === true && field(error, 'errno') === undefined) return true;
  const message = error instanceof Error ? error.message : '';
  return /closed state|Connection lost|connection is in closed|Can't add new command when connection is in closed state/i.test(
    message,
  );
}

/** Translates a mysql2 / zongji error into the errors the core understands, keeping the original as `cause`. */
export function toHighwaterError(error: unknown, where: string, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errno = field(error, 'errno');
  if (isConnectionError(error)) return new ConnectionLostError(`mysql: ${where}: ${message}`, { cause: error });
  switch (errno) {
    case 1044: // ER_DBACCESS_DENIED_ERROR
    case 1045: // ER_ACCESS_DENIED_ERROR
    case 1142: // ER_TABLEACCESS_DENIED_ERROR
    case 1143: // ER_COLUMNACCESS_DENIED_ERROR
    case 1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
      return new PermissionError(
        `mysql: ${where}: ${message}. The adapter's user needs SELECT on the captured tables, REPLICATION SLAVE and REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR, REPLICATION SLAVE ADMIN not needed), and PROCESS for the low watermark.`,
        { cause: error },
      );
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
