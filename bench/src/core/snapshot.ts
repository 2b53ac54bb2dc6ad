import {
  type ChunkRange,
  createSource,
  createTableSplitter,
  type EventBatch,
  type SnapshotPhaseHooks,
  type SourceAdapter,
  type TableSchema,
} from '@highwater/core';
import { compareKeys, memoryAdapter } from '@highwater/memory';
import {
  type BatchObserver,
  collectGarbage,
  LiveHeapProbe,
  type Measurement,
  medianExtra,
  RssPeak,
  type RunPlan,
  sideBySide,
} from './measure.js';
import { type BenchmarkReport, emptyReport } from './report.js';
import { type SnapshotTable, snapshotTable } from './workload.js';

export const CHUNK_SIZE = 8096;
export const PARALLELISM = 4;

/** The chunk ranges the core would read, computed the way it computes them (outside any timed region). */
export async function planChunks(adapter: SourceAdapter<number>, schema: TableSchema): Promise<ChunkRange[]> {
  const introspector = await adapter.createIntrospector();
  const splitter = createTableSplitter({
    table: schema,
    tableName: 'shop.orders',
    boundaries: introspector,
    compareKeys,
    chunkSize: CHUNK_SIZE,
  });
  const ranges: ChunkRange[] = [];
  for (let s = await splitter.next(); s !== null; s = await splitter.next()) ranges.push(s.range);
  await introspector.close();
  return ranges;
}

/** Hooks called around each raw chunk read, mirroring the core's phases. */
export interface RawChunkHooks {
  beforeRead?(range: ChunkRange): void;
  afterRead?(range: ChunkRange): void;
}

/**
 * Reads every range with `PARALLELISM` chunk readers of the adapter, each on its own connection,
 * counting rows: the raw cost of the snapshot's reads.
 */
export async function readChunksRaw(
  adapter: SourceAdapter<number>,
  schema: TableSchema,
  ranges: readonly ChunkRange[],
  observer: BatchObserver,
  hooks: RawChunkHooks = {},
): Promise<number> {
  let next = 0;
  let rows = 0;
  const worker = async (): Promise<void> => {
    const reader = await adapter.createChunkReader();
    try {
      for (let i = next++; i < ranges.length; i = next++) {
        const range = ranges[i] as ChunkRange;
        hooks.beforeRead?.(range);
        for await (const batch of reader.readChunk(schema, range)) {
          // Look at every row, as the Highwater side's consumer looks at every event.
          for (const row of batch) if (row !== null) rows++;
          observer.onBatch();
        }
        hooks.afterRead?.(range);
      }
    } finally {
      await reader.close();
    }
  };
  await Promise.all(Array.from({ length: PARALLELISM }, worker));
  return rows;
}

/** What a Highwater snapshot run counted. */
export interface SnapshotCounts {
  reads: number;
  changes: number;
  batches: number;
}

/**
 * Runs `initial` mode until the table's snapshot is done and the log position is at least
 * `logEnd()` at that moment, with a no-op consumer counting `r` and other change events.
 */
export async function runHighwaterSnapshot(
  adapter: SourceAdapter<number>,
  t: SnapshotTable,
  observer: BatchObserver,
  hooks?: SnapshotPhaseHooks<number>,
): Promise<SnapshotCounts> {
  const source = createSource({
    adapter,
    tables: { include: [t.table] },
    startup: { mode: 'initial' },
    parallelism: PARALLELISM,
    chunkSize: CHUNK_SIZE,
    heartbeatIntervalMs: 0,
    ...(hooks === undefined ? {} : { phaseHooks: hooks }),
  });
  const counts: SnapshotCounts = { reads: 0, changes: 0, batches: 0 };
  let stopAt: number | null = null;
  const done = (batch: EventBatch): boolean => {
    if (stopAt === null && batch.checkpoint.tables[t.table]?.phase === 'stream') stopAt = t.db.logEnd();
    return stopAt !== null && Number(batch.checkpoint.position) >= stopAt;
  };
  for await (const batch of source) {
    for (const e of batch.events) {
      if (e.kind !== 'change') continue;
      if (e.op === 'r') counts.reads++;
      else counts.changes++;
    }
    counts.batches++;
    observer.onBatch();
    if (done(batch)) break;
  }
  await source.close();
  return counts;
}

/**
 * The snapshot path on a quiet table of `rowCount` rows (dense integer ids, so the core splits it
 * arithmetically into `rowCount / 8096` chunks).
 *
 * - limit: the same chunk ranges read by 4 memory chunk readers directly, counting rows;
 * - Highwater: `initial` mode, parallelism 4, chunkSize 8096, counting `r` events until the
 *   snapshot is done — splitting, watermarks, buffering, the (empty) merge, `r` events, batches.
 */
export async function snapshotBenchmark(name: string, rowCount: number, plan: RunPlan): Promise<BenchmarkReport> {
  const t = snapshotTable(rowCount, 2);
  const schema = t.db.schemaOf(t.table);
  const adapter = memoryAdapter(t.db);
  const ranges = await planChunks(adapter, schema);
  collectGarbage();

  const limit = async (): Promise<Measurement> => {
    const peak = new RssPeak();
    const started = performance.now();
    const rows = await readChunksRaw(adapter, schema, ranges, peak);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, count: rows, extra: peak.figures() };
  };

  const highwater = async (): Promise<Measurement> => {
    const peak = new RssPeak();
    const started = performance.now();
    const counts = await runHighwaterSnapshot(adapter, t, peak);
    const seconds = (performance.now() - started) / 1000;
    if (counts.reads !== rowCount) throw new Error(`${name}: ${counts.reads} r events for ${rowCount} rows`);
    return { seconds, count: counts.reads, extra: { ...peak.figures(), batches: counts.batches } };
  };

  const result = await sideBySide(plan, limit, highwater);
  // Untimed runs that collect garbage at about 8 points to see what is live: the memory held.
  const rawProbe = new LiveHeapProbe(Math.max(1, Math.floor(rowCount / 1024 / 8)));
  await readChunksRaw(adapter, schema, ranges, rawProbe);
  const hwProbe = new LiveHeapProbe(Math.max(1, Math.floor(ranges.length / 8)));
  await runHighwaterSnapshot(adapter, t, hwProbe);
  const report = emptyReport();
  report.throughput.push({ benchmark: name, size: rowCount, unit: 'rows/s', ...result });
  report.memory.push({
    benchmark: name,
    size: rowCount,
    baseRssMiB: medianExtra(result.highwater, 'baseRssMiB'),
    limitPeakRssMiB: medianExtra(result.limit, 'peakRssMiB'),
    highwaterPeakRssMiB: medianExtra(result.highwater, 'peakRssMiB'),
    limitLiveMiB: rawProbe.peakMiB,
    highwaterLiveMiB: hwProbe.peakMiB,
    probes: hwProbe.samples,
  });
  report.notes.push({
    benchmark: name,
    text: `${rowCount.toLocaleString('en-US')} rows of 6 columns in ${ranges.length} chunks of ${CHUNK_SIZE}, parallelism ${PARALLELISM}`,
  });
  return report;
}
