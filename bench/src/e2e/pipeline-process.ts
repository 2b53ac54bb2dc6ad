import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Measurement } from '../core/measure.js';
import { sleep } from '../db/common.js';
import type { ReadChildArgs, ReadChildResult } from './read-child.js';

/**
 * The built `highwater` command (`npm run bench` builds every package first), or another build's
 * from `BENCH_HIGHWATER_BIN` (for an A/B run against another checkout with the same limits).
 */
const BIN =
  process.env.BENCH_HIGHWATER_BIN ??
  fileURLToPath(new URL('../../../packages/cli/dist/bin/highwater.js', import.meta.url));

/** The kernel's peak resident set of a running process (`VmHWM`), in KiB; 0 once it is gone. */
function peakRssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a running process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, counted after the command name (which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Linux's USER_HZ, the unit of /proc CPU times (100 on every architecture Node runs on). */
const CLOCK_TICKS = 100;

/** `events written` from the pipeline's metrics endpoint, or null while it does not answer. */
async function eventsWritten(metricsPort: number): Promise<number | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return null;
    const match = /^highwater_events_written_total\{[^}]*\} (\S+)$/m.exec(await response.text());
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}

export interface PipelineRun {
  /** The pipeline file's text (YAML). */
  readonly yaml: string;
  /** Where to write it. */
  readonly file: string;
  /** Rows or events the run moves (the measurement's count). */
  readonly count: number;
  /**
   * Unset: the pipeline ends by itself (`startup: snapshot`). Set: it streams; the run is over when
   * the metrics endpoint on `metricsPort` reports `count` events written, provided `settled()` (not
   * timed) then confirms the target; then the process gets SIGTERM.
   */
  readonly stream?: { readonly metricsPort: number; readonly settled: () => Promise<boolean> };
}

/**
 * Runs `highwater run <file>` as a user would, in its own process, and times it from spawning to the
 * end (snapshot) or to the moment everything is written (stream). Peak RSS is the process's `VmHWM`,
 * read every 100 ms (it only grows, so the last reading before the end is the peak); its CPU time
 * likewise (user + system from /proc, so up to the last 100 ms before the exit are not counted).
 */
export async function runPipeline(run: PipelineRun): Promise<Measurement> {
  await writeFile(run.file, run.yaml);
  const started = performance.now();
  // BENCH_HIGHWATER_NODE_ARGS: extra Node flags for the command, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_HIGHWATER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'run', run.file, '--log-format=json', '--progress=off'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8_000);
  });
  let ended = false;
  let endedAt = 0;
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      ended = true;
      endedAt = performance.now();
      resolve(code);
    });
  });
  const pid = child.pid as number;
  let peak = 0;
  let done = 0;
  const deadline = started + 600_000;
  let cpu = 0;
  while (!ended) {
    peak = Math.max(peak, peakRssKiB(pid));
    cpu = Math.max(cpu, cpuSeconds(pid));
    if (run.stream !== undefined && done === 0) {
      const n = await eventsWritten(run.stream.metricsPort);
      // The metrics count a batch once the sink has committed it, so everything was written by the
      // time they said so; settled() only confirms it (it reads the whole target, which can take
      // longer than the run for a file) and is not timed.
      const seenAt = performance.now();
      if (n !== null && n >= run.count && (await run.stream.settled())) {
        done = seenAt;
        child.kill('SIGTERM');
      }
    }
    if (performance.now() > deadline) child.kill('SIGKILL');
    await sleep(100);
  }
  const code = await exited;
  if (run.stream === undefined) done = endedAt;
  if (code !== 0 || done === 0) {
    throw new Error(`highwater run ${run.file} ended with ${code} before it was done:\n${log}`);
  }
  return { seconds: (done - started) / 1000, count: run.count, extra: { maxRssKiB: peak, cpuSeconds: cpu } };
}

/** The child that reads what a Postgres → file run reads, writing nothing (`read-child.ts`). */
const READ_CHILD = fileURLToPath(new URL('./read-child.js', import.meta.url));

/**
 * The Postgres → file benchmarks' second limit: the same read as `highwater run`'s, with no sink, in
 * a fresh Node process timed from spawning to exit like the Highwater side. Throws unless it counted
 * `expected` change events.
 */
export async function runReadChild(args: ReadChildArgs, expected: number): Promise<Measurement> {
  const started = performance.now();
  const child = spawn(process.execPath, [READ_CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8_000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`read-child ended with ${code}:\n${err}`);
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as ReadChildResult;
  if (result.events !== expected)
    throw new Error(`read-child counted ${result.events} change events, expected ${expected}`);
  return { seconds, count: expected, extra: {} };
}
