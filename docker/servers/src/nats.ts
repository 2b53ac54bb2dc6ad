import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findNatsServer } from './binaries.js';
import { ManagedServer } from './managed.js';
import { probeNats } from './probe.js';
import { spawnServer } from './process.js';
import { makeTempDir, sweepOnce } from './tempdir.js';
import type { CommonStartOptions, ThrowawayServer } from './types.js';

/** Names an existing NATS server (JetStream enabled) to use instead of starting one. */
export const NATS_URL_VARIABLE = 'HIGHWATER_NATS_URL';

/**
 * A NATS server with JetStream for one test run: a {@link ThrowawayServer} without the database
 * fields. Its `url` is `nats://127.0.0.1:<port>`, or the value of `HIGHWATER_NATS_URL`.
 */
export interface ThrowawayNats
  extends Omit<ThrowawayServer, 'kind' | 'host' | 'user' | 'password' | 'database' | 'dataDir'> {
  readonly kind: 'nats';
  /** JetStream's store directory (inside `tempDir`); undefined for an external server. */
  readonly storeDir: string | undefined;
}

export interface StartNatsOptions extends Omit<CommonStartOptions, 'binDir'> {
  /** The `nats-server` binary. Default: `HIGHWATER_NATS_SERVER`, else `PATH` and `/usr/sbin`. */
  readonly binary?: string;
  /** Extra `nats-server` arguments, after the defaults. */
  readonly args?: readonly string[];
}

/**
 * A NATS server for one test run. With `HIGHWATER_NATS_URL` set (and `useEnv` not false) returns a
 * handle on that server. Otherwise starts `nats-server -js` on a free 127.0.0.1 port with its
 * JetStream store in a fresh `highwater-nats-*` temporary directory; resolves once it accepts
 * connections with JetStream on.
 */
export async function startNats(options: StartNatsOptions = {}): Promise<ThrowawayNats> {
  const envUrl = options.useEnv === false ? undefined : process.env[NATS_URL_VARIABLE];
  if (envUrl !== undefined && envUrl !== '') return externalNats(envUrl);

  const binary = findNatsServer(options.binary);
  await sweepOnce(options.tmpRoot);
  const tempDir = makeTempDir('nats', options.tmpRoot);
  const storeDir = join(tempDir, 'jetstream');
  const logFile = join(tempDir, 'nats-server.log');
  // A name no other server has: the readiness probe checks it, so a reused port cannot fool it.
  const serverName = `highwater-test-${process.pid}-${tempDir.slice(-6)}`;
  mkdirSync(storeDir);
  const server = new ManagedServer(
    {
      kind: 'nats',
      label: 'NATS',
      tempDir,
      logFile,
      spawn: (port) =>
        spawnServer(
          binary,
          ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', serverName, ...(options.args ?? [])],
          { cwd: tempDir, logFile, env: process.env },
        ),
      probeSocket: (port) => probeNats({ host: '127.0.0.1', port }, serverName),
      probeTcp: (port) => probeNats({ host: '127.0.0.1', port }, serverName),
      shutdownSignal: 'SIGTERM',
      discardSignal: 'SIGKILL',
      releaseResources: () => undefined,
    },
    options.startTimeoutMs ?? 30_000,
  );
  try {
    await server.start();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    kind: 'nats',
    external: false,
    get url() {
      return `nats://127.0.0.1:${server.port}`;
    },
    get port() {
      return server.port;
    },
    storeDir,
    tempDir,
    logFile,
    get pid() {
      return server.pid;
    },
    get running() {
      return server.running;
    },
    get timings() {
      return server.timings;
    },
    readLog: () => server.readLog(),
    stop: () => server.stop(),
    restart: () => server.restart(),
    kill: () => server.kill(),
  };
}

function externalNats(url: string): ThrowawayNats {
  const unsupported = (operation: string) =>
    Promise.reject(
      new Error(
        `${operation}() needs a throwaway NATS server, but this one comes from ${NATS_URL_VARIABLE}; ` +
          'check `external` and skip, or start one with { useEnv: false }',
      ),
    );
  let port = 4222;
  try {
    port = Number(new URL(url.split(',')[0]!.trim()).port || 4222);
  } catch {
    throw new Error(`${NATS_URL_VARIABLE} is not a NATS URL (expected nats://host:4222)`);
  }
  return {
    kind: 'nats',
    url,
    external: true,
    port,
    storeDir: undefined,
    tempDir: undefined,
    logFile: undefined,
    pid: undefined,
    running: true,
    timings: { initMs: 0, startMs: 0 },
    readLog: () => Promise.resolve(''),
    stop: () => Promise.resolve(),
    restart: () => unsupported('restart'),
    kill: () => unsupported('kill'),
  };
}
