import { readableLogFigures } from './log-figures.js';
import type { SourceMetrics, TableSnapshotProgress } from '@highwater/core';
import cliProgress from 'cli-progress';
import type { MetricsProvider } from './metrics-server.js';
import { TableRates } from './table-rates.js';

/** Above this many tables, finished tables leave the display and one bar sums them all. */
const MAX_TABLE_BARS = 12;

/**
 * The terminal view of a run: one bar per table during the snapshot (chunks done of the expected
 * total, rows, rows/s, ETA) and a live line for the stream (events/s, lag, the adapter's log
 * figures). Drawn on standard error, so a `stdout` sink's output stays clean. Log lines given to
 * `log` are printed above the bars.
 */
export class ProgressDisplay {
  readonly #provider: MetricsProvider;
  readonly #bars: cliProgress.MultiBar;
  readonly #tableBars = new Map<string, cliProgress.SingleBar>();
  readonly #rates = new TableRates();
  #allTables: cliProgress.SingleBar | null = null;
  #streamBar: cliProgress.SingleBar | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #stream: NodeJS.WritableStream;
  #stopped = false;

  constructor(provider: MetricsProvider, options: { stream?: NodeJS.WritableStream; intervalMs?: number } = {}) {
    this.#provider = provider;
    this.#stream = options.stream ?? process.stderr;
    this.#bars = new cliProgress.MultiBar(
      {
        stream: this.#stream,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        barsize: 24,
        etaBuffer: 20,
        format: ' {name} |{bar}| {value}/{total} chunks | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
        // cli-progress gives 'NULL'/'INF' before it has a rate (a bar created complete shows "LLs" by default).
        formatTime: (seconds: unknown) => formatEta(seconds),
      },
      cliProgress.Presets.shades_classic,
    );
    this.#timer = setInterval(() => this.refresh(), options.intervalMs ?? 500);
    this.#timer.unref();
  }

  /**
   * Prints a line (ending in `\n`) above the bars. cli-progress holds such lines until its next
   * redraw, and it redraws only while bars are drawn: before the first bar (a run that fails while
   * connecting), off a terminal, or after `stop()`, the line is written at once instead.
   */
  log(line: string): void {
    if (this.#stopped || !this.#bars.isActive) this.#stream.write(line);
    else this.#bars.log(line);
  }

  refresh(): void {
    const m = this.#provider.metrics();
    if (m === null) return;
    const now = Date.now();
    const tables = m.snapshot.tables;
    const many = tables.length > MAX_TABLE_BARS;
    const shown = new Set<string>();
    for (const t of tables) {
      if (many && t.done) continue;
      shown.add(t.table);
      this.#tableBar(t).setTotal(Math.max(t.splitsTotal, t.splitsDone, 1));
      this.#tableBar(t).update(t.splitsDone, {
        name: t.table,
        rows: t.rowsRead,
        rate: Math.round(this.#rates.update(t, now)),
      });
    }
    for (const [name, bar] of this.#tableBars) {
      if (!shown.has(name)) {
        this.#bars.remove(bar);
        this.#tableBars.delete(name);
      }
    }
    if (many) {
      this.#allTables ??= this.#bars.create(
        1,
        0,
        {},
        { format: ' {name} |{bar}| {value}/{total} chunks | {rows} rows' },
      );
      this.#allTables.setTotal(Math.max(m.snapshot.splitsTotal, 1));
      this.#allTables.update(m.snapshot.splitsDone, {
        name: `${m.snapshot.tablesDone}/${m.snapshot.tablesTotal} tables`,
        rows: m.snapshot.rowsRead,
      });
    }
    const state = this.#provider.state;
    if (state === 'stream' || state === 'stopping' || this.#streamBar !== null) {
      this.#streamBar ??= this.#bars.create(1, 0, {}, { format: ' {line}' });
      this.#streamBar.update(0, { line: streamLine(state, m) });
    }
  }

  #tableBar(t: TableSnapshotProgress): cliProgress.SingleBar {
    let bar = this.#tableBars.get(t.table);
    if (bar === undefined) {
      bar = this.#bars.create(Math.max(t.splitsTotal, 1), t.splitsDone, { name: t.table, rows: 0, rate: 0 });
      this.#tableBars.set(t.table, bar);
    }
    return bar;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.refresh();
    // A last redraw writes the lines still held (e.g. the error that ended the run); stop() alone
    // would drop them.
    if (this.#bars.isActive) this.#bars.update();
    this.#bars.stop();
    this.#stopped = true;
  }
}

/** The stream line: `stream | 1,234 events | 56 events/s | lag 0.4 s | slotLagBytes 8192`. */
export function streamLine(state: string, m: SourceMetrics): string {
  const parts = [
    state,
    `${m.eventsEmitted.toLocaleString('en-US')} events`,
    `${Math.round(m.eventsPerSecond).toLocaleString('en-US')} events/s`,
    `lag ${m.currentEmitEventTimeLag === null ? '–' : formatDuration(m.currentEmitEventTimeLag)}`,
    `idle ${formatDuration(m.sourceIdleTime)}`,
  ];
  for (const [key, value] of Object.entries(readableLogFigures(m.log))) {
    parts.push(`${key} ${typeof value === 'number' ? value.toLocaleString('en-US') : value}`);
  }
  return parts.join(' | ');
}

/** An ETA in seconds as `12 s`, `3 min 12 s`…; `–` while unknown. */
export function formatEta(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '–';
  return seconds < 1 ? '0 s' : formatDuration(Math.round(seconds) * 1000);
}

/** `850 ms`, `4.2 s`, `3 min 12 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Off a terminal: an `info` line with the figures every `intervalMs`. Returns a function that stops it. */
export function startProgressLog(
  provider: MetricsProvider,
  logger: { info(fields: object, message: string): void },
  intervalMs = 30_000,
): () => void {
  const timer = setInterval(() => {
    const m = provider.metrics();
    if (m === null) return;
    const fields: Record<string, unknown> = {
      state: provider.state,
      eventsEmitted: m.eventsEmitted,
      eventsPerSecond: Math.round(m.eventsPerSecond),
      emitLagMs: m.currentEmitEventTimeLag,
      ...readableLogFigures(m.log),
    };
    if (provider.state === 'snapshot') {
      Object.assign(fields, {
        tablesDone: m.snapshot.tablesDone,
        tablesTotal: m.snapshot.tablesTotal,
        chunksDone: m.snapshot.splitsDone,
        chunksTotal: m.snapshot.splitsTotal,
        rowsRead: m.snapshot.rowsRead,
        rowsPerSecond: Math.round(m.snapshot.rowsPerSecond),
      });
    }
    logger.info(fields, 'progress');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
