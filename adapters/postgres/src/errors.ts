import {
  AdapterError,
  ConnectionLostError,
  HighwaterError,
  networkConnectError,
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
  if (error instanceof ConnectionLostError) return true;
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
      return new PermissionError(`postgres: ${where}: ${message}${privilegeHint(message, table)}`, { cause: error });
    case '42P01':
      return new TableNotFoundError(table ?? 'unknown', `postgres: ${where}: ${message}`);
    case '58P01':
      return new OffsetUnavailableError(`postgres: ${where}: ${message}`, { cause: error });
    default:
      return new AdapterError(`postgres: ${where}: ${message}`, { cause: error });
  }
}

/** Where a client connects, as messages name it. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

/** `host:port`, or the socket file for a unix-socket connection. */
export function describeEndpoint(at: Pick<Endpoint, 'host' | 'port'>): string {
  return at.host.startsWith('/') ? `${at.host}/.s.PGSQL.${at.port}` : `${at.host}:${at.port}`;
}

/**
 * A failure to open a connection as an error that says what went wrong, where, and what to check:
 * wrong password, unknown user or database, refused or unanswered connections. Lost-connection
 * cases (refused, timed out, server starting or shutting down) stay retriable `ConnectionLostError`s.
 * The message never contains the password.
 */
export function connectError(error: unknown, at: Endpoint): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = sqlState(error);
  const where = describeEndpoint(at);
  const user = JSON.stringify(at.user);
  const lost = (what: string) =>
    new ConnectionLostError(`postgres: cannot connect to ${where}: ${what}`, { cause: error });
  const network = networkConnectError('postgres', { where, host: at.host }, error);
  if (network !== null) return network;
  switch (code) {
    case '28P01':
      return new PermissionError(
        `postgres: authentication failed for user ${user} at ${where}: check the user name and password of the connection`,
        { cause: error },
      );
    case '28000':
      return new PermissionError(
        `postgres: the server at ${where} refused user ${user}: ${message}: check the user name, and that pg_hba.conf admits it`,
        { cause: error },
      );
    case '3D000':
      return new AdapterError(
        `postgres: database ${JSON.stringify(at.database)} does not exist on ${where}: check the database name of the connection`,
        { cause: error },
      );
    case '53300':
      return lost(
        'the server has no free connection slots (too many connections): raise max_connections or close idle sessions',
      );
  }
  if (/client password must be a string|password must be a string|no password/i.test(message)) {
    return new PermissionError(
      `postgres: the server at ${where} asks user ${user} for a password, and the connection has none: set the password`,
      { cause: error },
    );
  }
  if (/timeout/i.test(message)) {
    return lost('no answer within the connect timeout: check the host, the port and any firewall in between');
  }
  if (isConnectionError(error)) return lost(message);
  return new AdapterError(`postgres: cannot connect to ${where} as user ${user}: ${message}`, { cause: error });
}

/** What to GRANT (or change) for the usual "permission denied" / "must be owner" messages; '' when unsure. */
export function privilegeHint(message: string, table?: string): string {
  let match = /permission denied for database "?([^"\s]+)"?/i.exec(message);
  if (match !== null) {
    return (
      `: creating the publication needs the CREATE privilege on the database: run ` +
      `\`GRANT CREATE ON DATABASE ${match[1]} TO <user>;\`, or create the publication yourself and set createPublication: false`
    );
  }
  match = /permission denied for (?:table|relation|sequence|view) "?([^"\s]+)"?/i.exec(message);
  if (match !== null) {
    return `: run \`GRANT SELECT ON ${table ?? match[1]} TO <user>;\` (the user reads the captured tables)`;
  }
  match = /permission denied for schema "?([^"\s]+)"?/i.exec(message);
  if (match !== null) return `: run \`GRANT USAGE ON SCHEMA ${match[1]} TO <user>;\``;
  if (/must be owner of (?:table|relation)/i.test(message)) {
    return (
      ': adding a table to the publication (or setting its replica identity) is for its owner: run it as the owner, ' +
      'or have the owner add it and set createPublication: false'
    );
  }
  if (/FOR ALL TABLES/i.test(message)) return ': a superuser must create a FOR ALL TABLES publication';
  if (/replication|WAL sender/i.test(message)) return ': run `ALTER ROLE <user> WITH REPLICATION;`';
  return '';
}
