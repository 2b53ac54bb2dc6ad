import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One timed run of one side of a benchmark. */
export interface Measurement {
  readonly seconds: number;
  /** What the run counted (events or rows). */
  readonly count: number;
  /** Further figures of the run, by name. */
  readonly extra: Readonly<Record<string, number>>;
}

/** How many runs: a warm-up of each side, then `runs` measured runs of each. */
export interface RunPlan {
  readonly warmups: number;
  readonly runs: number;
}

/** The measured runs of both sides, taken alternately in one process. */
export interface SideBySide {
  readonly limit: readonly Measurement[];
  readonly highwater: readonly Measurement[];
}

/**
 * Runs the limit and Highwater alternately (L H, H L, L H, …, so drift in machine speed affects
 * both alike), after `warmups` unmeasured runs of each; a full GC before every run.
 */
export async function sideBySide(
  plan: RunPlan,
  limit: () => Promise<Measurement>,
  highwater: () => Promise<Measurement>,
): Promise<SideBySide> {
  for (let i = 0; i < plan.warmups; i++) {
    collectGarbage();
    await limit();
    collectGarbage();
    await highwater();
  }
  const l: Measurement[] = [];
  const h: Measurement[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const order = i % 2 === 0 ? [limit, highwater] : [highwater, limit];
    for (const side of order) {
      collectGarbage();
      const m = await side();
      (side === limit ? l : h).push(m);
    }
  }
  return { limit: l, highwater: h };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >>> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median rate (count per second) of some runs. */
export function medianRate(runs: readonly Measurement[]): number {
  return median(runs.map((m) => m.count / m.seconds));
}

/** Median of a named extra figure. */
export function medianExtra(runs: readonly Measurement[], name: string): number {
  return median(runs.map((m) => m.extra[name] ?? Number.NaN));
}

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection, so one run's garbage is not collected during the next. Node exposes
 * `gc` only with `--expose-gc`; setting the flag at run time and fetching `gc` from a fresh context
 * does the same without changing the `npm run bench` command line.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    const found: unknown = runInNewContext('gc');
    gc = typeof found === 'function' ? (found as () => void) : null;
  }
  gc?.();
}

/** Called by a run's consumer loop once per batch it takes. */
export interface BatchObserver {
  onBatch(): void;
}

/** Sample memory every this many batches (of ~1,024 events, or one chunk's rows). */
const SAMPLE_EVERY = 8;

/**
 * Peak resident set size during a timed run, sampled by the run's own loop (the runs never yield to
 * timers, so a timer would not sample) every {@link SAMPLE_EVERY} batches with the cheap
 * `process.memoryUsage.rss()`.
 */
export class RssPeak implements BatchObserver {
  private readonly base = process.memoryUsage.rss();
  private peak = this.base;
  private batches = 0;

  onBatch(): void {
    if (++this.batches % SAMPLE_EVERY !== 0) return;
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** MiB: RSS when the run started and its peak. */
  figures(): Record<string, number> {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return { baseRssMiB: this.base / MIB, peakRssMiB: this.peak / MIB };
  }
}

/**
 * The live heap (after a full GC) at `points` moments spread over an untimed run, above what it
 * was before the run: the memory the run holds, without the garbage a timed run leaves for the
 * collector — which depends on V8's heuristics, not on what Highwater keeps.
 */
export class LiveHeapProbe implements BatchObserver {
  private readonly base: number;
  private peak = 0;
  private batches = 0;
  samples = 0;

  /** `every`: probe every this many batches. */
  constructor(private readonly every: number) {
    collectGarbage();
    this.base = liveHeap();
  }

  onBatch(): void {
    if (++this.batches % this.every !== 0) return;
    collectGarbage();
    this.samples++;
    const growth = liveHeap() - this.base;
    if (growth > this.peak) this.peak = growth;
  }

  /** MiB: the largest live-heap growth seen. */
  get peakMiB(): number {
    return this.peak / MIB;
  }
}

const MIB = 2 ** 20;

function liveHeap(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
