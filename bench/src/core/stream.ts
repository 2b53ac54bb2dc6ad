import { createSource, type TableSchema } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { collectGarbage, type Measurement, type RunPlan, sideBySide } from './measure.js';
import { type BenchmarkReport, emptyReport } from './report.js';
import { databaseWithLog } from './workload.js';

const TABLES = ['shop.orders', 'shop.order_lines', 'shop.payments', 'shop.shipments'];

/**
 * The stream path: a log of `changes` row changes over four tables, read from the start.
 *
 * - limit: the memory adapter's log reader alone, from offset 0 to the log end, with a consumer
 *   that looks at every item — what reading the log costs before the core does anything;
 * - Highwater: `createSource` with `startup: earliest` on the same log, a no-op consumer counting
 *   change events, until the batch checkpoint's position reaches the log end — routing, the gate,
 *   event building, batching and checkpoints.
 */
export async function streamBenchmark(changes: number, plan: RunPlan): Promise<BenchmarkReport> {
  const { db, mix } = databaseWithLog(changes, TABLES, 1);
  collectGarbage();
  const end = db.logEnd();
  const schemas: TableSchema[] = TABLES.map((t) => db.schemaOf(t));
  const adapter = memoryAdapter(db);

  const limit = async (): Promise<Measurement> => {
    const started = performance.now();
    const reader = await adapter.createLogReader({ from: 0, tables: schemas });
    let n = 0;
    for await (const batch of reader) {
      for (const item of batch) if (item.kind === 'change') n++;
      if ((batch[batch.length - 1]?.offset ?? 0) >= end) break;
    }
    const seconds = (performance.now() - started) / 1000;
    await reader.close();
    return { seconds, count: n, extra: {} };
  };

  const highwater = async (): Promise<Measurement> => {
    const started = performance.now();
    const source = createSource({
      adapter,
      tables: { include: TABLES },
      startup: { mode: 'earliest' },
      heartbeatIntervalMs: 0,
    });
    let n = 0;
    let batches = 0;
    for await (const batch of source) {
      batches++;
      for (const e of batch.events) if (e.kind === 'change') n++;
      if (Number(batch.checkpoint.position) >= end) break;
    }
    const seconds = (performance.now() - started) / 1000;
    await source.close();
    return { seconds, count: n, extra: { batches } };
  };

  const result = await sideBySide(plan, limit, highwater);
  for (const m of [...result.limit, ...result.highwater]) {
    if (m.count !== changes) throw new Error(`stream: counted ${m.count} changes, the log has ${changes}`);
  }
  const report = emptyReport();
  report.throughput.push({
    benchmark: 'stream',
    size: changes,
    unit: 'events/s',
    limit: result.limit,
    highwater: result.highwater,
  });
  report.notes.push({
    benchmark: 'stream',
    text: `${changes.toLocaleString('en-US')} changes over ${TABLES.length} tables (${mix.inserts} inserts, ${mix.updates} updates, ${mix.deletes} deletes; transactions of 1–8 changes), read from offset 0 to ${end}`,
  });
  return report;
}
