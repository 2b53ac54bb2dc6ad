import type { Checkpoint, EventBatch, Source, SourceAdapter, SourceEvent } from '@highwater/core';
import { BatchPuller, currentPosition, offsetOrder, snapshotDoneIn } from './consumer.js';
import { Materialised, type TrackedTable } from './materialised.js';
import { sleep } from './random.js';

/** What a transactional sink has stored: its output and the checkpoint of the last batch, always together. */
export interface Stored {
  readonly output: Materialised;
  readonly checkpoint: Checkpoint | null;
}

/** An empty store for `tables`, ordering offsets with the adapter's codec. */
export function nothingStored(adapter: SourceAdapter<unknown>, tables: readonly TrackedTable[]): Stored {
  return { output: new Materialised(tables, offsetOrder(adapter)), checkpoint: null };
}

/**
 * A rule of a test's own, checked on every event just before it is applied to `output` (the staged
 * copy, with the batch's earlier events in it); a broken rule goes to `output.problem(...)`.
 */
export type EventCheck = (event: SourceEvent, output: Materialised) => void;

export interface TransactionalConsumerOptions {
  /** Checked on every event on top of {@link Materialised}'s exactly-once rules. */
  readonly check?: EventCheck;
  /**
   * Take batches in the background until `crash()`, so the pipeline keeps running while a test
   * disrupts things; `until` then waits instead of taking. Otherwise batches are taken only inside
   * `take`, `takeBatches`, `until` and `catchUp`.
   */
  readonly background?: boolean;
}

/**
 * A consumer with a transactional sink, for tests that crash and resume pipelines: each batch is
 * applied to a copy of the stored {@link Materialised} output (which checks exactly-once on every
 * event as it arrives), stored together with its checkpoint, and then committed to the source.
 * `crash()` closes the source and loses whatever was not stored; `resume(source)` carries on with a
 * new source (made with `resumeFrom: consumer.stored.checkpoint`).
 */
export class TransactionalConsumer {
  stored: Stored;
  /** Batches stored, over every source. */
  batches = 0;
  /** A source failure met while taking in the background (thrown by `until`). */
  failure: unknown = null;
  private source: Source | null = null;
  private puller: BatchPuller | null = null;
  private running: Promise<void> | null = null;

  constructor(
    source: Source,
    stored: Stored,
    private readonly options: TransactionalConsumerOptions = {},
  ) {
    this.stored = stored;
    this.resume(source);
  }

  /** Carries on from what is stored with a new source (after `crash()`). */
  resume(source: Source): void {
    if (this.source !== null) throw new Error('the consumer still has a source: crash() first');
    this.source = source;
    const puller = new BatchPuller(source[Symbol.asyncIterator]());
    this.puller = puller;
    this.failure = null;
    if (this.options.background === true) this.running = this.takeWhileOpen(puller);
  }

  private async takeWhileOpen(puller: BatchPuller): Promise<void> {
    try {
      while (this.puller === puller) await this.take();
    } catch (error) {
      if (this.puller === puller) this.failure = error;
    }
  }

  /**
   * Takes one batch (or nothing within `idleMs`) and stores it; false when none came. A source
   * failure is thrown; a batch that arrives after `crash()` is dropped, as in a crash.
   */
  async take(idleMs = 200): Promise<boolean> {
    const { puller, source } = this;
    if (puller === null || source === null) throw new Error('the consumer has no source: resume() first');
    const result = await puller.next(idleMs);
    if (result === 'idle' || this.puller !== puller) return false;
    if (result.done === true) throw new Error('the source ended');
    this.store(result.value);
    await source.commit(result.value.checkpoint);
    return true;
  }

  private store(batch: EventBatch): void {
    const output = this.stored.output.clone();
    for (const event of batch.events) {
      this.options.check?.(event, output);
      output.apply([event]);
    }
    // A JSON round-trip: what a real store keeps.
    this.stored = { output, checkpoint: JSON.parse(JSON.stringify(batch.checkpoint)) as Checkpoint };
    this.batches++;
  }

  /** Until `condition` holds for what is stored, failing on a source failure or after `ms`. */
  async until(what: string, condition: (stored: Stored) => boolean, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition(this.stored)) {
      if (this.failure !== null)
        throw new Error(`${what}: the source failed: ${String(this.failure)}`, { cause: this.failure });
      if (Date.now() > deadline) {
        throw new Error(
          `${what}: not reached in ${ms} ms (${this.batches} batches, checkpoint ${JSON.stringify(this.stored.checkpoint)})`,
        );
      }
      if (this.running !== null) await sleep(20);
      else await this.take();
    }
  }

  /** Until `n` more batches are stored. */
  async takeBatches(n: number, ms = 30_000): Promise<void> {
    const target = this.batches + n;
    await this.until(`${n} batches`, () => this.batches >= target, ms);
  }

  /** True when every table in `tables` is past its snapshot in the stored checkpoint. */
  streaming(...tables: string[]): boolean {
    const { checkpoint } = this.stored;
    return checkpoint !== null && snapshotDoneIn(checkpoint, tables);
  }

  /** Until the stored checkpoint is past the snapshot of `tables` and at or after the database's current position. */
  async catchUp(adapter: SourceAdapter<unknown>, tables: readonly string[], ms?: number): Promise<void> {
    const target = await currentPosition(adapter);
    const order = offsetOrder(adapter);
    await this.until(
      `catching up to ${JSON.stringify(target)}`,
      ({ checkpoint }) =>
        checkpoint !== null &&
        snapshotDoneIn(checkpoint, tables) &&
        checkpoint.position !== null &&
        order(checkpoint.position, target) >= 0,
      ms,
    );
  }

  /** Closes the source without storing the batch it may be about to hand out. */
  async crash(): Promise<void> {
    const { source, running } = this;
    this.source = null;
    this.puller = null;
    this.running = null;
    await source?.close().catch(() => undefined);
    await running;
  }
}
