import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { metricValue, parseExposition, type Sample } from '../../demo/metrics.js';

/** The built command: the tests use it as a user would (`npx tsc -b` first; `npm test` does). */
export const BIN = fileURLToPath(new URL('../../dist/bin/highwater.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `highwater <args>` to its end. */
export function highwater(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`highwater ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `highwater run`, its output kept, its metrics endpoint at hand. */
export class RunningPipeline {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';

  constructor(
    file: string,
    readonly metricsPort: number,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(process.execPath, [BIN, 'run', file, '--log-format=json', '--progress=off'], {
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The metrics, or null while the endpoint does not answer. */
  async metrics(): Promise<Sample[] | null> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, {
        signal: AbortSignal.timeout(2_000),
      });
      return response.ok ? parseExposition(await response.text()) : null;
    } catch {
      return null;
    }
  }

  /** `snapshot`, `stream`, … as `highwater_pipeline_state` says; null while the endpoint does not answer. */
  async state(): Promise<{ state: string; batches: number } | null> {
    const samples = await this.metrics();
    if (samples === null) return null;
    const current = samples.find((s) => s.name === 'highwater_pipeline_state' && s.value === 1);
    return {
      state: current?.labels.state ?? 'unknown',
      batches: metricValue(samples, 'highwater_batches_written_total') ?? 0,
    };
  }

  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  /** The last lines of output, for a failure message. */
  tail(lines = 30): string {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms; fails after `timeoutMs` or when `pipeline` exits. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; pipeline?: RunningPipeline } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (options.pipeline !== undefined && !options.pipeline.running) {
      throw new Error(`highwater run exited while waiting for ${what}:\n${options.pipeline.tail()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${options.pipeline ? `:\n${options.pipeline.tail()}` : ''}`);
    }
    await sleep(50);
  }
}

/**
 * Writes a pipeline file at `path`: `name`, then the `source:` and `sink:` sections from their
 * indented lines (e.g. `'  adapter: postgres'`), then any top-level lines. Returns `path`.
 */
export async function writePipeline(
  path: string,
  parts: { name: string; source: readonly string[]; sink: readonly string[]; extra?: readonly string[] },
): Promise<string> {
  await writeFile(
    path,
    [`name: ${parts.name}`, 'source:', ...parts.source, 'sink:', ...parts.sink, ...(parts.extra ?? []), ''].join('\n'),
  );
  return path;
}
