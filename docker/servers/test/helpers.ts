import { execFile } from 'node:child_process';
import { findMariadbBinaries, findPostgresBinaries, type ThrowawayServer } from '../src/index.js';

export interface CliResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ ok: error === null, stdout: stdout.trim(), stderr: stderr.trim() }),
    );
  });
}

function cleanEnv(prefixes: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (prefixes.some((prefix) => name.startsWith(prefix))) delete env[name];
  return env;
}

/** Runs SQL with `psql` over TCP (or over the unix socket in `host`); unaligned, tuples only. */
export function psql(
  server: Pick<ThrowawayServer, 'host' | 'port' | 'user' | 'password' | 'database'>,
  sql: string,
  options: { host?: string; password?: string } = {},
): Promise<CliResult> {
  const env = cleanEnv(['PG']);
  const password = options.password ?? server.password;
  if (password !== '') env.PGPASSWORD = password;
  return cli(
    'psql',
    [
      '-X',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      options.host ?? server.host,
      '-p',
      String(server.port),
      '-U',
      server.user,
      '-d',
      server.database,
      '-c',
      sql,
    ],
    env,
  );
}

/** Like `psql` but rejects with stderr when the command fails. */
export async function psqlOk(server: Parameters<typeof psql>[0], sql: string): Promise<string> {
  const result = await psql(server, sql);
  if (!result.ok) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout;
}

/** Runs SQL with the `mariadb` client over TCP (or over `socket`); batch mode, no column names. */
export function mariadb(
  server: Pick<ThrowawayServer, 'host' | 'port' | 'user' | 'password' | 'database'>,
  sql: string,
  options: { user?: string; password?: string; socket?: string } = {},
): Promise<CliResult> {
  const password = options.password ?? server.password;
  const target =
    options.socket !== undefined
      ? [`--socket=${options.socket}`, '--protocol=SOCKET']
      : ['-h', server.host, '-P', String(server.port), '--protocol=TCP'];
  return cli(
    'mariadb',
    [
      '--no-defaults',
      ...target,
      '-u',
      options.user ?? server.user,
      ...(password === '' ? [] : [`--password=${password}`]),
      '-N',
      '-B',
      '-e',
      sql,
      ...(server.database === '' ? [] : [server.database]),
    ],
    cleanEnv(['MYSQL', 'MARIADB']),
  );
}

export async function mariadbOk(server: Parameters<typeof mariadb>[0], sql: string): Promise<string> {
  const result = await mariadb(server, sql);
  if (!result.ok) throw new Error(`mariadb failed: ${result.stderr}`);
  return result.stdout;
}

function available(find: () => unknown): boolean {
  try {
    find();
    return true;
  } catch {
    return false;
  }
}

export const postgresInstalled = available(() => findPostgresBinaries());
export const mariadbInstalled = available(() => findMariadbBinaries());
