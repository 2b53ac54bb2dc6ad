import type { Checkpoint, EventBatch, Sink, SourceEvent, SourceMetrics } from '@highwater/core';
import { MemoryDatabase } from '@highwater/memory';

/** A table `shop.orders (id int64 primary key, note string)` with `rows` rows, ids 1..rows. */
export function shopDatabase(rows: number): MemoryDatabase {
  const db = new MemoryDatabase();
  db.createTable({
    name: 'shop.orders',
    columns: [
      { name: 'id', type: { kind: 'int64' } },
      { name: 'note', type: { kind: 'string' } },
    ],
    primaryKey: ['id'],
  });
  db.insertMany(
    'shop.orders',
    Array.from({ length: rows }, (_, i) => ({ id: i + 1, note: `row ${i + 1}` })),
  );
  return db;
}

/**
 * A sink keeping batches in memory. With `storesCheckpoints`, `stored` is what a transactional
 * target would hold: the events and the checkpoint of every completed write, together.
 */
export class MemorySink implements Sink {
  readonly name = 'memory';
  readonly batches: EventBatch[] = [];
  stored: { events: SourceEvent[]; checkpoint: Checkpoint | null };
  opened = 0;
  closed = 0;
  /** Set to make the next write wait until the promise settles (a rejection fails the write). */
  gate: Promise<void> | null = null;
  /** Called at the start of each write. */
  onWrite: ((batch: EventBatch) => void) | null = null;

  constructor(
    readonly storesCheckpoints = false,
    initial: { events: SourceEvent[]; checkpoint: Checkpoint | null } = { events: [], checkpoint: null },
  ) {
    this.stored = initial;
  }

  async open(): Promise<Checkpoint | null> {
    this.opened++;
    return this.storesCheckpoints ? this.stored.checkpoint : null;
  }

  async write(batch: EventBatch): Promise<void> {
    this.onWrite?.(batch);
    const gate = this.gate;
    this.gate = null;
    if (gate !== null) await gate;
    this.batches.push(batch);
    this.stored = { events: [...this.stored.events, ...batch.events], checkpoint: batch.checkpoint };
  }

  async close(): Promise<void> {
    this.closed++;
  }

  get events(): SourceEvent[] {
    return this.batches.flatMap((b) => b.events);
  }
}

/** Change events of a list, as `op:id`. */
export function changes(events: readonly SourceEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'change' ? [`${e.op}:${String(e.key.id)}`] : []));
}

/** Polls until `condition` holds (a test that never gets there fails on its timeout). */
export async function waitFor(condition: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Source metrics of a source in the stream phase with no snapshot, with `figures` changed. */
export function streamMetrics(figures: Partial<SourceMetrics> = {}): SourceMetrics {
  return {
    state: 'stream',
    snapshot: {
      tablesTotal: 0,
      tablesDone: 0,
      splitsDone: 0,
      splitsTotal: 0,
      rowsRead: 0,
      rowsPerSecond: 0,
      tables: [],
    },
    currentFetchEventTimeLag: null,
    currentEmitEventTimeLag: null,
    sourceIdleTime: 0,
    eventsEmitted: 0,
    eventsPerSecond: 0,
    position: null,
    log: {},
    ...figures,
  };
}
