import type { ChunkRange, Key, LogItem, SnapshotSplit, TableSchema } from '@highwater/core';
import { compareKeys, memoryAdapter } from '@highwater/memory';
import { collectGarbage, type Measurement, median, medianExtra, RssPeak, type RunPlan, sideBySide } from './measure.js';
import { type BenchmarkReport, emptyReport } from './report.js';
import { CHUNK_SIZE, PARALLELISM, planChunks, readChunksRaw, runHighwaterSnapshot } from './snapshot.js';
import { snapshotTable, Writer } from './workload.js';

/** Writes per chunk phase; four phases per chunk. */
const WRITES_PER_PHASE = 250;

/** A chunk's range and watermarks, as the phase hooks saw them. */
interface ChunkWindow {
  readonly range: ChunkRange;
  readonly lw: number;
  hw: number;
}

/** Where the changes written during a run went, by the chunk their key belongs to. */
interface Disposition {
  /** At or before the chunk's low watermark: the chunk's own read saw them. */
  read: number;
  /** In `(LW, HW]`: merged into the chunk's buffered rows, never emitted. */
  merged: number;
  /** After the chunk's high watermark: emitted as change events. */
  emitted: number;
  /** Key-moving updates (each side is classified on its own, so they count twice above). */
  keyMoves: number;
}

/**
 * The snapshot of a table that is written while it is read — the backfill merge and the
 * high-watermark gate at work. A writer makes `WRITES_PER_PHASE` single-row autocommit writes at
 * each of the four phase boundaries of every chunk (after the low watermark, after the read, before
 * and after the high watermark), 1,000 per 8,096-row chunk, so the write load per row read is the
 * same on both sides whatever their speed. Half of them hit the chunk being read (updates, deletes,
 * inserts into free ids), half the whole table (updates, deletes, inserts inside and above the key
 * range, a few key-moving updates); see {@link Writer}.
 *
 * - limit: the raw reads of the same chunk ranges plus the memory log reader following the log
 *   (counting its items), with the same writes around each chunk read;
 * - Highwater: `initial` mode, parallelism 4, chunkSize 8096, until the snapshot is done and the
 *   log caught up, counting `r` events and change events.
 */
