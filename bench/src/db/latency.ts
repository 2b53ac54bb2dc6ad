import { createSource, type SourceAdapter } from '@highwater/core';
import { type DbSizes, load, nowMicros, percentile, progress, runChild, sleep } from './common.js';
import type { DbReport } from './report.js';
import type { WriterArgs, WriterResult } from './writer.js';

/** What one latency phase of one side measured. */
export interface LatencySample {
  /** Milliseconds, one per row written after the phase's first second. */
  readonly latencies: number[];
  readonly written: number;
  readonly seconds: number;
}

/**
 * One latency phase: `receive` starts a consumer (resolving once it is ready to receive) that calls
 * `onRow` with a row's `written_us` as the application gets it; then the writer child writes at the
 * steady rate; the phase ends when every written row was received (or 5 s after the writer).
 */
export async function latencyPhase(
  kind: WriterArgs['kind'],
  url: string,
  table: string,
  sizes: DbSizes,
  receive: (onRow: (writtenUs: number) => void) => Promise<() => Promise<void>>,
): Promise<LatencySample> {
  const latencies: number[] = [];
  let received = 0;
  let firstWritten = Number.POSITIVE_INFINITY;
  const stop = await receive((writtenUs) => {
    const now = nowMicros();
    received++;
    if (writtenUs < firstWritten) firstWritten = writtenUs;
    if (writtenUs >= firstWritten + 1_000_000) latencies.push((now - writtenUs) / 1000);
  });
  const args: WriterArgs = { kind, url, table, rate: sizes.latencyRate, seconds: sizes.latencySeconds };
  let result: WriterResult;
  try {
    result = await runChild<WriterResult>('writer', args);
    for (let i = 0; i < 100 && received < result.written; i++) await sleep(50);
  } finally {
    await stop();
  }
  if (received < result.written) throw new Error(`latency: received ${received} of ${result.written} rows`);
  return { latencies, written: result.written, seconds: result.seconds };
}

/**
 * The Highwater side of a latency phase (for {@link latencyPhase}): a source on `table` in `latest`
 * mode, default options, passing each change's `written_us` as the `for await` loop sees it.
 */
export function highwaterReceiver<O>(
  adapter: () => SourceAdapter<O>,
  table: string,
): (onRow: (writtenUs: number) => void) => Promise<() => Promise<void>> {
  return async (onRow) => {
    const source = createSource({ adapter: adapter(), tables: { include: [table] }, startup: { mode: 'latest' } });
    await source.start();
    const loop = (async () => {
      for await (const batch of source) {
        for (const e of batch.events) {
          if (e.kind === 'change' && e.after !== null) onRow(Number(e.after.written_us));
        }
      }
    })();
    return async () => {
      await source.close();
      await loop.catch(() => undefined);
    };
  };
}

/** The note under a latency comparison: how it was measured (`stamp`: the server's clock function). */
export function latencyNote(sizes: DbSizes, stamp: string, loadBefore: number): string {
  return (
    `a child process writes single-row autocommit INSERTs at ${sizes.latencyRate}/s for ${sizes.latencySeconds} s per phase ` +
    `(${sizes.latencyRuns} phase${sizes.latencyRuns === 1 ? '' : 's'} per side, alternating), each stamped with the server's ` +
    `\`${stamp}\` in µs; latency = time the consumer got the row − that stamp (same machine, same clock); the first second ` +
    `of each phase is left out. Highwater: \`latest\` mode, default options, the event as the \`for await\` loop sees it; ` +
    `load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`
  );
}

/** Alternates phases of the two sides (A B, B A, …) and reports each side's pooled percentiles. */
export async function latencyComparison(
  name: string,
  sizes: DbSizes,
  library: () => Promise<LatencySample>,
  highwater: () => Promise<LatencySample>,
  report: DbReport,
  libraryName: string,
): Promise<void> {
  const sides: [string, () => Promise<LatencySample>][] = [
    [libraryName, library],
    ['Highwater', highwater],
  ];
  const pooled = new Map<string, LatencySample[]>(sides.map(([n]) => [n, []]));
  for (let i = 0; i < sizes.latencyRuns; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const [side, run] of order) {
      const s = await run();
      const sorted = [...s.latencies].sort((a, b) => a - b);
      progress(
        `  phase ${i + 1}: ${side}: ${s.written} writes, p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`,
      );
      pooled.get(side)?.push(s);
    }
  }
  for (const [side, samples] of pooled) {
    const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
    const written = samples.reduce((a, s) => a + s.written, 0);
    const seconds = samples.reduce((a, s) => a + s.seconds, 0);
    report.latency.push({
      benchmark: name,
      side,
      targetRate: sizes.latencyRate,
      achievedRate: written / seconds,
      events: all.length,
      p50: percentile(all, 50),
      p90: percentile(all, 90),
      p99: percentile(all, 99),
      max: all[all.length - 1] ?? Number.NaN,
    });
  }
}
