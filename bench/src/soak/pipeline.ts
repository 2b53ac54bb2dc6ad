import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The built `highwater` command (`npm run soak` builds first). */
export const BIN = fileURLToPath(new URL('../../../packages/cli/dist/bin/highwater.js', import.meta.url));

/**
 * One `highwater run` kept alive: started again after every SIGKILL the soak sends and after any exit
 * of its own (which is recorded: a streaming pipeline should not end while faults are retriable).
 */
export class SupervisedPipeline {
  readonly killsInSnapshot: number[] = [];
  readonly killsInStream: number[] = [];
  /** Kills before the metrics endpoint answered (starting up, or reconnecting). */
  readonly killsStarting: number[] = [];
  /** Exits the soak did not cause: code and the log's tail. */
  readonly ownExits: string[] = [];
  starts = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private killing = false;
  private stopping = false;
  private log = '';

  constructor(
    readonly name: string,
    readonly file: string,
    readonly metricsPort: number,
    private readonly started: number,
  ) {}

  static async create(
    name: string,
    file: string,
    yaml: string,
    metricsPort: number,
    started: number,
  ): Promise<SupervisedPipeline> {
    await writeFile(file, yaml);
    return new SupervisedPipeline(name, file, metricsPort, started);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process unless one runs (a kill's restart and an own exit's restart may both ask). */
  start(): void {
    if (this.running || this.stopping) return;
    this.starts++;
    const child = spawn(process.execPath, [BIN, 'run', this.file, '--log-format=json', '--progress=off'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    appendFileSync(`${this.file}.log`, `--- start ${this.starts} at ${this.elapsed()} s\n`);
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
      appendFileSync(`${this.file}.log`, d);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        if (!this.killing && !this.stopping) {
          this.ownExits.push(`exit ${code ?? signal} at ${this.elapsed()} s:\n${this.tail(4)}`);
          setTimeout(() => this.start(), 1_000);
        }
        resolve();
      }),
    );
  }

  /** `snapshot`, `stream`, … from `highwater_pipeline_state`; null while the endpoint does not answer. */
  async state(): Promise<string | null> {
    const text = await this.metrics();
    if (text === null) return null;
    const match = /^highwater_pipeline_state\{[^}]*state="([^"]+)"[^}]*\} 1$/m.exec(text);
    return match?.[1] ?? 'unknown';
  }

  async metrics(): Promise<string | null> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, {
        signal: AbortSignal.timeout(2_000),
      });
      return response.ok ? await response.text() : null;
    } catch {
      return null;
    }
  }

  /** SIGKILL now, then start again after `restartAfterMs`. Returns the state it was killed in. */
  async sigkill(restartAfterMs: number): Promise<string> {
    if (this.killing) return 'being killed already';
    this.killing = true;
    const state = (await this.state()) ?? 'starting';
    if (!this.running) {
      this.killing = false;
      return 'not running';
    }
    this.child?.kill('SIGKILL');
    await this.exited;
    (state === 'snapshot' ? this.killsInSnapshot : state === 'stream' ? this.killsInStream : this.killsStarting).push(
      this.elapsed(),
    );
    await new Promise((resolve) => setTimeout(resolve, restartAfterMs));
    this.killing = false;
    this.start();
    return state;
  }

  /** SIGTERM and wait for the end (a clean stop stores nothing new but ends the slot's session). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.running) this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }

  tail(lines = 30): string {
    return this.log.trimEnd().split('\n').slice(-lines).join('\n');
  }

  private elapsed(): number {
    return Math.round((performance.now() - this.started) / 100) / 10;
  }
}

/** Runs `highwater verify <file> --json`; exit 0 means equal. */
export function verify(file: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'verify', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
