import { PermissionError } from '@highwater/core';
import type mysql from 'mysql2/promise';

/**
 * Something the server or the adapter's user lacks for change data capture, and the SQL an
 * administrator runs to fix it. `sql` is empty when the fix is not a statement (a server option
 * that needs a restart); `fix` then says what to do.
 */
export interface SetupProblem {
  /** What is missing or wrong, and what needs it. */
  readonly what: string;
  /** Statements that fix it, each ending in `;`. */
  readonly sql: readonly string[];
  /** The fix in words, when `sql` alone does not do it. */
  readonly fix?: string;
}

/** The binlog settings the log reader needs: `log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`. */
export async function settingProblems(db: mysql.Connection): Promise<SetupProblem[]> {
  const [rows] = await db.query(
    'SELECT @@GLOBAL.log_bin AS log_bin, @@GLOBAL.binlog_format AS format, @@GLOBAL.binlog_row_image AS image',
  );
  const r = (rows as { log_bin: number | string; format: string; image: string }[])[0];
  if (r === undefined) return [];
  const problems: SetupProblem[] = [];
  if (Number(r.log_bin) !== 1) {
    problems.push({
      what: 'log_bin is OFF: there is no binlog to read',
      sql: [],
      fix: 'start the server with --log-bin (and --server-id); in my.cnf: log_bin = binlog, server_id = 1',
    });
  }
  if (String(r.format).toUpperCase() !== 'ROW') {
    problems.push({
      what: `binlog_format is ${r.format}; row-based replication is needed (statement events carry no rows)`,
      sql: ["SET GLOBAL binlog_format = 'ROW';"],
      fix: 'and binlog_format = ROW in the server config, so it survives a restart',
    });
  }
  if (String(r.image).toUpperCase() !== 'FULL') {
    problems.push({
      what: `binlog_row_image is ${r.image}; full row images are needed`,
      sql: ["SET GLOBAL binlog_row_image = 'FULL';"],
      fix: 'and binlog_row_image = FULL in the server config, so it survives a restart',
    });
  }
  return problems;
}

/** Privileges as `SHOW GRANTS` lists them: global ones, and per database. */
interface Grants {
  readonly global: ReadonlySet<string>;
  /** Database name → privileges on `db`.* and on any of its tables (table-level grants count as "some"). */
  readonly perDatabase: ReadonlyMap<string, ReadonlySet<string>>;
  /** Roles granted to the user whose privileges could not be read. */
  readonly unreadRoles: readonly string[];
}

const GLOBAL_NEEDS: readonly {
  readonly privilege: string;
  readonly aliases: readonly string[];
  readonly why: string;
}[] = [
  { privilege: 'REPLICATION SLAVE', aliases: ['REPLICATION SLAVE', 'REPLICA'], why: 'read the binlog (binlog dump)' },
  {
    privilege: 'REPLICATION CLIENT',
    aliases: ['REPLICATION CLIENT', 'BINLOG MONITOR'],
    why: 'read the binlog position (SHOW BINARY LOGS; BINLOG MONITOR on MariaDB 10.5+)',
  },
  {
    privilege: 'PROCESS',
    aliases: ['PROCESS'],
    why: "see other sessions' commits in flight for the snapshot's low watermark (information_schema.PROCESSLIST)",
  },
];

/**
 * Every privilege the adapter's user lacks, at once: `REPLICATION SLAVE`, `REPLICATION CLIENT`,
 * `PROCESS` on `*.*`, and `SELECT` on each of `databases`. Read from `SHOW GRANTS` (and the grants of
 * the user's roles); when a role's grants cannot be read, nothing is reported rather than a guess.
 */
