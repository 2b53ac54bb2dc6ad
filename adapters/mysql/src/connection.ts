import mysqlCore from 'mysql2';
import { connectError } from './errors.js';
import type mysql from 'mysql2/promise';

/** Where the adapter connects: a `mysql://user:password@host:port/db` URL or mysql2 connection options. */
export type ConnectionSettings = string | mysqlCore.ConnectionOptions;

/**
 * The mysql2 options every adapter connection uses, the binlog's included: exact numbers and dates
 * as text (decoded by `types/decode.ts`), in UTC, whatever the process time zone.
 */
export const DRIVER_OPTIONS = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  decimalNumbers: false,
  timezone: 'Z',
  charset: 'UTF8MB4_GENERAL_CI',
  // mysql2 otherwise captures a stack trace at every query, for its errors; the adapter's own errors
  // carry the operation and table, and the watermark queries of a snapshot are many.
  trace: false,
  // zongji then hands MySQL's binary JSON over as its JSON text (64-bit integers as written), which
  // the decoder parses as it parses the snapshot's text: both paths give the same value.
  jsonStrings: true,
} as const satisfies mysqlCore.ConnectionOptions;

/** The connection options of `settings` with {@link DRIVER_OPTIONS}. */
export function connectionOptions(settings: ConnectionSettings): mysqlCore.ConnectionOptions {
  let base: mysqlCore.ConnectionOptions;
  if (typeof settings === 'string') {
    const url = new URL(settings);
    base = {
      host: url.hostname,
      port: url.port === '' ? 3306 : Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
    };
  } else {
    base = settings;
  }
  return { ...base, ...DRIVER_OPTIONS };
}

/** A connected client in UTC (TIMESTAMP values as UTC text, independent of the process time zone). */
export async function connect(settings: ConnectionSettings): Promise<mysql.Connection> {
  return (await connectCore(settings)).promise();
}

/** The callback-API connection (for query streams); `.promise()` gives the promise API on the same connection. */
export async function connectCore(settings: ConnectionSettings): Promise<mysqlCore.Connection> {
  const options = connectionOptions(settings);
  const core = mysqlCore.createConnection(options);
  const connection = core.promise();
  connection.on('error', () => {
    // Reported again by the next query on this connection.
  });
  try {
    await connection.query("SET time_zone = '+00:00'");
  } catch (error) {
    connection.destroy();
    throw connectError(error, {
      host: options.host ?? 'localhost',
      port: options.port ?? 3306,
      user: options.user ?? '',
      database: options.database,
    });
  }
  return core;
}

/**
 * Closes a connection politely, but never waits more than `ms`: `end()` on a connection whose
 * server went away (restart, KILL) can wait forever for the reply to its QUIT.
 */
export async function closeConnection(db: { end(): Promise<void>; destroy(): void }, ms = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    const outcome = await Promise.race([db.end().then(() => 'ended' as const), late]);
    if (outcome === 'late') db.destroy();
  } catch {
    db.destroy();
  } finally {
    clearTimeout(timer);
  }
}