export async function snapshotUnderWritesBenchmark(rowCount: number, plan: RunPlan): Promise<BenchmarkReport> {
  const t = snapshotTable(rowCount, 3);
  const adapter = memoryAdapter(t.db);
  const schema: TableSchema = t.db.schemaOf(t.table);
  collectGarbage();

  const limit = async (): Promise<Measurement> => {
    t.db.truncateLogBefore(t.db.logEnd() + 1);
    const ranges = await planChunks(adapter, schema);
    collectGarbage();
    const writer = new Writer(t);
    const peak = new RssPeak();
    const started = performance.now();
    const reader = await adapter.createLogReader({ from: t.db.logEnd(), tables: [schema] });
    let position = t.db.logEnd();
    let stopAt = Number.POSITIVE_INFINITY;
    let changes = 0;
    const follow = (async () => {
      for await (const batch of reader) {
        for (const item of batch) if (item.kind === 'change') changes++;
        position = (batch[batch.length - 1] as LogItem<number>).offset;
        if (position >= stopAt) return;
      }
    })();
    const rows = await readChunksRaw(adapter, schema, ranges, peak, {
      beforeRead: (range) => writer.write(WRITES_PER_PHASE, range),
      afterRead: (range) => writer.write(3 * WRITES_PER_PHASE, range),
    });
    stopAt = t.db.logEnd();
    if (position >= stopAt) await reader.close();
    await follow;
    const seconds = (performance.now() - started) / 1000;
    await reader.close();
    return {
      seconds,
      count: rows,
      extra: { ...peak.figures(), changes, writes: writer.written, writerSeconds: writer.busyMs / 1000 },
    };
  };

  const highwater = async (): Promise<Measurement> => {
    t.db.truncateLogBefore(t.db.logEnd() + 1);
    const from = t.db.logEnd();
    const writer = new Writer(t);
    const windows = new Map<string, ChunkWindow>();
    const peak = new RssPeak();
    const started = performance.now();
    const counts = await runHighwaterSnapshot(adapter, t, peak, {
      afterLowWatermark: (split: SnapshotSplit, lw: number) => {
        windows.set(split.id, { range: split.range, lw, hw: Number.NaN });
        writer.write(WRITES_PER_PHASE, split.range);
      },
      afterRead: (split: SnapshotSplit) => writer.write(WRITES_PER_PHASE, split.range),
      beforeHighWatermark: (split: SnapshotSplit) => writer.write(WRITES_PER_PHASE, split.range),
      afterHighWatermark: (split: SnapshotSplit, hw: number) => {
        const w = windows.get(split.id);
        if (w !== undefined) w.hw = hw;
        writer.write(WRITES_PER_PHASE, split.range);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const d = classify(
      t.db.logEntries().filter((e) => e.offset > from),
      [...windows.values()],
    );
    return {
      seconds,
      count: counts.reads,
      extra: {
        ...peak.figures(),
        changes: counts.changes,
        writes: writer.written,
        writerSeconds: writer.busyMs / 1000,
        read: d.read,
        merged: d.merged,
        emitted: d.emitted,
        keyMoves: d.keyMoves,
      },
    };
  };

  const result = await sideBySide(plan, limit, highwater);
  const report = emptyReport();
  const name = 'snapshot under writes';
  const writer = (m: Measurement) => m.extra.writerSeconds ?? 0;
  const events = (m: Measurement) => m.count + (m.extra.changes ?? 0);
  report.throughput.push({ benchmark: name, size: rowCount, unit: 'rows/s', ...result });
  report.throughput.push({
    benchmark: name,
    size: rowCount,
    unit: 'events/s',
    ...result,
    rate: (m) => events(m) / m.seconds,
  });
  report.throughput.push({
    benchmark: `${name}, writer's time excluded`,
    size: rowCount,
    unit: 'rows/s',
    ...result,
    rate: (m) => m.count / (m.seconds - writer(m)),
  });
  report.throughput.push({
    benchmark: `${name}, writer's time excluded`,
    size: rowCount,
    unit: 'events/s',
    ...result,
    rate: (m) => events(m) / (m.seconds - writer(m)),
  });
  report.memory.push({
    benchmark: name,
    size: rowCount,
    baseRssMiB: medianExtra(result.highwater, 'baseRssMiB'),
    limitPeakRssMiB: medianExtra(result.limit, 'peakRssMiB'),
    highwaterPeakRssMiB: medianExtra(result.highwater, 'peakRssMiB'),
  });
  const h = (k: string) => Math.round(median(result.highwater.map((m) => m.extra[k] ?? Number.NaN)));
  const share = (runs: readonly Measurement[]) =>
    `${(100 * median(runs.map((m) => writer(m) / m.seconds))).toFixed(0)} %`;
  report.notes.push({
    benchmark: name,
    text:
      `${WRITES_PER_PHASE * 4} writes per ${CHUNK_SIZE}-row chunk, parallelism ${PARALLELISM}; per Highwater run (medians): ` +
      `${h('writes')} writes → ${h('read')} seen by their chunk's read (≤ LW), ${h('merged')} merged into a chunk (LW, HW], ` +
      `${h('emitted')} emitted after HW (${h('keyMoves')} key-moving updates counted per side); ` +
      `the consumer got ${h('changes')} change events besides the r events; the limit's log reader ${Math.round(medianExtra(result.limit, 'changes'))} changes. ` +
      `Time inside the writer: ${share(result.limit)} of the limit's runs, ${share(result.highwater)} of Highwater's.`,
  });
  return report;
}

/**
 * Classifies every logged change by the chunk its key lies in: at or before that chunk's low
 * watermark, in its window, or after its high watermark (the gate's rule). An update that moves a
 * row is classified once per key.
 */
function classify(entries: readonly LogItem<number>[], windows: ChunkWindow[]): Disposition {
  windows.sort((a, b) =>
    a.range.start === null ? -1 : b.range.start === null ? 1 : compareKeys(a.range.start, b.range.start),
  );
  const find = (key: Key): ChunkWindow => {
    let lo = 0;
    let hi = windows.length - 1;
    // Last window whose start is at or before the key.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const start = (windows[mid] as ChunkWindow).range.start;
      if (start === null || compareKeys(start, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return windows[lo] as ChunkWindow;
  };
  const d: Disposition = { read: 0, merged: 0, emitted: 0, keyMoves: 0 };
  const place = (key: Key, offset: number): void => {
    const w = find(key);
    if (offset <= w.lw) d.read++;
    else if (offset <= w.hw) d.merged++;
    else d.emitted++;
  };
  for (const e of entries) {
    if (e.kind !== 'change') continue;
    const oldId = e.before?.id ?? null;
    const newId = e.after?.id ?? null;
    if (oldId !== null) place([oldId], e.offset);
    if (newId !== null && newId !== oldId) place([newId], e.offset);
    if (oldId !== null && newId !== null && newId !== oldId) d.keyMoves++;
  }
  return d;
}
