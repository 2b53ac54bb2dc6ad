import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MissingBinaryError, ServerStartError, tail } from './errors.js';
import { pickFreePort, releasePort } from './ports.js';
import { endProcess, type ServerProcess, signalGroup, spawnServer } from './process.js';
import { type EmergencyStoppable, register, unregister } from './registry.js';

/** Names an existing NATS server with JetStream to use instead of starting one. */
export const NATS_URL_VARIABLE = 'HIGHWATER_NATS_URL';

/** A NATS server with JetStream for one test run (started here, or named by `HIGHWATER_NATS_URL`). */
export interface ThrowawayNats {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** True for a server named by `HIGHWATER_NATS_URL`: not started, not stopped here. */
  readonly external: boolean;
  /** The server's JetStream directory and log; removed by `stop()`. Undefined for an external server. */
  readonly tempDir: string | undefined;
  readLog(): string;
  /** Kills the server and removes its directory; harmless to call twice. A no-op for an external server. */
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** Honour `HIGHWATER_NATS_URL` (default true). */
  readonly useEnv?: boolean;
  /** The `nats-server` binary (default: `HIGHWATER_NATS_SERVER`, else `nats-server` on PATH, else /usr/sbin/nats-server). */
  readonly binary?: string;
  readonly startTimeoutMs?: number;
}

/**
 * Starts a throwaway `nats-server -js` (Debian's 2.9.10 here) on a free 127.0.0.1 port with its JetStream store in a
 * fresh `highwater-nats-*` temporary directory, and resolves once it answers with its INFO line. The server is killed
 * and the directory removed by `stop()`, or when this process exits.
 *
 * The cluster tests use this one; a NATS sink branch adds its own helper beside it (to be merged into one).
 */
export async function startNats(options: StartNatsOptions = {}): Promise<ThrowawayNats> {
  const envUrl = options.useEnv === false ? undefined : process.env[NATS_URL_VARIABLE];
  if (envUrl !== undefined && envUrl !== '') {
    const port = Number(new URL(envUrl).port || 4222);
    return { url: envUrl, port, external: true, tempDir: undefined, readLog: () => '', stop: async () => undefined };
  }
  const binary = options.binary ?? process.env.HIGHWATER_NATS_SERVER ?? findNatsServer();
  const tempDir = mkdtempSync(join(tmpdir(), 'highwater-nats-'));
  const logFile = join(tempDir, 'nats.log');
  const server = new NatsProcess(tempDir, logFile);
  register(server);
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await pickFreePort();
      const proc = spawnServer(
        binary,
        ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(tempDir, 'js'), '--http_port', '0'],
        { cwd: tempDir, logFile, env: process.env },
      );
      server.proc = proc;
      server.port = port;
      if (await answers(port, proc, options.startTimeoutMs ?? 20_000)) return server.handle();
      await endProcess(proc, 'SIGKILL', 0);
      releasePort(port);
      const log = server.readLog();
      if (/address already in use/i.test(log) && attempt < 5) continue;
      throw new ServerStartError(`throwaway nats-server did not accept connections on port ${port}`, tail(log));
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
}

class NatsProcess implements EmergencyStoppable {
  proc: ServerProcess | undefined;
  port = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly tempDir: string,
    private readonly logFile: string,
  ) {}

  readLog(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  handle(): ThrowawayNats {
    return {
      url: `nats://127.0.0.1:${this.port}`,
      port: this.port,
      external: false,
      tempDir: this.tempDir,
      readLog: () => this.readLog(),
      stop: () => this.stop(),
    };
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        if (this.proc !== undefined) await endProcess(this.proc, 'SIGKILL', 0);
        rmSync(this.tempDir, { recursive: true, force: true });
      } finally {
        if (this.port > 0) releasePort(this.port);
        unregister(this);
      }
    })();
    return this.stopping;
  }

  emergencyStop(): void {
    if (this.proc !== undefined && !this.proc.hasExited()) signalGroup(this.proc.pid, 'SIGKILL');
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}

function findNatsServer(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new MissingBinaryError(
    'nats-server not found: install it (Debian: apt-get install nats-server) or set HIGHWATER_NATS_SERVER, or name a running server with HIGHWATER_NATS_URL',
  );
}

/** Polls until the server sends its `INFO {…}` greeting on `port`, the process dies, or the timeout passes. */
async function answers(port: number, proc: ServerProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !proc.hasExited()) {
    if (await greets(port)) return true;
    await sleep(20);
  }
  return false;
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('utf8').startsWith('INFO ')));
    socket.once('error', () => done(false));
  });
}
