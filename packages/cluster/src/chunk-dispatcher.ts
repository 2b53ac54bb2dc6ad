import {
  type Checkpoint,
  ClusterError,
  type LogItem,
  type OffsetCodec,
  type RemoteChunkResult,
  type RemoteChunks,
  type SnapshotSplit,
  snapshotSplitId,
  type TableSchema,
  tableName,
} from '@highwater/core';
import { type KvWatchEntry, KvWatchInclude } from '@nats-io/kv';
import { type ChunkRecord, type ChunkTask, rangeKey, rangeToJson } from './chunk-record.js';
import type { Coordinator } from './coordinator.js';
import type { LogPublisher } from './log-publisher.js';
import { chunkRecordKey } from './names.js';

/** Someone waiting for updates of a chunk record; `take` returns true once it needs no more. */
interface Waiter {
  take(entry: KvWatchEntry): boolean;
}

/**
 * The leader's side of the chunk work queue (core's `RemoteChunks`): a split the core hands out is
 * put on the queue, and the call resolves when a member's record says the chunk is done with a
 * high watermark the core can release it at. A chunk already queued (by an earlier leader) is not
 * queued twice; a record done below `notBefore` (an earlier run's) is read again.
 */
export class ChunkDispatcher<O> implements RemoteChunks<O> {
  private readonly waiters = new Map<string, Waiter[]>();
  private watching: Promise<void> | null = null;
  private stop: (() => void) | null = null;
  private closed = false;
  private readonly closing: Promise<void>;
  private signalClosed!: () => void;
  /** The last checkpoint stored in KV, and the splits waiting to be listed in one. */
  private stored: Checkpoint | null = null;
  private readonly unlisted = new Map<SnapshotSplit, () => void>();
  /**
   * Chunks handed out and not yet done (the status page counts them), each with the `notBefore` it
   * was handed out with: a reader of it takes its low watermark later, so its window starts there or after.
   */
  readonly pending = new Map<string, O>();
  /** First low watermarks of chunk records by split id: set once per record, never changed. */
  private readonly firstLowWatermarks = new Map<string, O>();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly offsets: OffsetCodec<O>,
    private readonly publisher: LogPublisher<O>,
    private readonly epoch: number,
  ) {
    this.closing = new Promise((resolve) => {
      this.signalClosed = resolve;
    });
  }

  /**
   * A checkpoint of this pipeline is stored in KV (loaded at start, or saved by this leader). A split
   * is queued only once a stored checkpoint lists it: a leader that takes over then resumes every
   * split a member may have written, with the same range (a split produced again after a crash could
   * get other bounds, and rows written for the old ones would be nobody's to correct).
   */
  checkpointStored(checkpoint: Checkpoint): void {
    this.stored = checkpoint;
    for (const [split, resolve] of this.unlisted) {
      if (listed(checkpoint, split)) {
        this.unlisted.delete(split);
        resolve();
      }
    }
  }

  private whenListed(split: SnapshotSplit): Promise<void> {
    if (this.stored !== null && listed(this.stored, split)) return Promise.resolve();
    return new Promise((resolve) => this.unlisted.set(split, resolve));
  }

  /** Starts following chunk records; call before the first {@link readChunk}. */
  async open(): Promise<void> {
    const watch = await this.coordinator.state.watch({
      key: 'chunk.>',
      include: KvWatchInclude.UpdatesOnly,
      ignoreDeletes: true,
    });
    this.stop = () => watch.stop();
    this.watching = (async () => {
      for await (const entry of watch) {
        const list = this.waiters.get(entry.key);
        if (list === undefined) continue;
        const left = list.filter((w) => !w.take(entry));
        if (left.length === 0) this.waiters.delete(entry.key);
        else this.waiters.set(entry.key, left);
      }
    })();
  }

  /**
   * Drops the chunks an earlier leader queued: the splits this leader resumes keep their ranges, but
   * a split the earlier leader produced after its last checkpoint is produced again, maybe with other
   * bounds; its old task must not be read. With `records`, also every chunk record (a snapshot
   * starting from scratch).
   */
  async reset(records: boolean): Promise<void> {
    const { state, jsm, names } = this.coordinator;
    await jsm.streams.purge(names.chunkStream);
    if (!records) return;
    const keys: string[] = [];
    for await (const key of await state.keys('chunk.>')) keys.push(key);
    for (const key of keys) await state.purge(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signalClosed();
    this.stop?.();
    await this.watching?.catch(() => undefined);
  }

  publishLog(batch: readonly LogItem<O>[]): Promise<void> {
    return this.publisher.publish(batch);
  }

  async readChunk(split: SnapshotSplit, table: TableSchema, notBefore: O): Promise<RemoteChunkResult<O>> {
    const key = chunkRecordKey(split.id);
    this.pending.set(split.id, notBefore);
    try {
      await Promise.race([this.whenListed(split), this.closing]);
      for (let dispatches = 0; !this.closed; ) {
        // Listening before reading the record: an update between the two is not missed.
        const listener = this.listen(key);
        const entry = await this.coordinator.state.get(key);
        const revision = entry?.revision ?? 0;
        const record = entry !== null && entry.operation === 'PUT' ? entry.json<ChunkRecord>() : null;
        const range = rangeKey(rangeToJson(split.range));
        if (record?.state === 'done' && record.highWatermark !== undefined && record.range === range) {
          const highWatermark = this.offsets.fromJSON(record.highWatermark);
          if (this.offsets.compare(highWatermark, notBefore) >= 0) {
            listener.cancel();
            return { highWatermark, rows: record.rows ?? 0 };
          }
        }
        // Done too early for this run, never queued, or queued by a leader that crashed before: queue
        // it unless it still waits on the queue (a member then reads it; its record will say done).
        const queued = record?.state !== 'done' && (await this.queued(split.id));
        if (!queued) await this.dispatch(split, table, revision, ++dispatches);
        await listener.after(revision);
      }
      throw new ClusterError(`the leader stopped while chunk ${split.id} was being read`, { retriable: true });
    } finally {
      this.pending.delete(split.id);
    }
  }

  /**
   * The lowest offset a chunk window may still start at, or `null` when no window can need anything
   * the log stream holds now (docs/algorithm.md, "Scale-out", trimming the log stream). A window
   * starts at its reader's low watermark, or at the chunk's first low watermark when read again, so
   * the floor is the lowest of
   * - the `notBefore` of each chunk handed out and not done: its readers take their low watermark
   *   after it was queued, so at or after it;
   * - the first low watermark recorded for each split the stored checkpoint lists as unfinished:
   *   any of them may still be read again (by this leader, or by the next one after a crash), and
   *   then merges from there.
   * A chunk queued after this call takes its low watermark after every message the stream holds
   * now (the log reader published them, so the database was already past them).
   */
  async windowFloor(): Promise<O | null> {
    // Taken before the first await: what is handed out from here on opens its window later.
    const floors = [...this.pending.values()];
    const unfinished: string[] = [];
    for (const [table, state] of Object.entries(this.stored?.tables ?? {})) {
      if (state.phase === 'snapshot')
        for (const u of state.unfinished) unfinished.push(snapshotSplitId(table, u.index));
    }
    for (const id of unfinished) {
      let first = this.firstLowWatermarks.get(id);
      if (first === undefined) {
        const entry = await this.coordinator.state.get(chunkRecordKey(id));
        const recorded =
          entry !== null && entry.operation === 'PUT' ? entry.json<ChunkRecord>().firstLowWatermark : null;
        if (recorded !== null) {
          first = this.offsets.fromJSON(recorded);
          this.firstLowWatermarks.set(id, first);
        }
      }
      if (first !== undefined) floors.push(first);
    }
    const listed = new Set(unfinished);
    for (const id of this.firstLowWatermarks.keys()) if (!listed.has(id)) this.firstLowWatermarks.delete(id);
    let lowest: O | null = null;
    for (const floor of floors) if (lowest === null || this.offsets.compare(floor, lowest) < 0) lowest = floor;
    return lowest;
  }

  private async queued(splitId: string): Promise<boolean> {
    const { jsm, names } = this.coordinator;
    const last = await jsm.streams.getMessage(names.chunkStream, { last_by_subj: names.chunkSubject(splitId) });
    return last !== null;
  }

  private async dispatch(split: SnapshotSplit, table: TableSchema, revision: number, attempt: number): Promise<void> {
    const { js, names } = this.coordinator;
    const task: ChunkTask = {
      id: split.id,
      table: split.table,
      tableId: table.id,
      index: split.index,
      ...rangeToJson(split.range),
      chunkKey: table.chunkKey,
      basedOn: revision,
      epoch: this.epoch,
    };
    // The id makes a publish retried within the duplicate window land once.
    await js.publish(names.chunkSubject(split.id), JSON.stringify(task), {
      msgID: `${tableName(table.id)}:${split.index}@${this.epoch}.${revision}.${attempt}`,
    });
  }

  /** Collects updates of `key` from now on; `after(r)` resolves with the first one past revision r (or at close). */
  private listen(key: string): { after(revision: number): Promise<void>; cancel(): void } {
    const seen: KvWatchEntry[] = [];
    let wanted: { revision: number; resolve: () => void } | null = null;
    const waiter: Waiter = {
      take: (entry) => {
        if (wanted === null) {
          seen.push(entry);
          return false;
        }
        if (entry.revision <= wanted.revision) return false;
        wanted.resolve();
        return true;
      },
    };
    const list = this.waiters.get(key) ?? [];
    list.push(waiter);
    this.waiters.set(key, list);
    const cancel = () => {
      const rest = this.waiters.get(key)?.filter((w) => w !== waiter) ?? [];
      if (rest.length === 0) this.waiters.delete(key);
      else this.waiters.set(key, rest);
    };
    return {
      cancel,
      after: (revision) => {
        if (seen.some((e) => e.revision > revision)) {
          cancel();
          return Promise.resolve();
        }
        const updated = new Promise<void>((resolve) => {
          wanted = { revision, resolve };
        });
        return Promise.race([updated, this.closing]).finally(cancel);
      },
    };
  }
}

/** Whether the checkpoint lists `split` among its table's unfinished splits. */
function listed(checkpoint: Checkpoint, split: SnapshotSplit): boolean {
  const table = checkpoint.tables[split.table];
  return table?.phase === 'snapshot' && table.unfinished.some((u) => u.index === split.index);
}
