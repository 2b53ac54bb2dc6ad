import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  type ChunkRange,
  createSource,
  type JsonValue,
  type SourceAdapter,
  type TableId,
  type TableSchema,
} from '@highwater/core';
import { collectGarbage, type Measurement, median, type RunPlan } from '../core/measure.js';
import type { DbReport } from './report.js';
import type { RssChildArgs, RssChildResult } from './rss-child.js';

/** Sizes and run counts of the database benchmarks, from flags and environment variables. */
export interface DbSizes {
  /** Rows of the table the snapshot throughput benchmark reads. */
  readonly snapshotRows: number;
  /** Row changes written before the streaming benchmark and read from its start offset. */
  readonly streamChanges: number;
  /** Row changes per transaction in the streaming workload. */
  readonly streamTxSize: number;
  /** Table sizes of the peak-RSS runs (each in its own child process). */
  readonly rssRows: readonly number[];
  /** Writes per second of the latency benchmark's writer. */
  readonly latencyRate: number;
  /** Seconds each latency phase writes (the first second is warm-up, left out of the figures). */
  readonly latencySeconds: number;
  /** Phases of each side in the latency benchmark. */
  readonly latencyRuns: number;
  /** Warm-ups and measured runs of each side in the throughput benchmarks. */
  readonly plan: RunPlan;
}

function envNumber(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < min) throw new Error(`${name}=${raw}: expected a number ≥ ${min}`);
  return n;
}

function envList(name: string, fallback: readonly number[]): readonly number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    const n = Number(part.trim().replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new Error(`${name}=${raw}: expected a comma-separated list of row counts`);
    return n;
  });
}

/**
 * The sizes: defaults (or `--quick` ones), each overridable by an environment variable:
 * `BENCH_SNAPSHOT_ROWS`, `BENCH_STREAM_CHANGES`, `BENCH_STREAM_TX_SIZE`, `BENCH_RSS_ROWS` (a list, e.g.
 * `1000000,5000000`), `BENCH_LATENCY_RATE`, `BENCH_LATENCY_SECONDS`, `BENCH_LATENCY_RUNS`, `BENCH_RUNS`,
 * `BENCH_WARMUPS`.
 */
export function dbSizes(quick: boolean, rows?: number, changes?: number): DbSizes {
  return {
    snapshotRows: rows ?? envNumber('BENCH_SNAPSHOT_ROWS', quick ? 100_000 : 1_000_000),
    streamChanges: changes ?? envNumber('BENCH_STREAM_CHANGES', quick ? 40_000 : 400_000),
    streamTxSize: envNumber('BENCH_STREAM_TX_SIZE', 4),
    rssRows: envList('BENCH_RSS_ROWS', quick ? [100_000, 300_000] : [1_000_000, 5_000_000]),
    latencyRate: envNumber('BENCH_LATENCY_RATE', 1000),
    latencySeconds: envNumber('BENCH_LATENCY_SECONDS', quick ? 3 : 6),
    latencyRuns: envNumber('BENCH_LATENCY_RUNS', quick ? 1 : 2),
    plan: { warmups: envNumber('BENCH_WARMUPS', 1, 0), runs: envNumber('BENCH_RUNS', quick ? 1 : 3) },
  };
}

/** One side of a comparison: a name and one timed run. */
export interface Side {
  readonly name: string;
  readonly run: () => Promise<Measurement>;
}

/**
 * Runs every side `plan.warmups` times unmeasured, then `plan.runs` times measured, interleaved and
 * rotated (A B C, B C A, C A B, …) so drift in machine speed and the other sessions' load hits all
 * sides alike; a full GC before every run.
 */
export async function interleave(plan: RunPlan, sides: readonly Side[]): Promise<Map<string, Measurement[]>> {
  const out = new Map<string, Measurement[]>(sides.map((s) => [s.name, []]));
  for (let i = 0; i < plan.warmups; i++) {
    for (const side of sides) {
      collectGarbage();
      progress(`  warm-up: ${side.name}`);
      await side.run();
    }
  }
  for (let i = 0; i < plan.runs; i++) {
    for (let j = 0; j < sides.length; j++) {
      const side = sides[(i + j) % sides.length] as Side;
      collectGarbage();
      const m = await side.run();
      progress(`  run ${i + 1}: ${side.name}: ${rate(m.count / m.seconds)}/s (${m.seconds.toFixed(2)} s)`);
      out.get(side.name)?.push(m);
    }
  }
  return out;
}

