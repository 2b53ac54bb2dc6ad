import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { EventBatch } from '../source/event-batch.js';

/**
 * Where a pipeline delivers batches: a table-replicating database, a file, a broker. The runner
 * (`highwater run`, or an application's own loop) calls `open` once, then `write` for each batch in
 * order, then `close`.
 *
 * A sink that can store the source checkpoint in the same transaction as the data
 * (`storesCheckpoints: true`) gives end-to-end exactly-once: `open` returns the checkpoint stored
 * with the data, the source resumes from it, and a crash between two writes loses and repeats
 * nothing. Any other sink is paired with a `CheckpointStore` that is saved after each `write`, and
 * so is at-least-once across a crash (the last batch may be written again).
 *
 * The full contract (order per key, schema changes, values, errors) and the conformance suite every
 * sink runs (`@highwater/conformance/sink`) are in docs/writing-a-sink.md.
 *
 * @example
 * const sink = createMySink(config);
 * const resumeFrom = sink.storesCheckpoints ? await sink.open() : (await sink.open(), await store.load());
 * const source = createSource({ adapter, tables, resumeFrom });
 * for await (const batch of source) {
 *   await sink.write(batch);
 *   await source.commit(batch.checkpoint);
 * }
 */
export interface Sink {
  /** Short name for logs and metrics, e.g. `postgres`. */
  readonly name: string;
  /** True when `write` stores `batch.checkpoint` atomically with the batch's data. */
  readonly storesCheckpoints: boolean;
  /**
   * Connects and prepares the target. Returns the checkpoint stored with the data when
   * `storesCheckpoints` (`null` for a fresh target), otherwise `null`.
   */
  open(): Promise<Checkpoint | null>;
  /**
   * Applies a batch. Returns once it is durable; with `storesCheckpoints`, its checkpoint is durable
   * with it. Batches arrive in source order; an empty `events` list still carries a checkpoint
   * (heartbeats, finished chunks) worth storing.
   */
  write(batch: EventBatch): Promise<void>;
  /** Releases connections. Called once, also after a failed `write`. */
  close(): Promise<void>;
}