export async function privilegeProblems(
  db: mysql.Connection,
  databases: readonly string[] = [],
): Promise<SetupProblem[]> {
  const grants = await readGrants(db);
  if (grants.unreadRoles.length > 0) return [];
  const user = await currentUser(db);
  const has = (privs: ReadonlySet<string> | undefined, names: readonly string[]) =>
    privs !== undefined && (privs.has('ALL PRIVILEGES') || names.some((n) => privs.has(n)));
  const problems: SetupProblem[] = [];
  const missingGlobal = GLOBAL_NEEDS.filter((need) => !has(grants.global, need.aliases));
  if (missingGlobal.length > 0) {
    problems.push({
      what: missingGlobal.map((need) => `${need.privilege}, to ${need.why}`).join('; '),
      sql: [`GRANT ${missingGlobal.map((need) => need.privilege).join(', ')} ON *.* TO ${user};`],
    });
  }
  for (const database of databases) {
    if (has(grants.global, ['SELECT']) || has(grants.perDatabase.get(database.toLowerCase()), ['SELECT'])) continue;
    problems.push({
      what: `SELECT on database ${database}, to read the captured tables and their definitions`,
      sql: [`GRANT SELECT ON \`${database.replaceAll('`', '``')}\`.* TO ${user};`],
    });
  }
  return problems;
}

/**
 * The server settings and the user's privileges, all problems in one `PermissionError` (a user
 * missing three privileges learns of all three in one run, not one per run).
 */
export async function checkSetup(db: mysql.Connection, databases: readonly string[] = []): Promise<void> {
  const problems = [...(await settingProblems(db)), ...(await privilegeProblems(db, databases))];
  if (problems.length > 0) throw setupError(problems);
}

/** One error naming every problem and the statements that fix them. */
export function setupError(problems: readonly SetupProblem[]): PermissionError {
  const lines = problems.map((p) => `  - ${p.what}${p.fix === undefined ? '' : ` (${p.fix})`}`);
  const sql = problems.flatMap((p) => p.sql);
  return new PermissionError(
    `mysql: the server is not ready for change data capture:\n${lines.join('\n')}` +
      (sql.length > 0 ? `\nRun as an administrator:\n${sql.map((s) => `  ${s}`).join('\n')}` : ''),
  );
}

/** `'user'@'host'` of the connection, as GRANT wants it. */
async function currentUser(db: mysql.Connection): Promise<string> {
  const [rows] = await db.query('SELECT CURRENT_USER() AS u');
  const value = String((rows as { u: string }[])[0]?.u ?? '');
  const at = value.lastIndexOf('@');
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return at < 0 ? quote(value) : `${quote(value.slice(0, at))}@${quote(value.slice(at + 1))}`;
}

async function readGrants(db: mysql.Connection): Promise<Grants> {
  const global = new Set<string>();
  const perDatabase = new Map<string, Set<string>>();
  const unreadRoles: string[] = [];
  const roles: string[] = [];
  const take = (lines: readonly string[]) => {
    for (const line of lines) {
      const grant = /^GRANT (.+?) ON (?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE(?: BODY)?) )?(\S+) TO /i.exec(line);
      if (grant === null) {
        // `GRANT role TO user`: a role whose privileges count too.
        const role = /^GRANT (.+?) TO /i.exec(line);
        if (role !== null) roles.push(...role[1]!.split(/,\s*/));
        continue;
      }
      const privileges = grant[1]!
        .replace(/\([^)]*\)/g, '') // column lists: SELECT (a, b)
        .split(',')
        .map((p) => p.trim().toUpperCase().replace(/^ALL$/, 'ALL PRIVILEGES'))
        .filter((p) => p !== '');
      const target = grant[2]!;
      if (target === '*.*') {
        for (const p of privileges) global.add(p);
        continue;
      }
      const database = /^`((?:[^`]|``)+)`\.|^([^.`]+)\./.exec(target);
      const name = (database?.[1]?.replaceAll('``', '`') ?? database?.[2] ?? '').toLowerCase();
      if (name === '') continue;
      const set = perDatabase.get(name) ?? new Set<string>();
      for (const p of privileges) set.add(p);
      perDatabase.set(name, set);
    }
  };
  take(await showGrants(db, 'SHOW GRANTS'));
  for (const role of new Set(roles.map((r) => r.trim()))) {
    // MariaDB shows a granted role's privileges by name; MySQL lets the current user see them only
    // through USING.
    const lines =
      (await showGrants(db, `SHOW GRANTS FOR ${role}`).catch(() => null)) ??
      (await showGrants(db, `SHOW GRANTS FOR CURRENT_USER() USING ${role}`).catch(() => null));
    if (lines === null) unreadRoles.push(role);
    else take(lines);
  }
  return { global, perDatabase, unreadRoles };
}

async function showGrants(db: mysql.Connection, statement: string): Promise<string[]> {
  const [rows] = await db.query(statement);
  return (rows as Record<string, unknown>[]).map((r) => String(Object.values(r)[0] ?? ''));
}

/**
 * True when the connection's user has PROCESS (or ALL PRIVILEGES) globally, directly or through a
 * role whose grants it can read. Strict, unlike `privilegeProblems`: the low watermark is not safe
 * without it.
 */
export async function hasProcessPrivilege(db: mysql.Connection): Promise<boolean> {
  const grants = await readGrants(db);
  return grants.global.has('PROCESS') || grants.global.has('ALL PRIVILEGES');
}
