import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortInUseError, ServerStartError, tail } from './errors.js';
import type { ProbeResult } from './probe.js';
import { endProcess, type ExitStatus, type ServerProcess, signalGroup } from './process.js';
import { pickFreePort, releasePort } from './ports.js';
import { type EmergencyStoppable, register, unregister } from './registry.js';
import { removeDir, writeOwner } from './tempdir.js';
import type { ServerKind, StartTimings } from './types.js';

/** What a managed server needs from a concrete database. */
export interface ServerSpec {
  readonly kind: ServerKind;
  /** For messages: `Postgres`, `MariaDB`. */
  readonly label: string;
  readonly tempDir: string;
  readonly logFile: string;
  /** Spawns the server on `port`; `firstStart` is true until the data directory has been started once. */
  spawn(port: number, firstStart: boolean): ServerProcess;
  /** Readiness over the server's own unix socket (proves the answer comes from our process, not a port thief). */
  probeSocket(port: number): Promise<ProbeResult>;
  /** Readiness over TCP, checked once the socket answers. */
  probeTcp(port: number): Promise<ProbeResult>;
  /** Signal for a clean shutdown before a restart (Postgres: SIGINT, fast shutdown; MariaDB: SIGTERM). */
  readonly shutdownSignal: NodeJS.Signals;
  /** Signal used by stop(), whose data is discarded anyway (Postgres: SIGQUIT, immediate; MariaDB: SIGKILL). */
  readonly discardSignal: NodeJS.Signals;
  /** Synchronously releases what a dead server may leave outside its directory (Postgres: a SysV segment). */
  releaseResources(): void;
}

const MAX_PORT_ATTEMPTS = 8;
const SHUTDOWN_GRACE_MS = 30_000;
const DISCARD_GRACE_MS = 5_000;

function describeExit(status: ExitStatus): string {
  if (status.error !== undefined) return `could not be spawned: ${status.error.message}`;
  if (status.signal !== null) return `was killed by ${status.signal}`;
  return `exited with code ${status.code}`;
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readLogFrom(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * The life cycle shared by every throwaway server: start on a free port (retrying when the port was taken), wait
 * until it accepts connections, restart, crash, stop and clean up — also from exit and signal handlers.
 * Operations are serialised; stop() is idempotent.
 */
export class ManagedServer implements EmergencyStoppable {
  port = 0;
  initMs = 0;
  startMs = 0;
  private proc: ServerProcess | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private startedOnce = false;

  constructor(
    private readonly spec: ServerSpec,
    private readonly startTimeoutMs: number,
  ) {
    register(this);
  }

  get pid(): number | undefined {
    return this.proc !== undefined && !this.proc.hasExited() ? this.proc.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  get timings(): StartTimings {
    return { initMs: this.initMs, startMs: this.startMs };
  }

  readLog(): Promise<string> {
    return readFile(this.spec.logFile, 'utf8').catch(() => '');
  }

  /** First start: picks a free port, retrying on another when the server finds it taken. */
  start(): Promise<void> {
    return this.serialise(async () => {
      for (let attempt = 1; ; attempt++) {
        const port = await pickFreePort();
        try {
          await this.launch(port);
          return;
        } catch (error) {
          releasePort(port);
          if (error instanceof PortInUseError && attempt < MAX_PORT_ATTEMPTS) continue;
          throw error;
        }
      }
    });
  }

  restart(): Promise<void> {
    return this.serialise(async () => {
      this.assertNotStopped('restart');
      if (this.proc !== undefined) await endProcess(this.proc, this.spec.shutdownSignal, SHUTDOWN_GRACE_MS);
      this.proc = undefined;
      await this.launch(this.port);
    });
  }

  kill(): Promise<void> {
    return this.serialise(async () => {
      this.assertNotStopped('kill');
      if (this.proc !== undefined) await endProcess(this.proc, 'SIGKILL', 0);
    });
  }

  stop(): Promise<void> {
    if (this.stopping === undefined) {
      this.stopping = this.queue
        .catch(() => undefined)
        .then(async () => {
          try {
            if (this.proc !== undefined) await endProcess(this.proc, this.spec.discardSignal, DISCARD_GRACE_MS);
            this.spec.releaseResources();
            removeDir(this.spec.tempDir);
          } finally {
            this.proc = undefined;
            if (this.port > 0) releasePort(this.port);
            unregister(this);
          }
        });
    }
    return this.stopping;
  }

  emergencyStop(): void {
    if (this.proc !== undefined && !this.proc.hasExited()) signalGroup(this.proc.pid, 'SIGKILL');
    this.spec.releaseResources();
    removeDir(this.spec.tempDir);
  }

  private assertNotStopped(operation: string): void {
    if (this.stopping !== undefined) {
      throw new Error(`${operation}(): this throwaway ${this.spec.label} server has been stopped`);
    }
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.catch(() => undefined).then(operation);
    this.queue = result;
    return result;
  }

  /** Spawns the server on `port` and waits until it accepts connections on its socket and on TCP. */
  private async launch(port: number): Promise<void> {
    const { spec } = this;
    const logOffset = logSize(spec.logFile);
    const started = performance.now();
    const proc = spec.spawn(port, !this.startedOnce);
    this.proc = proc;
    this.port = port;
    writeOwner(spec.tempDir, {
      kind: spec.kind,
      ownerPid: process.pid,
      serverPid: proc.pid,
      createdAt: new Date().toISOString(),
    });
    const deadline = Date.now() + this.startTimeoutMs;
    let last: ProbeResult = { ready: false, reason: 'not probed yet' };
    proc.child.ref();
    try {
      for (;;) {
        if (proc.hasExited()) {
          const status = await proc.exited;
          this.proc = undefined;
          const log = readLogFrom(spec.logFile, logOffset);
          const message = `throwaway ${spec.label} ${describeExit(status)} before accepting connections on port ${port}`;
          if (/address already in use/i.test(log)) throw new PortInUseError(message, tail(log));
          throw new ServerStartError(message, tail(log));
        }
        last = await spec.probeSocket(port);
        if (last.ready) last = await spec.probeTcp(port);
        if (last.ready && !proc.hasExited()) {
          this.startMs = performance.now() - started;
          this.startedOnce = true;
          return;
        }
        if (Date.now() > deadline) {
          await endProcess(proc, 'SIGKILL', 0);
          this.proc = undefined;
          const log = readLogFrom(spec.logFile, logOffset);
          throw new ServerStartError(
            `throwaway ${spec.label} did not accept connections on port ${port} within ${this.startTimeoutMs} ms ` +
              `(last probe: ${last.ready ? 'ready' : last.reason})`,
            tail(log),
          );
        }
        await Promise.race([proc.exited, sleep(10)]);
      }
    } finally {
      proc.child.unref();
    }
  }
}
