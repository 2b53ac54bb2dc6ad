import type { TableSchema } from '../schema/table-schema.js';
import type { LogItem } from '../spi/log-item.js';
import type { SnapshotSplit } from '../split/split.js';

/** What a chunk read elsewhere reports once its rows are durable in the sink. */
export interface RemoteChunkResult<O> {
  /** The high watermark the rows are as of: changes after it on the chunk's keys are the source's to emit. */
  readonly highWatermark: O;
  /** Rows written. */
  readonly rows: number;
}

/**
 * Snapshot chunks read, merged and written by other processes (`@highwater/cluster`), while this
 * source keeps the one log reader, the split enumerator and the high-watermark gate. The source then
 * emits no snapshot rows itself: only changes, each once, after the high watermark of its key's chunk.
 *
 * The contract that keeps the algorithm exact (docs/algorithm.md, "Scale-out"):
 * - `publishLog` receives every log batch, in log order, before the source routes it, so whoever reads
 *   a chunk can merge the changes between its own low and high watermark;
 * - `readChunk` resolves only once the chunk's rows, as of the returned high watermark, are durable in
 *   the sink, and that high watermark is at or after `notBefore`.
 *
 * Just before each `readChunk` call the source seals a batch (empty if need be) whose checkpoint lists
 * the split among the unfinished ones: the remote side may wait until that checkpoint is stored
 * before letting anyone write the chunk's rows, so that a restart resumes the split as it was.
 */
export interface RemoteChunks<O> {
  /** Called with each log batch while a table is being snapshotted, before it is routed; awaited. */
  publishLog(batch: readonly LogItem<O>[]): Promise<void>;
  /**
   * Has `split` of `table` read elsewhere. `notBefore` is the later of the chunk's low watermark here
   * and the offset through which events were emitted before this run resumed: a result below it
   * (a chunk finished by an earlier run, whose held changes this run cannot tell apart from emitted
   * ones) must be read again.
   */
  readChunk(split: SnapshotSplit, table: TableSchema, notBefore: O): Promise<RemoteChunkResult<O>>;
}
