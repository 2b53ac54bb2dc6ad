import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findMariadbBinaries } from './binaries.js';
import { ServerStartError, tail } from './errors.js';
import { ExternalServer, parseServerUrl } from './external.js';
import { ManagedHandle } from './handle.js';
import { ManagedServer } from './managed.js';
import { probeMysql } from './probe.js';
import { CommandError, isRoot, run, spawnServer } from './process.js';
import { makeTempDir, sweepOnce } from './tempdir.js';
import type { StartMariadbOptions, ThrowawayMariadb } from './types.js';

/** Names an existing MySQL or MariaDB server to use instead of starting one (binlog on, ROW, FULL images). */
export const MYSQL_URL_VARIABLE = 'HIGHWATER_MYSQL_URL';

/** Server arguments every throwaway MariaDB gets, after the per-server paths and before `options.args`. */
export const MARIADB_DEFAULT_ARGS: readonly string[] = [
  '--bind-address=127.0.0.1',
  '--log-bin=binlog',
  '--binlog-format=ROW',
  '--binlog-row-image=FULL',
  '--server-id=1',
  // What Debian's packaged config sets (--no-defaults skips it), and what MariaDB 11.6+ defaults to.
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
  // Throwaway data: write the redo log to the OS at commit but do not fsync (kill() still loses nothing committed).
  '--innodb-flush-log-at-trx-commit=2',
];

class ExternalMariadb extends ExternalServer implements ThrowawayMariadb {
  readonly kind = 'mariadb';
  readonly socket = undefined;
}

class ManagedMariadb extends ManagedHandle implements ThrowawayMariadb {
  readonly kind = 'mariadb';
  readonly socket: string;

  constructor(server: ManagedServer, info: ConstructorParameters<typeof ManagedHandle>[1], socket: string) {
    super(server, info);
    this.socket = socket;
  }
}

function childEnv(): NodeJS.ProcessEnv {
  // English messages (the port-collision check reads the log); no MYSQL_* variables steering the server.
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  for (const name of Object.keys(env)) if (name.startsWith('MYSQL_') || name.startsWith('MARIADB_')) delete env[name];
  return env;
}

/**
 * A MariaDB for one test run. With `HIGHWATER_MYSQL_URL` set (and `useEnv` not false) returns a handle on that
 * server. Otherwise runs `mariadb-install-db` into a fresh `highwater-mariadb-*` temporary directory and starts
 * `mariadbd` with the binlog on (ROW, FULL row images, server id 1) on a free 127.0.0.1 port, its unix socket in the
 * same directory; `root` has an empty password, grants are enforced, and database `highwater` (`options.database`)
 * exists. Resolves once the server accepts connections.
 */
export async function startMariadb(options: StartMariadbOptions = {}): Promise<ThrowawayMariadb> {
  const envUrl = options.useEnv === false ? undefined : process.env[MYSQL_URL_VARIABLE];
  if (envUrl !== undefined && envUrl !== '') {
    const parsed = parseServerUrl(envUrl, MYSQL_URL_VARIABLE, { port: 3306, user: 'root', database: () => '' });
    return new ExternalMariadb(envUrl, parsed, MYSQL_URL_VARIABLE, 'MariaDB');
  }

  const database = options.database ?? 'highwater';
  if (!/^\w+$/.test(database)) throw new Error(`database name ${JSON.stringify(database)}: use letters, digits and _`);
  const bins = findMariadbBinaries(options.binDir);
  await sweepOnce(options.tmpRoot);

  const tempDir = makeTempDir('mariadb', options.tmpRoot);
  const dataDir = join(tempDir, 'data');
  const socket = join(tempDir, 'mysqld.sock');
  const logFile = join(tempDir, 'mariadb.log');
  const initFile = join(tempDir, 'init.sql');
  // Its own tmpdir: the server's internal temporary tables otherwise land in /tmp, shared with every other server.
  const serverTmp = join(tempDir, 'tmp');
  const env = childEnv();
  // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
  const asRoot = isRoot() ? ['--user=root'] : [];

  const server = new ManagedServer(
    {
      kind: 'mariadb',
      label: 'MariaDB',
      tempDir,
      logFile,
      spawn: (port, firstStart) =>
        spawnServer(
          bins.mariadbd,
          [
            '--no-defaults',
            `--datadir=${dataDir}`,
            `--socket=${socket}`,
            `--port=${port}`,
            `--pid-file=${join(tempDir, 'mariadbd.pid')}`,
            `--log-error=${logFile}`,
            `--tmpdir=${serverTmp}`,
            ...asRoot,
            ...(firstStart ? [`--init-file=${initFile}`] : []),
            ...MARIADB_DEFAULT_ARGS,
            ...(options.args ?? []),
          ],
          { cwd: tempDir, logFile, env },
        ),
      probeSocket: () => probeMysql({ path: socket }),
      probeTcp: (port) => probeMysql({ host: '127.0.0.1', port }),
      shutdownSignal: 'SIGTERM',
      discardSignal: 'SIGKILL',
      releaseResources: () => undefined,
    },
    options.startTimeoutMs ?? 30_000,
  );

  try {
    if (socket.length > 100) {
      throw new Error(`the temporary directory ${tempDir} is too long for a unix socket path; pass a shorter tmpRoot`);
    }
    mkdirSync(serverTmp);
    writeFileSync(initFile, `CREATE DATABASE IF NOT EXISTS \`${database}\`;\n`);
    const initStarted = performance.now();
    await installDb(bins.installDb, { dataDir, tempDir, serverTmp, env, asRoot });
    server.initMs = performance.now() - initStarted;
    await server.start();
  } catch (error) {
    await server.stop();
    throw error;
  }

  return new ManagedMariadb(
    server,
    { scheme: 'mysql', user: 'root', password: '', database, dataDir, tempDir, logFile },
    socket,
  );
}

async function installDb(
  command: string,
  options: { dataDir: string; tempDir: string; serverTmp: string; env: NodeJS.ProcessEnv; asRoot: readonly string[] },
): Promise<void> {
  try {
    await run(
      command,
      [
        '--no-defaults',
        `--datadir=${options.dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
        ...options.asRoot,
        `--tmpdir=${options.serverTmp}`, // passed on to the bootstrapping mariadbd
      ],
      { cwd: options.tempDir, env: options.env },
    );
  } catch (error) {
    const output = error instanceof CommandError ? `${error.stdout}${error.stderr}` : '';
    throw new ServerStartError(`mariadb-install-db failed: ${(error as Error).message}`, tail(output));
  }
}
