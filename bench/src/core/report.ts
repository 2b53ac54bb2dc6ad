import { type Measurement, medianRate } from './measure.js';

/** One throughput figure, side by side with its limit. */
export interface ThroughputLine {
  readonly benchmark: string;
  readonly size: number;
  /** What is counted, e.g. `events/s`. */
  readonly unit: string;
  readonly limit: readonly Measurement[];
  readonly highwater: readonly Measurement[];
  /** Rate of a run; defaults to count / seconds. */
  readonly rate?: (m: Measurement) => number;
}

/** Memory of the snapshot runs, MiB. */
export interface MemoryLine {
  readonly benchmark: string;
  readonly size: number;
  /** RSS when a Highwater run started (median): mostly the in-process database. */
  readonly baseRssMiB: number;
  /** Peak RSS during the timed runs (medians). */
  readonly limitPeakRssMiB: number;
  readonly highwaterPeakRssMiB: number;
  /** Peak live-heap growth over an untimed probe run (after full GCs); absent when not probed. */
  readonly limitLiveMiB?: number;
  readonly highwaterLiveMiB?: number;
  readonly probes?: number;
}

/** Free-form figures of one benchmark, printed as `name: value` under the tables. */
export interface NoteLine {
  readonly benchmark: string;
  readonly text: string;
}

export interface BenchmarkReport {
  readonly throughput: ThroughputLine[];
  readonly memory: MemoryLine[];
  readonly notes: NoteLine[];
}

export function emptyReport(): BenchmarkReport {
  return { throughput: [], memory: [], notes: [] };
}

function rateMedian(runs: readonly Measurement[], rate?: (m: Measurement) => number): number {
  if (rate === undefined) return medianRate(runs);
  const values = runs.map(rate).sort((a, b) => a - b);
  const mid = values.length >>> 1;
  return values.length % 2 === 1
    ? (values[mid] as number)
    : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

function spread(runs: readonly Measurement[], rate?: (m: Measurement) => number): string {
  const values = runs.map(rate ?? ((m) => m.count / m.seconds));
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return `${millions(lo)}–${millions(hi)}`;
}

/** A rate as `1.23 M` or `456 k` (`–` when not finite). */
export function millions(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

function mib(n: number): string {
  return `${n.toFixed(0)} MiB`;
}

/** A Markdown table (so it can be pasted into docs/benchmarks.md as printed). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function formatReport(report: BenchmarkReport, runs: number): string {
  const out: string[] = [];
  if (report.throughput.length > 0) {
    out.push(
      table(
        [
          'benchmark',
          'size',
          'unit',
          'limit (median)',
          'Highwater (median)',
          'Highwater / limit',
          'core cost per unit',
          `Highwater range of ${runs}`,
        ],
        report.throughput.map((l) => {
          const limit = rateMedian(l.limit, l.rate);
          const hw = rateMedian(l.highwater, l.rate);
          // Time Highwater spends per unit beyond what the limit spends: its own cost.
          const ns = (1 / hw - 1 / limit) * 1e9;
          return [
            l.benchmark,
            count(l.size),
            l.unit,
            millions(limit),
            millions(hw),
            `${(hw / limit).toFixed(3)}`,
            `${ns.toFixed(0)} ns`,
            spread(l.highwater, l.rate),
          ];
        }),
      ),
    );
  }
  if (report.memory.length > 0) {
    out.push('');
    out.push(
      table(
        [
          'memory',
          'rows',
          'RSS at start',
          'peak RSS, limit',
          'peak RSS, Highwater',
          'live heap growth, limit',
          'live heap growth, Highwater',
        ],
        report.memory.map((l) => [
          l.benchmark,
          count(l.size),
          mib(l.baseRssMiB),
          mib(l.limitPeakRssMiB),
          mib(l.highwaterPeakRssMiB),
          l.limitLiveMiB === undefined ? '–' : mib(l.limitLiveMiB),
          l.highwaterLiveMiB === undefined ? '–' : `${mib(l.highwaterLiveMiB)} (${l.probes} probes)`,
        ]),
      ),
    );
  }
  if (report.notes.length > 0) {
    out.push('');
    for (const n of report.notes) out.push(`- ${n.benchmark}: ${n.text}`);
  }
  return out.join('\n');
}
