import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { SourceEvent } from '../events/source-event.js';
import type { EventBatch } from './event-batch.js';

/**
 * Events made only when their batch is handed to the consumer: `make` appends them to `into`. A
 * released snapshot chunk goes into the queue this way, as the rows the adapter read (often still
 * undecoded bytes), so events exist only from the moment the consumer takes them until it is done
 * with them. Made at release, a chunk's events waited in the queue for the consumer, long enough
 * for V8 to move them from the young generation to the old one: that copying and the old
 * generation's collections took more CPU than the rest of a `highwater run` into a file.
 */
export class DeferredEvents {
  constructor(readonly make: (into: SourceEvent[]) => void) {}
}

/** A sealed batch as queued: events, some of them perhaps still to be made. */
interface QueuedBatch {
  readonly events: (SourceEvent | DeferredEvents)[];
  readonly checkpoint: Checkpoint;
  readonly deferred: boolean;
}

/**
 * Where events wait for the application. Producers append events synchronously and seal a batch
 * only at a consistent point (never inside one log item or one chunk), so every batch's
 * checkpoint describes exactly the events up to its end. Producers wait while `maxBatches` sealed
 * batches are unread, which is what makes a slow consumer slow the reading down.
 */
export class OutputQueue {
  private current: (SourceEvent | DeferredEvents)[] = [];
  /** True when `current` holds a {@link DeferredEvents}. */
  private currentDeferred = false;
  private readonly sealed: QueuedBatch[] = [];
  private consumer: ((batch: EventBatch | null) => void) | null = null;
  private consumerFailed: ((error: unknown) => void) | null = null;
  private producers: (() => void)[] = [];
  private ended = false;
  /** The application closed the source: nothing more is sealed, nothing queued is handed out. */
  private discarding = false;
  private producersReleased = false;
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly batchSize: number,
    private readonly maxBatches: number,
    private readonly checkpoint: () => Checkpoint,
  ) {}

  /** Events waiting to be sealed into a batch. */
  get unsealed(): number {
    return this.current.length;
  }

  emit(event: SourceEvent): void {
    this.current.push(event);
  }

  /**
   * Appends events that `make` creates when the batch is taken, in their place among the others.
   * `make` must depend only on what it captured (it runs later, and at most once), and must not
   * throw for a well-formed source: a throw fails the queue, and the consumer gets the error.
   */
  emitDeferred(make: (into: SourceEvent[]) => void): void {
    this.current.push(new DeferredEvents(make));
    this.currentDeferred = true;
  }

  /** Seals the pending events into a batch (an empty one only when `evenIfEmpty`). */
  seal(evenIfEmpty = false): void {
    if (this.discarding) this.current = [];
    if (this.ended || this.discarding || (this.current.length === 0 && !evenIfEmpty)) return;
    const queued: QueuedBatch = {
      events: this.current,
      checkpoint: this.checkpoint(),
      deferred: this.currentDeferred,
    };
    this.current = [];
    this.currentDeferred = false;
    const consumer = this.consumer;
    if (consumer !== null) {
      const failed = this.consumerFailed;
      this.consumer = null;
      this.consumerFailed = null;
      const batch = this.materialize(queued);
      if (batch !== null) consumer(batch);
      else this.take().then(consumer, failed ?? undefined);
    } else {
      this.sealed.push(queued);
    }
  }

  sealIfFull(): void {
    if (this.current.length >= this.batchSize) this.seal();
  }

  get full(): boolean {
    return this.sealed.length >= this.maxBatches;
  }

  /** Resolves when there is room for more batches (at once if there is). */
  waitForRoom(): Promise<void> {
    if (!this.full || this.ended || this.producersReleased) return Promise.resolve();
    return new Promise((resolve) => this.producers.push(resolve));
  }

  /** The next batch; null once the queue has ended and is drained. Throws the failure that ended it. */
  take(): Promise<EventBatch | null> {
    if (this.failure !== null) return Promise.reject(this.failure.error);
    const queued = this.sealed.shift();
    if (queued !== undefined) {
      this.wakeProducers();
      const batch = this.materialize(queued);
      return batch === null ? this.take() : Promise.resolve(batch);
    }
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.consumer = resolve;
      this.consumerFailed = reject;
    });
  }

  /** Stops making producers wait (the source is shutting down); the consumer is not told yet. */
  releaseProducers(): void {
    this.producersReleased = true;
    this.wakeProducers(true);
  }

  /**
   * The application is closing the source: batches sealed but not taken are dropped, and events
   * emitted from now on (a heartbeat or a commit the readers deliver while they stop) are never
   * sealed. A `take` already waiting gets the end, when {@link end} comes. Nothing is lost: only a
   * taken batch's checkpoint can have been committed, and a restart reads on from there.
   */
  discard(): void {
    this.discarding = true;
    this.sealed.length = 0;
    this.current = [];
    this.currentDeferred = false;
    this.wakeProducers(true);
  }

  /** No more batches after the sealed ones. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleConsumer(null);
    this.wakeProducers(true);
  }

  /** Ends the queue with an error: the consumer gets it on its next `take`, queued batches are dropped. */
  fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = { error };
    this.ended = true;
    this.sealed.length = 0;
    const reject = this.consumerFailed;
    this.consumer = null;
    this.consumerFailed = null;
    reject?.(error);
    this.wakeProducers(true);
  }

  /** The batch with its deferred events made; null when making them threw (the queue has then failed). */
  private materialize(queued: QueuedBatch): EventBatch | null {
    if (!queued.deferred) return { events: queued.events as SourceEvent[], checkpoint: queued.checkpoint };
    const events: SourceEvent[] = [];
    try {
      for (const e of queued.events) {
        if (e instanceof DeferredEvents) e.make(events);
        else events.push(e);
      }
    } catch (error) {
      this.fail(error);
      return null;
    }
    return { events, checkpoint: queued.checkpoint };
  }

  private settleConsumer(batch: EventBatch | null): void {
    const consumer = this.consumer;
    this.consumer = null;
    this.consumerFailed = null;
    consumer?.(batch);
  }

  private wakeProducers(all = false): void {
    if (!all && this.full) return;
    const producers = this.producers;
    this.producers = [];
    for (const wake of producers) wake();
  }
}