export function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function rate(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

/** Runs a command with stdout to /dev/null (as `cmd > /dev/null`); resolves with its wall time in seconds. */
export async function timeCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const devNull = openSync('/dev/null', 'w');
  try {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', devNull, 'pipe'], env });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
      });
    });
    return (performance.now() - started) / 1000;
  } finally {
    closeSync(devNull);
  }
}

/** Runs a command and returns its stdout. */
export async function commandOutput(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** Runs a compiled script of this package (`dist/db/<name>.js`) in a child Node process; resolves with its last stdout line, parsed as JSON. */
export async function runChild<T>(script: string, arg: unknown): Promise<T> {
  const path = fileURLToPath(new URL(`./${script}.js`, import.meta.url));
  const output = await commandOutputNode(path, JSON.stringify(arg));
  const last = output.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

function commandOutputNode(path: string, arg: string): Promise<string> {
  return commandOutput(process.execPath, [path, arg]);
}

/** Microseconds since the epoch, with sub-millisecond resolution (the same clock as the database server's on this machine). */
export function nowMicros(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** Percentile (nearest rank) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The 1-minute load average now. */
/** Median time to the first change of one side's runs, as whole ms (runs record it as `extra.firstMs`). */
export function medianFirstMs(runs: ReadonlyMap<string, readonly Measurement[]>, side: string): string {
  const v = (runs.get(side) ?? []).map((m) => m.extra.firstMs ?? Number.NaN).sort((a, b) => a - b);
  return percentile(v, 50).toFixed(0);
}

/**
 * The stream benchmarks' write mix in words: `transactions` of `tx` rows each,
 * each with `h` inserts, and every one after the first with `u` updates and `h - u` deletes.
 */
export function describeWriteMix(expected: number, transactions: number, h: number, u: number, tx: number): string {
  return (
    `${expected.toLocaleString('en-US')} row changes (${((transactions * h) / 1000).toFixed(0)} k inserts, ` +
    `${(((transactions - 1) * u) / 1000).toFixed(0)} k updates, ${(((transactions - 1) * (h - u)) / 1000).toFixed(0)} k deletes; ` +
    `${transactions.toLocaleString('en-US')} transactions of ${tx})`
  );
}

export function load(): number {
  return loadavg()[0] as number;
}

export function medianOf(values: readonly number[]): number {
  return median(values);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A unique replica server id for a binlog connection (they must differ among connected replicas). */
let nextServerId = 0x42450000 + Math.floor(Math.random() * 0x8000);
export function serverId(): number {
  return nextServerId++;
}

/** Rejects when `promise` has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The snapshot's reads without the core: `parallelism` chunk readers of the adapter (each its own
 * connection) reading ranges of `chunkSize` ids of a table with dense ids 1..`rows` — the ranges the
 * core reads there with its defaults — and counting rows. No watermarks, no buffering, no events.
 */
export async function adapterChunkReads(
  adapter: SourceAdapter<unknown>,
  id: TableId,
  rows: number,
  chunkSize = 8096,
  parallelism = 4,
): Promise<Measurement> {
  const introspector = await adapter.createIntrospector();
  let schema: TableSchema;
  try {
    const [described] = await introspector.describeTables([id]);
    if (described === undefined) throw new Error(`${id.name}: not found`);
    schema = described;
  } finally {
    await introspector.close();
  }
  const ranges: ChunkRange[] = [];
  const count = Math.ceil(rows / chunkSize);
  for (let k = 0; k < count; k++) {
    ranges.push({
      start: k === 0 ? null : [1 + k * chunkSize],
      end: k === count - 1 ? null : [1 + (k + 1) * chunkSize],
    });
  }
  const started = performance.now();
  let next = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      const reader = await adapter.createChunkReader();
      try {
        for (let i = next++; i < ranges.length; i = next++) {
          for await (const batch of reader.readChunk(schema, ranges[i] as ChunkRange)) n += batch.length;
        }
      } finally {
        await reader.close();
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, count: n, extra: {} };
}

/** Highwater from `offset` (serialised) until `expected` change events were handed out; timed from connecting. */
export async function highwaterStream<O>(
  adapter: SourceAdapter<O>,
  table: string,
  offset: JsonValue,
  expected: number,
): Promise<Measurement> {
  const started = performance.now();
  const source = createSource({
    adapter,
    tables: { include: [table] },
    startup: { mode: 'offset', offset },
    heartbeatIntervalMs: 0,
  });
  let n = 0;
  let first = 0;
  const run = async () => {
    for await (const batch of source) {
      for (const e of batch.events) {
        if (e.kind !== 'change') continue;
        if (n === 0) first = performance.now();
        n++;
      }
      if (n >= expected) break;
    }
  };
  try {
    await within(run(), 120_000, 'Highwater stream');
  } finally {
    await source.close();
  }
  return { seconds: (performance.now() - started) / 1000, count: n, extra: { firstMs: first - started } };
}

/** Highwater `snapshot` mode on `table`, default options, counting `r` events. */
export async function highwaterSnapshot<O>(adapter: SourceAdapter<O>, table: string): Promise<Measurement> {
  const started = performance.now();
  const source = createSource({ adapter, tables: { include: [table] }, startup: { mode: 'snapshot' } });
  let rows = 0;
  try {
    for await (const batch of source) {
      for (const e of batch.events) if (e.kind === 'change' && e.op === 'r') rows++;
    }
  } finally {
    await source.close();
  }
  return { seconds: (performance.now() - started) / 1000, count: rows, extra: {} };
}

/** Throws unless every run of the sides in `exact` counted `expected`. */
export function checkCounts(
  name: string,
  runs: Map<string, Measurement[]>,
  expected: number,
  exact: ReadonlySet<string>,
): void {
  for (const [side, ms] of runs) {
    if (!exact.has(side)) continue;
    for (const m of ms)
      if (m.count !== expected) throw new Error(`${name}: ${side} counted ${m.count}, expected ${expected}`);
  }
}

/**
 * Peak RSS of Highwater snapshots, each in a fresh child process (`rss-child`): once with the
 * adapter loaded and idle, then one snapshot of `table` per size in `sizes.rssRows` (the table
 * grown by `ensure` first). `afterRun` cleans up after each child (a replication slot, say).
 */
export async function rssRuns(
  name: string,
  child: Omit<RssChildArgs, 'idle'>,
  ensure: (rows: number) => Promise<void>,
  sizes: DbSizes,
  report: DbReport,
  afterRun: () => Promise<void> = async () => undefined,
): Promise<void> {
  const idle = await runChild<RssChildResult>('rss-child', { ...child, idle: true } satisfies RssChildArgs);
  report.rss.push({
    benchmark: name,
    rows: 0,
    what: 'adapter loaded, one connection, no snapshot',
    maxRssMiB: idle.maxRssKiB / 1024,
    seconds: 0,
  });
  await afterRun();
  for (const rows of [...sizes.rssRows].sort((a, b) => a - b)) {
    await ensure(rows);
    const loadBefore = load();
    const r = await runChild<RssChildResult>('rss-child', child satisfies RssChildArgs);
    await afterRun();
    if (r.rows !== rows) throw new Error(`${name}: the child read ${r.rows} rows of ${rows}`);
    progress(
      `  ${rows.toLocaleString('en-US')} rows: peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB, ${r.seconds.toFixed(1)} s`,
    );
    report.rss.push({
      benchmark: name,
      rows,
      what: `Highwater snapshot (load ${loadBefore.toFixed(2)})`,
      maxRssMiB: r.maxRssKiB / 1024,
      seconds: r.seconds,
    });
  }
  report.notes.push({
    benchmark: name,
    text: 'each run a fresh `node` process: `snapshot` mode, default options (parallelism 4, chunks of 8096), a consumer counting `r` events; peak RSS = `process.resourceUsage().maxRSS` at its end',
  });
}
