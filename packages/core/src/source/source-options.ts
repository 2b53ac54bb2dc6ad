import type { Checkpoint, CheckpointStore } from '../checkpoint/checkpoint.js';
import type { TableFilter } from '../schema/table-filter.js';
import type { RemoteChunks } from '../snapshot/remote-chunks.js';
import type { SnapshotSplit } from '../split/split.js';
import type { SourceAdapter } from '../spi/source-adapter.js';
import type { JsonValue } from '../values/value.js';

/**
 * Where a source starts when it has no checkpoint to resume from.
 * - `initial` (default): snapshot the tables, then stream every change after it.
 * - `snapshot`: snapshot the tables and stop.
 * - `latest`: stream changes committed from now on.
 * - `earliest`: stream from the oldest change the log still has.
 * - `offset`: stream from after a serialised offset (as found in `source.offset` of an event).
 * - `timestamp`: stream from the first change committed at or after a time.
 */
export type StartupMode =
  | { readonly mode: 'initial' }
  | { readonly mode: 'snapshot' }
  | { readonly mode: 'latest' }
  | { readonly mode: 'earliest' }
  | { readonly mode: 'offset'; readonly offset: JsonValue }
  | { readonly mode: 'timestamp'; readonly timestamp: Date | number | string };

/**
 * Callbacks at the phase boundaries of every chunk read (as Flink CDC's `SnapshotPhaseHooks`), so
 * tests can write rows at exact moments. Each is awaited.
 */
export interface SnapshotPhaseHooks<O> {
  beforeLowWatermark?(split: SnapshotSplit): Promise<void> | void;
  afterLowWatermark?(split: SnapshotSplit, lowWatermark: O): Promise<void> | void;
  afterRead?(split: SnapshotSplit, rows: number): Promise<void> | void;
  beforeHighWatermark?(split: SnapshotSplit): Promise<void> | void;
  afterHighWatermark?(split: SnapshotSplit, highWatermark: O): Promise<void> | void;
}

/** How failed connections are retried: `attempts` tries after the first, with doubling delays. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** One retry inside a source, as given to {@link SourceOptions.onRetry}. */
export interface SourceRetry {
  /** Which reader failed: the log reader, or a snapshot chunk reader. */
  readonly reader: 'log' | 'chunk';
  readonly error: unknown;
  /** 1 for the first retry in a row. */
  readonly attempt: number;
  readonly attempts: number;
  readonly delayMs: number;
}

export interface SourceOptions<O> {
  readonly adapter: SourceAdapter<O>;
  /** Which tables to capture. */
  readonly tables: TableFilter;
  /** Default `{ mode: 'initial' }`. Ignored when resuming, except that `snapshot` still stops after the snapshot. */
  readonly startup?: StartupMode;
  /** Resume from this checkpoint (`null`: start fresh). When absent and `checkpointStore` is set, the store's checkpoint is used. */
  readonly resumeFrom?: Checkpoint | null;
  /**
   * Where checkpoints are kept. With a store, a batch's checkpoint is saved (and the log
   * acknowledged) when the application asks for the next batch — i.e. once the batch is processed.
   */
  readonly checkpointStore?: CheckpointStore;
  /** Rows per snapshot chunk. Default 8096. */
  readonly chunkSize?: number;
  /** Chunks read at once, each on its own connection. Default 4. */
  readonly parallelism?: number;
  /** Chunk key per table (qualified name → columns), for tables whose primary key is not the best split column or that have none; the columns must identify a row. */
  readonly chunkKeys?: { readonly [table: string]: readonly string[] };
  /**
   * A table without a primary key and without `chunkKeys` that a pattern in `tables.include`
   * selects (a name given literally is always an error when it must be snapshotted): `skip` (the
   * default) leaves it out and calls `onTableSkipped` — a new keyless table matching `app.*` does not
   * stop a working pipeline; `fail` refuses to start, before anything is read, when it must be snapshotted.
   */
  readonly keylessTables?: 'skip' | 'fail';
  /** Told about each table left out (`keylessTables: 'skip'`), with the reason, once per start. */
  readonly onTableSkipped?: (table: string, reason: string) => void;
  /** Events per batch (a batch may be larger when one chunk's rows must stay together). Default 1024. */
  readonly batchSize?: number;
  /** Batches waiting for the application before reading pauses. Default 8. */
  readonly maxQueuedBatches?: number;
  /**
   * A heartbeat batch (its checkpoint with the current position) when nothing was handed out for
   * this long, so an idle source still lets its consumer store progress. Default 10000 ms; 0 turns heartbeats off.
   */
  readonly heartbeatIntervalMs?: number;
  /** Default: 5 attempts from 100 ms up to 5 s. */
  readonly retry?: RetryPolicy;
  /**
   * How long `close()` waits for each call into the adapter it needs (a reader's `close()`, the
   * readers' end, a start in progress). One that does not settle by then is left behind and
   * `close()` rejects with `CloseTimeoutError` naming it, once the rest is closed. Default 30000 ms.
   */
  readonly closeTimeoutMs?: number;
  /**
   * Called each time the source retries after a retriable failure of its log reader or of a chunk
   * reader (a lost connection), before waiting `delayMs`. Such retries are otherwise invisible:
   * the application sees the batches go on. Must not throw.
   */
  readonly onRetry?: (retry: SourceRetry) => void;
  /**
   * Told when a table's snapshot ends before all its chunks were read because the table was dropped
   * or renamed in the source meanwhile (a chunk read that finds it missing waits for the log to say
   * which, then moves on). The rows read so far were emitted; a renamed table is not captured under
   * its new name. Must not throw.
   */
  readonly onSnapshotAbandoned?: (table: string, reason: string) => void;
  /** Test hooks at the phase boundaries of each chunk read. */
  readonly phaseHooks?: SnapshotPhaseHooks<O>;
  /**
   * Snapshot chunks are read, merged and written by other processes (`@highwater/cluster`); this
   * source keeps the log reader and the gate, and emits changes only. `parallelism` is then the
   * number of chunks handed out at once. Phase hooks do not apply to such chunks.
   */
  readonly remoteChunks?: RemoteChunks<O>;
}

export interface ResolvedSourceOptions<O> extends SourceOptions<O> {
  readonly startup: StartupMode;
  readonly chunkSize: number;
  readonly parallelism: number;
  readonly batchSize: number;
  readonly maxQueuedBatches: number;
  readonly heartbeatIntervalMs: number;
  readonly retry: RetryPolicy;
  readonly closeTimeoutMs: number;
}
