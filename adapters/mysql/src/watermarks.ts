import { PermissionError } from '@highwater/core';
import type mysql from 'mysql2/promise';
import { settingProblems, setupError } from './setup-check.js';

export interface BinlogPosition {
  readonly file: string;
  readonly pos: number;
}

/**
 * Per connection, which of several equivalent statements its server understands, once found: the
 * others cost a round trip and an error each time they are tried.
 */
const understood = new WeakMap<mysql.Connection, Map<string, string>>();

/**
 * Rows of the first of `statements` the server understands; an error for which `notUnderstood`
 * holds moves on to the next statement, any other is thrown. Remembered per connection and
 * `purpose`.
 */
async function queryFirstUnderstood(
  db: mysql.Connection,
  purpose: string,
  statements: readonly string[],
  notUnderstood: (errno: unknown) => boolean,
): Promise<unknown> {
  let known = understood.get(db);
  const sql = known?.get(purpose);
  if (sql !== undefined) return (await db.query(sql))[0];
  let last: unknown;
  for (const candidate of statements) {
    try {
      const [rows] = await db.query(candidate);
      if (known === undefined) {
        known = new Map();
        understood.set(db, known);
      }
      known.set(purpose, candidate);
      return rows;
    } catch (error) {
      if (!notUnderstood((error as { errno?: unknown }).errno)) throw error;
      last = error;
    }
  }
  throw last;
}

/**
 * The end of the binlog: `SHOW BINARY LOG STATUS` (MySQL 8.2+), `SHOW BINLOG STATUS` (MariaDB
 * 10.5.2+), else `SHOW MASTER STATUS`. Every transaction whose binlog entry starts before it is
 * wholly written (group commit writes whole transactions under the log lock).
 */
export async function binlogStatus(db: mysql.Connection): Promise<BinlogPosition> {
  const rows = await queryFirstUnderstood(
    db,
    'binlog status',
    ['SHOW BINARY LOG STATUS', 'SHOW BINLOG STATUS', 'SHOW MASTER STATUS'],
    (errno) => errno === 1064, // a syntax error: not this server's statement
  );
  const row = Array.isArray(rows) ? (rows[0] as { File?: unknown; Position?: unknown } | undefined) : undefined;
  if (row === undefined || typeof row.File !== 'string') {
    throw new PermissionError(
      'mysql: the binary log is off. Start the server with log_bin (MySQL 8 has it on by default), binlog_format=ROW and binlog_row_image=FULL.',
    );
  }
  return { file: row.File, pos: Number(row.Position) };
}

/**
 * The statements other sessions are executing right now, as `thread id → statement id`: every
 * thread not idle (`Sleep`), not a binlog dump and not a server daemon, except this connection and
 * `exclude` (the adapter's own chunk readers, which only run plain SELECTs). PROCESSLIST is read
 * live (unlike INNODB_TRX, a cache refreshed at most every 100 ms). Needs the PROCESS privilege to
 * see other users' sessions. MariaDB identifies a statement by QUERY_ID; MySQL has no such column,
 * so there a statement is identified by its command and text.
 */
export async function busyStatements(db: mysql.Connection, exclude: ReadonlySet<number>): Promise<Map<number, string>> {
  const idle = "('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID')";
  const rows = await queryFirstUnderstood(
    db,
    'busy statements',
    [
      `SELECT ID AS id, CAST(QUERY_ID AS CHAR) AS q FROM information_schema.PROCESSLIST
        WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ${idle}`,
      `SELECT ID AS id, CONCAT(COMMAND, ':', COALESCE(INFO, '')) AS q FROM information_schema.PROCESSLIST
        WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ${idle}`,
    ],
    (errno) => errno === 1054, // unknown column QUERY_ID: MySQL
  );
  const out = new Map<number, string>();
  for (const r of rows as { id: number | string; q: string | null }[]) {
    const id = Number(r.id);
    if (!exclude.has(id)) out.set(id, r.q ?? '');
  }
  return out;
}

/** Checks the server settings the binlog reader needs; throws one PermissionError naming every fix. */
export async function checkServer(db: mysql.Connection): Promise<void> {
  const problems = await settingProblems(db);
  if (problems.length > 0) throw setupError(problems);
}
