import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { SourceEvent } from '../events/source-event.js';
import type { EventBatch } from './event-batch.js';

/**
 * Where events wait for the application. Producers append events synchronously and seal a batch
 * only at a consistent point (never inside one log item or one chunk), so every batch's
 * checkpoint describes exactly the events up to its end. Producers wait while `maxBatches` sealed
 * batches are unread, which is what makes a slow consumer slow the reading down.
 */
export class OutputQueue {
  private current: SourceEvent[] = [];
  private readonly sealed: EventBatch[] = [];
  private consumer: ((batch: EventBatch | null) => void) | null = null;
  private consumerFailed: ((error: unknown) => void) | null = null;
  private producers: (() => void)[] = [];
  private ended = false;
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

  /** Seals the pending events into a batch (an empty one only when `evenIfEmpty`). */
  seal(evenIfEmpty = false): void {
    if (this.ended || (this.current.length === 0 && !evenIfEmpty)) return;
    const batch: EventBatch = { events: this.current, checkpoint: this.checkpoint() };
    this.current = [];
    const consumer = this.consumer;
    if (consumer !== null) {
      this.consumer = null;
      this.consumerFailed = null;
      consumer(batch);
    } else {
      this.sealed.push(batch);
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
    const batch = this.sealed.shift();
    if (batch !== undefined) {
      this.wakeProducers();
      return Promise.resolve(batch);
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
