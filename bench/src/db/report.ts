import type { Measurement } from '../core/measure.js';
import { median } from '../core/measure.js';
import { count, millions, type NoteLine, table } from '../core/report.js';

/** Highwater against one limit, both measured in the same run. */
export interface ComparisonLine {
  readonly benchmark: string;
  readonly size: number;
  readonly unit: string;
  readonly limitName: string;
  readonly limit: readonly Measurement[];
  readonly highwater: readonly Measurement[];
  /** The ratio aimed at (informative; nothing fails below it). */
  readonly aim?: number;
}

/** Commit → event latency of one side under a steady write load. */
export interface LatencyLine {
  readonly benchmark: string;
  readonly side: string;
  /** Writes per second the writer aimed at and achieved. */
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly events: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Peak RSS of a child process that ran one snapshot. */
export interface RssLine {
  readonly benchmark: string;
  readonly rows: number;
  readonly what: string;
  readonly maxRssMiB: number;
  readonly seconds: number;
}

export interface DbReport {
  readonly comparisons: ComparisonLine[];
  readonly latency: LatencyLine[];
  readonly rss: RssLine[];
  readonly notes: NoteLine[];
}

export function emptyDbReport(): DbReport {
  return { comparisons: [], latency: [], rss: [], notes: [] };
}

export function mergeDbReports(into: DbReport, from: DbReport): void {
  into.comparisons.push(...from.comparisons);
  into.latency.push(...from.latency);
  into.rss.push(...from.rss);
  into.notes.push(...from.notes);
}

const rateOf = (m: Measurement) => m.count / m.seconds;

function ms(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return n >= 100 ? `${n.toFixed(0)} ms` : n >= 10 ? `${n.toFixed(1)} ms` : `${n.toFixed(2)} ms`;
}

/** Markdown tables of a database report, as recorded in docs/benchmarks.md. */
export function formatDbReport(report: DbReport): string {
  const out: string[] = [];
  if (report.comparisons.length > 0) {
    const runs = Math.max(...report.comparisons.map((c) => c.highwater.length));
    out.push(
      table(
        [
          'benchmark',
          'size',
          'unit',
          'limit',
          'limit (median)',
          'Highwater (median)',
          'Highwater / limit',
          'aim',
          `Highwater range of ${runs}`,
        ],
        report.comparisons.map((c) => {
          const limit = median(c.limit.map(rateOf));
          const hw = median(c.highwater.map(rateOf));
          const hwRates = c.highwater.map(rateOf);
          return [
            c.benchmark,
            count(c.size),
            c.unit,
            c.limitName,
            millions(limit),
            millions(hw),
            (hw / limit).toFixed(2),
            c.aim === undefined ? '' : `≥ ${c.aim}`,
            `${millions(Math.min(...hwRates))}–${millions(Math.max(...hwRates))}`,
          ];
        }),
      ),
    );
  }
  if (report.latency.length > 0) {
    out.push('');
    out.push(
      table(
        ['latency, commit → event', 'side', 'writes/s (target)', 'events', 'p50', 'p90', 'p99', 'max'],
        report.latency.map((l) => [
          l.benchmark,
          l.side,
          `${l.achievedRate.toFixed(0)} (${l.targetRate})`,
          count(l.events),
          ms(l.p50),
          ms(l.p90),
          ms(l.p99),
          ms(l.max),
        ]),
      ),
    );
  }
  if (report.rss.length > 0) {
    out.push('');
    out.push(
      table(
        ['peak RSS (child process)', 'rows', 'run', 'peak RSS', 'time', 'rows/s'],
        report.rss.map((r) => [
          r.benchmark,
          count(r.rows),
          r.what,
          `${r.maxRssMiB.toFixed(0)} MiB`,
          r.seconds > 0 ? `${r.seconds.toFixed(1)} s` : '–',
          r.seconds > 0 && r.rows > 0 ? millions(r.rows / r.seconds) : '–',
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
