import { chownSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findPostgresBinaries } from './binaries.js';
import { ServerStartError, tail } from './errors.js';
import { ExternalServer, parseServerUrl } from './external.js';
import { ManagedHandle } from './handle.js';
import { ManagedServer } from './managed.js';
import { probePostgres } from './probe.js';
import { assertReachable, CommandError, isRoot, lookupOsUser, type RunAs, run, spawnServer } from './process.js';
import { releasePostgresSharedMemory } from './shm.js';
import { makeTempDir, sweepOnce } from './tempdir.js';
import type { StartPostgresOptions, ThrowawayPostgres } from './types.js';

/** Names an existing Postgres server to use instead of starting one (it must have wal_level=logical). */
export const POSTGRES_URL_VARIABLE = 'HIGHWATER_POSTGRES_URL';

/** Settings every throwaway Postgres gets (before `options.settings`). */
export const POSTGRES_DEFAULT_SETTINGS: Readonly<Record<string, string | number | boolean>> = {
  listen_addresses: '127.0.0.1',
  wal_level: 'logical',
  max_replication_slots: 20,
  max_wal_senders: 20,
  // Throwaway data: no fsync (a process crash, i.e. kill(), still loses nothing committed).
  fsync: false,
};

const DATABASE = 'postgres';
/** Unix socket paths are limited to ~104 bytes (sun_path). */
const MAX_SOCKET_PATH = 100;

class ExternalPostgres extends ExternalServer implements ThrowawayPostgres {
  readonly kind = 'postgres';
  readonly socketDir = undefined;
}

class ManagedPostgres extends ManagedHandle implements ThrowawayPostgres {
  readonly kind = 'postgres';
  readonly socketDir: string;

  constructor(server: ManagedServer, info: ConstructorParameters<typeof ManagedHandle>[1]) {
    super(server, info);
    this.socketDir = info.tempDir;
  }
}

function settingArgs(settings: Readonly<Record<string, string | number | boolean>>): string[] {
  return Object.entries(settings).flatMap(([name, value]) => [
    '-c',
    `${name}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)}`,
  ]);
}

function childEnv(): NodeJS.ProcessEnv {
  // English messages (the port-collision check reads the log); no stray PG* variables steering the server.
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  for (const name of Object.keys(env)) if (name.startsWith('PG')) delete env[name];
  return env;
}

async function resolveRunAs(osUser: string | undefined): Promise<RunAs | undefined> {
  if (!isRoot()) return undefined;
  const name = osUser ?? 'postgres';
  const runAs = await lookupOsUser(name);
  if (runAs === undefined) {
    throw new Error(
      `Cannot start a throwaway Postgres as root: initdb and postgres refuse to run as root, and there is no OS user ` +
        `'${name}' to run them as. Create one (\`useradd --system ${name}\`) or pass { osUser }.`,
    );
  }
  return runAs;
}

/**
 * A Postgres for one test run. With `HIGHWATER_POSTGRES_URL` set (and `useEnv` not false) returns a handle on that
 * server. Otherwise runs `initdb` into a fresh `highwater-pg-*` temporary directory and starts `postgres` with
 * wal_level=logical on a free 127.0.0.1 port, its unix socket in the same directory, trusting local connections
 * (scram-sha-256 over TCP when `password` is given), and waits until it accepts connections. When this process runs
 * as root, initdb and postgres run as the `postgres` OS user (`osUser`).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const envUrl = options.useEnv === false ? undefined : process.env[POSTGRES_URL_VARIABLE];
  if (envUrl !== undefined && envUrl !== '') {
    const parsed = parseServerUrl(envUrl, POSTGRES_URL_VARIABLE, {
      port: 5432,
      user: 'postgres',
      database: (user) => user,
    });
    return new ExternalPostgres(envUrl, parsed, POSTGRES_URL_VARIABLE, 'Postgres');
  }

  const bins = findPostgresBinaries(options.binDir);
  const runAs = await resolveRunAs(options.osUser);
  await sweepOnce(options.tmpRoot);

  const user = options.user ?? 'postgres';
  const password = options.password ?? '';
  const tempDir = makeTempDir('postgres', options.tmpRoot);
  const dataDir = join(tempDir, 'data');
  const logFile = join(tempDir, 'postgres.log');
  const env = childEnv();
  const settings = { ...POSTGRES_DEFAULT_SETTINGS, ...options.settings };

  const server = new ManagedServer(
    {
      kind: 'postgres',
      label: 'Postgres',
      tempDir,
      logFile,
      spawn: (port) =>
        spawnServer(bins.postgres, ['-D', dataDir, '-p', String(port), '-k', tempDir, ...settingArgs(settings)], {
          cwd: tempDir,
          logFile,
          env,
          ...(runAs !== undefined ? { runAs } : {}),
        }),
      probeSocket: (port) => probePostgres({ path: join(tempDir, `.s.PGSQL.${port}`) }, user, DATABASE),
      probeTcp: (port) => probePostgres({ host: '127.0.0.1', port }, user, DATABASE),
      shutdownSignal: 'SIGINT',
      discardSignal: 'SIGQUIT',
      releaseResources: () => releasePostgresSharedMemory(dataDir),
    },
    options.startTimeoutMs ?? 30_000,
  );

  try {
    if (join(tempDir, '.s.PGSQL.65535.lock').length > MAX_SOCKET_PATH) {
      throw new Error(`the temporary directory ${tempDir} is too long for a unix socket path; pass a shorter tmpRoot`);
    }
    if (runAs !== undefined) {
      chownSync(tempDir, runAs.uid, runAs.gid);
      assertReachable(tempDir, runAs);
    }
    const initStarted = performance.now();
    await initdb(bins.initdb, { dataDir, tempDir, user, password, locale: options.locale ?? 'C', env, runAs });
    server.initMs = performance.now() - initStarted;
    await server.start();
  } catch (error) {
    await server.stop();
    throw error;
  }

  return new ManagedPostgres(server, {
    scheme: 'postgres',
    user,
    password,
    database: DATABASE,
    dataDir,
    tempDir,
    logFile,
  });
}

async function initdb(
  command: string,
  options: {
    dataDir: string;
    tempDir: string;
    user: string;
    password: string;
    locale: string;
    env: NodeJS.ProcessEnv;
    runAs: RunAs | undefined;
  },
): Promise<void> {
  const args = [
    '-D',
    options.dataDir,
    '-U',
    options.user,
    '-E',
    'UTF8',
    '--locale',
    options.locale,
    '--no-sync',
    '--auth-local=trust',
    `--auth-host=${options.password === '' ? 'trust' : 'scram-sha-256'}`,
  ];
  const pwfile = join(options.tempDir, 'pwfile');
  if (options.password !== '') {
    writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
    if (options.runAs !== undefined) chownSync(pwfile, options.runAs.uid, options.runAs.gid);
    args.push(`--pwfile=${pwfile}`);
  }
  try {
    await run(command, args, {
      cwd: options.tempDir,
      env: options.env,
      ...(options.runAs !== undefined ? { runAs: options.runAs } : {}),
    });
  } catch (error) {
    const output = error instanceof CommandError ? `${error.stdout}${error.stderr}` : '';
    throw new ServerStartError(`initdb failed: ${(error as Error).message}`, tail(output));
  } finally {
    rmSync(pwfile, { force: true });
  }
}
