import { createSource, type RemoteChunkResult, type RemoteChunks, type SnapshotSplit } from '@highwater/core';
import { MemoryDatabase, memoryAdapter } from '@highwater/memory';

/** One measured configuration of the coordinator simulation. */
export interface CoordinatorCase {
  readonly chunks: number;
  /** Simulated member processes, each with one chunk reader. */
  readonly members: number;
  /** The leader's `inFlightChunks` (the core's parallelism in `remoteChunks` mode). */
  readonly inFlight: number;
}

export interface CoordinatorResult extends CoordinatorCase {
  readonly seconds: number;
  readonly microsPerChunk: number;
  readonly batches: number;
}

/**
 * The leader of a cluster pipeline with its members simulated: the real core (`createSource` with
 * `remoteChunks`: split enumerator, windows, retention, the gate, checkpoints) over the memory
 * adapter, and `members` simulated chunk readers that take chunks from an in-memory work queue and
 * report them done at once (a member's own reading is not the coordinator's cost). What NATS does per
 * chunk is a fixed number of operations (one task published, three KV writes, one ack) and is not
 * simulated. Measures the leader's wall time per chunk.
 */
export async function simulateCoordinator(c: CoordinatorCase): Promise<CoordinatorResult> {
  const db = new MemoryDatabase();
  db.createTable({ name: 'sim.items', columns: [{ name: 'id', type: { kind: 'int64' } }], primaryKey: ['id'] });
  // One row per chunk, inserted in pieces (one transaction each) so the log stays small per entry.
  for (let start = 1; start <= c.chunks; start += 100_000) {
    const end = Math.min(c.chunks, start + 99_999);
    db.insertMany(
      'sim.items',
      Array.from({ length: end - start + 1 }, (_, i) => ({ id: start + i })),
    );
  }
  const adapter = memoryAdapter(db);
  const queue: { split: SnapshotSplit; resolve: (r: RemoteChunkResult<number>) => void }[] = [];
  const idle: (() => void)[] = [];
  let stopped = false;
  const remote: RemoteChunks<number> = {
    publishLog: async () => undefined,
    readChunk: (split) =>
      new Promise((resolve) => {
        queue.push({ split, resolve });
        idle.pop()?.();
      }),
  };
  // Each simulated member takes the next queued chunk, like a pull consumer.
  const member = async (): Promise<void> => {
    while (!stopped) {
      const task = queue.shift();
      if (task === undefined) {
        await new Promise<void>((resolve) => idle.push(resolve));
        continue;
      }
      task.resolve({ highWatermark: db.logEnd(), rows: 1 });
    }
  };
  const members = Array.from({ length: c.members }, () => member());
  const source = createSource({
    adapter,
    tables: { include: ['sim.items'] },
    chunkSize: 1,
    parallelism: c.inFlight,
    remoteChunks: remote,
    heartbeatIntervalMs: 0,
    startup: { mode: 'snapshot' },
    maxQueuedBatches: 64,
  });
  const started = performance.now();
  let batches = 0;
  for await (const _ of source) batches++;
  const seconds = (performance.now() - started) / 1000;
  stopped = true;
  for (const wake of idle.splice(0)) wake();
  await Promise.all(members);
  return { ...c, seconds, microsPerChunk: (seconds * 1e6) / c.chunks, batches };
}

/** Chunk counts × members × in-flight chunks, as a Markdown table. */
export async function coordinatorBenchmark(quick: boolean, log: (line: string) => void): Promise<string> {
  const cases: CoordinatorCase[] = quick
    ? [
        { chunks: 10_000, members: 100, inFlight: 64 },
        { chunks: 100_000, members: 1_000, inFlight: 64 },
      ]
    : [
        { chunks: 10_000, members: 1_000, inFlight: 64 },
        { chunks: 100_000, members: 1_000, inFlight: 64 },
        { chunks: 1_000_000, members: 1_000, inFlight: 64 },
        { chunks: 2_000_000, members: 1_000, inFlight: 64 },
        { chunks: 100_000, members: 10, inFlight: 64 },
        { chunks: 100_000, members: 5_000, inFlight: 64 },
        { chunks: 100_000, members: 5_000, inFlight: 512 },
        { chunks: 100_000, members: 5_000, inFlight: 4_096 },
      ];
  // Warm-up (JIT), not reported.
  await simulateCoordinator({ chunks: 20_000, members: 100, inFlight: 64 });
  const rows: string[] = [
    '| chunks | members | in-flight chunks | leader time | µs per chunk |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of cases) {
    log(`cluster coordinator: ${c.chunks} chunks, ${c.members} members, ${c.inFlight} in flight…`);
    const r = await simulateCoordinator(c);
    rows.push(
      `| ${r.chunks.toLocaleString('en-US')} | ${r.members.toLocaleString('en-US')} | ${r.inFlight.toLocaleString('en-US')} | ${r.seconds.toFixed(1)} s | ${r.microsPerChunk.toFixed(1)} |`,
    );
  }
  return rows.join('\n');
}
