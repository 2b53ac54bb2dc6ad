import type {
  ChangeEvent,
  Checkpoint,
  EventBatch,
  JsonValue,
  Source,
  SourceAdapter,
  SourceEvent,
} from '@highwater/core';
import type { CaseContext } from '../case.js';
import { fail } from './failure.js';
import type { OffsetOrder } from './materialised.js';

/** Orders serialised offsets with the adapter's codec. */
export function offsetOrder(adapter: SourceAdapter<unknown>): OffsetOrder {
  const codec = adapter.offsets;
  return (a, b) => codec.compare(codec.fromJSON(a), codec.fromJSON(b));
}

/** The database's current high watermark (through a short-lived introspector), serialised. */
export async function currentPosition(adapter: SourceAdapter<unknown>): Promise<JsonValue> {
  const introspector = await adapter.createIntrospector();
  try {
    return adapter.offsets.toJSON(await introspector.highWatermark());
  } finally {
    await introspector.close();
  }
}

export function changesOf(events: readonly SourceEvent[]): ChangeEvent[] {
  return events.filter((e): e is ChangeEvent => e.kind === 'change');
}

/** True when every table is past its snapshot in the checkpoint. */
export function snapshotDoneIn(checkpoint: Checkpoint, tables: readonly string[]): boolean {
  return tables.every((t) => checkpoint.tables[t]?.phase === 'stream');
}

/**
 * `next()` on a batch iterator with an idle limit: a `next()` still in flight when the limit passes
 * is kept, and the following call takes its result (so no batch is skipped).
 */
export class BatchPuller {
  private pending: Promise<IteratorResult<EventBatch>> | null = null;

  constructor(private readonly iterator: AsyncIterator<EventBatch>) {}

  /** The iterator's next result, or `'idle'` when none came within `idleMs`. A source failure is thrown. */
  async next(idleMs: number): Promise<IteratorResult<EventBatch> | 'idle'> {
    if (this.pending === null) {
      this.pending = this.iterator.next();
      this.pending.catch(() => undefined);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<'idle'>((resolve) => {
      timer = setTimeout(() => resolve('idle'), idleMs);
    });
    try {
      const result = await Promise.race([this.pending, idle]);
      if (result !== 'idle') this.pending = null;
      return result;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Pulls batches from a source with time limits, so a hang fails the case with a message instead of
 * stalling it, and pokes the log (`harness.moveLog`) while waiting so a position is reported even
 * when nothing captured changes.
 */
export class Consumer {
  readonly events: SourceEvent[] = [];
  batches = 0;
  lastCheckpoint: Checkpoint | null = null;
  ended = false;
  private readonly puller: BatchPuller;

  constructor(
    private readonly ctx: CaseContext,
    readonly source: Source,
    readonly adapter: SourceAdapter<unknown>,
    private readonly onBatch?: (batch: EventBatch) => void,
  ) {
    this.puller = new BatchPuller(source[Symbol.asyncIterator]());
  }

  /** The next batch; `'idle'` when none came within `idleMs`; `'done'` once iteration has ended. A source failure is thrown. */
  async take(idleMs = 50): Promise<EventBatch | 'idle' | 'done'> {
    if (this.ended) return 'done';
    const result = await this.puller.next(Math.max(1, Math.min(idleMs, this.ctx.timeLeft())));
    if (result === 'idle') return 'idle';
    if (result.done === true) {
      this.ended = true;
      return 'done';
    }
    this.batches++;
    this.lastCheckpoint = result.value.checkpoint;
    this.events.push(...result.value.events);
    this.onBatch?.(result.value);
    return result.value;
  }

  /** Takes batches until `done(batch)` holds, poking the log when idle. */
  async until(what: string, done: (batch: EventBatch) => boolean): Promise<void> {
    for (;;) {
      this.ctx.checkTime(() => `${what} (last checkpoint: ${JSON.stringify(this.lastCheckpoint)})`);
      const batch = await this.take();
      if (batch === 'idle') {
        await this.ctx.poke();
        continue;
      }
      if (batch === 'done') fail(`${what}: the source ended by itself`);
      if (done(batch)) return;
    }
  }

  /** Until every table in `tables` has finished its snapshot. */
  async snapshotDone(tables: readonly string[], what = 'waiting for the snapshot to finish'): Promise<void> {
    if (this.lastCheckpoint !== null && snapshotDoneIn(this.lastCheckpoint, tables)) return;
    await this.until(what, (b) => snapshotDoneIn(b.checkpoint, tables));
  }

  /**
   * Until the source has emitted everything up to the database's current position, with every
   * table in `tables` past its snapshot. Stop writing first.
   */
  async catchUp(tables: readonly string[], what = 'catching up with the database'): Promise<void> {
    const target = await currentPosition(this.adapter);
    const order = offsetOrder(this.adapter);
    const reached = (checkpoint: Checkpoint) =>
      snapshotDoneIn(checkpoint, tables) && checkpoint.position !== null && order(checkpoint.position, target) >= 0;
    if (this.lastCheckpoint !== null && reached(this.lastCheckpoint)) return;
    await this.until(`${what} (to position ${JSON.stringify(target)})`, (b) => reached(b.checkpoint));
  }

  /** Until iteration ends by itself (snapshot mode). */
  async toEnd(what: string): Promise<void> {
    for (;;) {
      this.ctx.checkTime(
        () => `${what}: the source did not end (last checkpoint: ${JSON.stringify(this.lastCheckpoint)})`,
      );
      const batch = await this.take();
      if (batch === 'done') return;
      if (batch === 'idle') await this.ctx.poke();
    }
  }
}
