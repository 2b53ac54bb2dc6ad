import {
  AdapterError,
  ConnectionLostError,
  HighwaterError,
  OffsetUnavailableError,
  PermissionError,
  TableNotFoundError,
} from '@highwater/core';

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03']);

/** True when the error means the connection is gone (the core retries these). */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|Client has encountered a connection error|not queryable/i.test(message);
}

/** Translates a `pg` error into the errors the core understands, keeping the original as `cause`. */
export function toHighwaterError(error: unknown, where: string, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = sqlState(error);
  if (isConnectionError(error)) return new ConnectionLostError(`postgres: ${where}: ${message}`, { cause: error });
  switch (code) {
    case '42501':
      return new PermissionError(`postgres: ${where}: ${message}`, { cause: error });
    case '42P01':
      return new TableNotFoundError(table ?? 'unknown', `postgres: ${where}: ${message}`);
    case '58P01':
      return new OffsetUnavailableError(`postgres: ${where}: ${message}`, { cause: error });
    default:
      return new AdapterError(`postgres: ${where}: ${message}`, { cause: error });
  }
}
