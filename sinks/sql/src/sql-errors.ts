import { HighwaterError, networkFailureOf, SinkError } from '@highwater/core';
import type { ConnectionConfig } from './sink-config.js';
import type { Dialect } from './dialect.js';

/** A target failure as a `SinkError` naming the target and table; lost connections and deadlocks are retriable. */
export function sinkError(dialect: Dialect, what: string, error: unknown, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const retriable = dialect.isConnectionLost(error) || dialect.isTransient(error);
  const where = table === undefined ? '' : ` (table ${table})`;
  const hint = privilegeHint(dialect, error);
  return new SinkError(
    `${dialect.name} sink: ${what}${where} failed: ${message}${hint}`,
    { cause: error, retriable, ...(table === undefined ? {} : { table }) },
    hint === '' ? 'HW_SINK' : SINK_PERMISSION_DENIED,
  );
}

/** The code of a target refusing the sink's login or a privilege (the target must be set up differently). */
const SINK_PERMISSION_DENIED = 'HW_SINK_PERMISSION_DENIED';

/** Host, port, user and database of a sink connection, as messages name them (never the password). */
export interface SinkEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

/** The parts of `connection` a message may show; a URL that does not parse gives what it can. */
export function sinkEndpoint(dialect: Dialect, connection: ConnectionConfig): SinkEndpoint {
  const defaultPort = dialect.name === 'postgres' ? 5432 : 3306;
  if (typeof connection !== 'string') {
    return {
      host: connection.host,
      port: connection.port ?? defaultPort,
      user: connection.user,
      database: connection.database,
    };
  }
  try {
    const url = new URL(connection);
    const params = url.searchParams;
    return {
      host: decodeURIComponent(params.get('host') ?? url.hostname) || 'localhost',
      port: Number(url.port || params.get('port') || defaultPort),
      user: decodeURIComponent(url.username || params.get('user') || ''),
      database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    };
  } catch {
    return { host: '?', port: defaultPort, user: '', database: '' };
  }
}

function field(error: unknown, name: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

/**
 * A failure to connect to the target as one sentence: what went wrong, where (`host:port`), and
 * what to check in `sink.connection`. Refused, unanswered and overloaded servers stay retriable;
 * a wrong password, an unknown user or database do not. Never contains the password.
 */
export function connectError(dialect: Dialect, connection: ConnectionConfig, error: unknown): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const at = sinkEndpoint(dialect, connection);
  const where = `${at.host}:${at.port}`;
  const head = `${dialect.name} sink: cannot connect to ${where}`;
  const code = String(field(error, 'code') ?? '');
  const errno = Number(field(error, 'errno'));
  const message = error instanceof Error ? error.message : String(error);
  const fail = (text: string, retriable: boolean) => new SinkError(text, { cause: error, retriable });
  const refused = (text: string) => new SinkError(text, { cause: error }, SINK_PERMISSION_DENIED);
  const network = networkFailureOf(error)?.kind;
  if (network === 'refused') {
    return fail(
      `${head}: connection refused: check that the server is running and sink.connection's host and port`,
      true,
    );
  }
  if (network === 'unknown-host') {
    return fail(`${head}: unknown host ${at.host}: check sink.connection's host`, false);
  }
  if (network === 'no-answer' || /timeout/i.test(message)) {
    return fail(`${head}: no answer: check sink.connection's host and port, and any firewall in between`, true);
  }
  if (code === '28P01' || errno === 1045) {
    return refused(
      `${dialect.name} sink: authentication failed for user ${JSON.stringify(at.user)} at ${where}: check sink.connection's user and password`,
    );
  }
  if (code === '28000') {
    return refused(
      `${head}: the server refused user ${JSON.stringify(at.user)} (${message}): check the user, and pg_hba.conf`,
    );
  }
  if (/password must be a string|no password/i.test(message)) {
    return refused(
      `${dialect.name} sink: the server at ${where} asks user ${JSON.stringify(at.user)} for a password and sink.connection has none`,
    );
  }
  if (code === '3D000' || errno === 1049) {
    return fail(
      `${dialect.name} sink: database ${JSON.stringify(at.database)} does not exist on ${where}: check sink.connection's database, or create it`,
      false,
    );
  }
  if (errno === 1044) {
    return refused(
      `${dialect.name} sink: user ${JSON.stringify(at.user)} may not use database ${JSON.stringify(at.database)} on ${where}: ` +
        `run \`GRANT ALL ON ${at.database}.* TO '${at.user}'@'%';\` (or the host the user connects from)`,
    );
  }
  if (code === '53300' || errno === 1040) {
    return fail(`${head}: too many connections: raise the server's connection limit or close idle sessions`, true);
  }
  const retriable = dialect.isConnectionLost(error) || dialect.isTransient(error);
  return fail(`${head} as user ${JSON.stringify(at.user)}: ${message}`, retriable);
}

/** What to GRANT when the target refuses a statement for lack of a privilege; '' otherwise. */
function privilegeHint(dialect: Dialect, error: unknown): string {
  const code = String(field(error, 'code') ?? '');
  const errno = Number(field(error, 'errno'));
  const message = error instanceof Error ? error.message : String(error);
  if (dialect.name === 'postgres' && code === '42501') {
    const schema = /permission denied for schema "?([^"\s]+)"?/i.exec(message);
    if (schema !== null) {
      return `: the sink creates and fills tables there: run \`GRANT USAGE, CREATE ON SCHEMA ${schema[1]} TO <user>;\``;
    }
    const table = /permission denied for (?:table|relation) "?([^"\s]+)"?/i.exec(message);
    if (table !== null) {
      return `: run \`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ${table[1]} TO <user>;\` (or make the user its owner)`;
    }
    if (/must be owner/i.test(message))
      return ': adding columns to a table is for its owner: make the sink user the owner';
  }
  if (dialect.name === 'mysql' && [1044, 1142, 1143].includes(errno)) {
    return ': the sink needs SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER and DROP (for TRUNCATE) on the target database';
  }
  return '';
}
