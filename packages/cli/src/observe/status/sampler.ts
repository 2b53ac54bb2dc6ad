import type { MetricsProvider } from '../metrics-server.js';
import type { SamplePoint, SampleSeries } from './status-document.js';

/** The log reader figures charted as "log lag", the first one an adapter reports. */
const LOG_LAG_FIGURES = ['slotLagBytes', 'binlogLagBytes'] as const;

export interface SamplerOptions {
  /** One sample per interval (default 1000 ms). */
  readonly intervalMs?: number;
  /** Lag readings between samples, for the percentiles (default every 250 ms). */
  readonly readingMs?: number;
  /** How far back lag readings count for a sample's percentiles (default 10 s). */
  readonly lagWindowMs?: number;
  /** Samples kept (default 600: ten minutes at one a second). */
  readonly capacity?: number;
}

/** What the sampler reads besides the source's metrics: the total time spent writing batches. */
export interface SampledProvider extends MetricsProvider {
  readonly record: { readonly writeMs: number };
}

/**
 * Samples a running pipeline into a ring buffer for the status page's charts: events per second,
 * emit and fetch lag percentiles, the source's log lag, and batch write time. Timers are unref'd;
 * `stop()` ends them.
 */
export class Sampler {
  readonly #provider: SampledProvider;
  readonly #intervalMs: number;
  readonly #lagWindowMs: number;
  readonly #capacity: number;
  readonly #points: SamplePoint[] = [];
  readonly #readings: { at: number; emit: number | null; fetch: number | null }[] = [];
  #seq = 0;
  #last = { batches: 0, writeMs: 0 };
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(provider: SampledProvider, options: SamplerOptions = {}) {
    this.#provider = provider;
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#lagWindowMs = options.lagWindowMs ?? 10_000;
    this.#capacity = options.capacity ?? 600;
    const readingMs = options.readingMs ?? 250;
    this.#last = { batches: provider.progress().batches, writeMs: provider.record.writeMs };
    this.#timers.push(
      setInterval(() => this.read(), readingMs),
      setInterval(() => this.sample(), this.#intervalMs),
    );
    for (const timer of this.#timers) timer.unref();
  }

  /** Takes one lag reading (the timer does so every `readingMs`). */
  read(now = Date.now()): void {
    const m = this.#provider.metrics();
    if (m === null) return;
    this.#readings.push({ at: now, emit: m.currentEmitEventTimeLag, fetch: m.currentFetchEventTimeLag });
    while (this.#readings.length > 0 && this.#readings[0]!.at < now - this.#lagWindowMs) this.#readings.shift();
  }

  /** Takes one sample (the timer does so every `intervalMs`). */
  sample(now = Date.now()): SamplePoint {
    this.read(now);
    const m = this.#provider.metrics();
    const { batches } = this.#provider.progress();
    const writeMs = this.#provider.record.writeMs;
    const written = batches - this.#last.batches;
    const emits = this.#readings.flatMap((r) => (r.emit === null ? [] : [r.emit / 1000]));
    const fetches = this.#readings.flatMap((r) => (r.fetch === null ? [] : [r.fetch / 1000]));
    const logFigure = LOG_LAG_FIGURES.find((f) => m?.log[f] !== undefined);
    const point: SamplePoint = {
      seq: ++this.#seq,
      t: now,
      eventsPerSecond: m?.eventsPerSecond ?? 0,
      emitLagP50: percentile(emits, 50),
      emitLagP99: percentile(emits, 99),
      fetchLagP50: percentile(fetches, 50),
      fetchLagP99: percentile(fetches, 99),
      logLagBytes: logFigure === undefined ? null : m!.log[logFigure]!,
      batchWriteMs: written > 0 ? (writeMs - this.#last.writeMs) / written : null,
    };
    this.#last = { batches, writeMs };
    this.#points.push(point);
    if (this.#points.length > this.#capacity) this.#points.shift();
    return point;
  }

  /** The samples newer than `afterSeq` (all of them by default), oldest first. */
  series(afterSeq = 0): SampleSeries {
    const points = afterSeq <= 0 ? [...this.#points] : this.#points.filter((p) => p.seq > afterSeq);
    return { intervalSeconds: this.#intervalMs / 1000, points };
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
  }
}

/** p-th percentile (0–100) by nearest rank; null when there are no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
