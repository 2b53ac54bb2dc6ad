import {
  type Checkpoint,
  ClusterError,
  type JsonValue,
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
import type { ChunkFencer } from './chunk-fencer.js';
import {
  type ChunkRecord,
  type ChunkTask,
  rangeKey,
  rangeToJson,
  BARRIER_RESET,
  type Barrier,
  type BarrierRecord,
} from './chunk-record.js';
import type { Coordinator } from './coordinator.js';
import type { LogPublisher } from './log-publisher.js';
import { barrierRecordKey, chunkRecordKey } from './names.js';

/** Compare-and-swap rounds on one KV key before giving up (another writer keeps changing it). */
const CAS_ROUNDS = 50;

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
  /** The table of each chunk handed out and not yet done. */
  private readonly pendingTables = new Map<string, string>();
  /** First low watermarks of chunk records by split id: set once per record, changed only by a barrier's reset (which drops it here). */
  private readonly firstLowWatermarks = new Map<string, O>();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly offsets: OffsetCodec<O>,
    private readonly publisher: LogPublisher<O>,
    private readonly epoch: number,
    private readonly fencer: ChunkFencer,
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
    for await (const key of await state.keys('barrier.>')) keys.push(key);
    for (const key of keys) await state.purge(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signalClosed();
    this.stop?.();
    await this.watching?.catch(() => undefined);
    await this.fencer.close().catch(() => undefined);
  }

  /**
   * Appends a log batch to the log stream. A truncate or schema change of a table being snapshotted
   * is first made a barrier (see {@link barrier}), before the publish: a member whose window reaches
   * it finds it announced and its chunk reset.
   */
  async publishLog(batch: readonly LogItem<O>[]): Promise<void> {
    for (const item of batch) {
      if (item.kind === 'truncate') await this.barrier(item.table, item.offset, undefined);
      else if (item.kind === 'schema' && item.schema !== null)
        await this.barrier(
          item.table,
          item.offset,
          item.schema.columns.map((c) => c.name),
        );
    }
    await this.publisher.publish(batch);
  }

  /**
   * Orders a truncate or schema change `B` of a table being snapshotted against the members' chunk
   * writes (docs/algorithm.md, "Truncates and DDL during a cluster snapshot"): a chunk's rows land
   * before `B` when they are as of a high watermark below it, after it otherwise.
   * - Announced in the table's barrier record: a member writes only once every announced barrier at
   *   or before its high watermark is in a stored checkpoint (so in the target before its rows).
   * - Every chunk of the table with a record (handed out and not released, or listed unfinished) is
   *   reset: a fresh record at a new revision, no first low watermark, and a write with that revision
   *   as the chunk's fencing token. An attempt that claimed before may have read before `B`: from
   *   then on the sink refuses its rows, and what it wrote before is in the target ahead of `B`. The
   *   chunk is read again by an attempt that claims after the reset, so reads and takes its high
   *   watermark after `B`.
   * A barrier at or before the stored checkpoint is a replay: it landed, and was ordered when first read.
   */
  private async barrier(table: string, offset: O, columns: readonly string[] | undefined): Promise<void> {
    const stored = this.stored;
    const phase = stored?.tables[table]?.phase;
    const handedOut = [...this.pendingTables].filter(([, t]) => t === table).map(([id]) => id);
    if (phase !== 'snapshot' && handedOut.length === 0) return;
    const landed = stored?.position == null ? null : this.offsets.fromJSON(stored.position);
    if (landed !== null && this.offsets.compare(offset, landed) <= 0) return;
    const at = this.offsets.toJSON(offset);
    await this.announce(table, { offset: at, ...(columns === undefined ? {} : { columns }) }, landed);
    const ids = new Set(handedOut);
    const state = stored?.tables[table];
    if (state?.phase === 'snapshot') for (const u of state.unfinished) ids.add(snapshotSplitId(table, u.index));
    for (const id of ids) await this.resetChunk(id, at);
  }

  /** Adds `barrier` to the table's record, dropping the barriers a stored checkpoint covers. */
  private async announce(table: string, barrier: Barrier, landed: O | null): Promise<void> {
    const { state } = this.coordinator;
    const key = barrierRecordKey(table);
    const offset = this.offsets.fromJSON(barrier.offset);
    await this.compareAndSwap(key, async () => {
      const entry = await state.get(key);
      const prior = entry !== null && entry.operation === 'PUT' ? entry.json<BarrierRecord>().barriers : [];
      const kept = prior.filter(
        (b) => landed === null || this.offsets.compare(this.offsets.fromJSON(b.offset), landed) > 0,
      );
      if (!kept.some((b) => this.offsets.compare(this.offsets.fromJSON(b.offset), offset) === 0)) kept.push(barrier);
      const record: BarrierRecord = { barriers: kept };
      return entry === null
        ? state.create(key, JSON.stringify(record))
        : state.update(key, JSON.stringify(record), entry.revision);
    });
  }

  /** Resets a chunk's record at barrier `at` and shuts out its earlier attempts (see {@link barrier}). */
  private async resetChunk(splitId: string, at: JsonValue): Promise<void> {
    const { state } = this.coordinator;
    const key = chunkRecordKey(splitId);
    const revision = await this.compareAndSwap(key, async () => {
      const entry = await state.get(key);
      // No attempt claimed it yet: any that does reads after the barrier.
      if (entry === null || entry.operation !== 'PUT') return null;
      const record = entry.json<ChunkRecord>();
      const reset: ChunkRecord = {
        state: 'reading',
        member: BARRIER_RESET,
        attempts: record.attempts,
        firstLowWatermark: null,
        range: record.range,
        resetAt: at,
        at: Date.now(),
      };
      return state.update(key, JSON.stringify(reset), entry.revision);
    });
    if (revision === null) return;
    this.firstLowWatermarks.delete(splitId);
    await this.fencer.fence(splitId, revision, at);
  }

  /** Runs `attempt` (a read and a compare-and-swap write) until its write is not beaten by another writer. */
  private async compareAndSwap<T>(key: string, attempt: () => Promise<T>): Promise<T> {
    for (let round = 1; ; round++) {
      try {
        return await attempt();
      } catch (error) {
        if (round >= CAS_ROUNDS || this.closed)
          throw new ClusterError(
            `could not update ${key} in NATS bucket ${this.coordinator.names.stateBucket}: NATS is unreachable or another writer keeps changing it; this leader steps down and another takes over`,
            {
              cause: error,
              retriable: true,
            },
          );
      }
    }
  }

  async readChunk(split: SnapshotSplit, table: TableSchema, notBefore: O): Promise<RemoteChunkResult<O>> {
    const key = chunkRecordKey(split.id);
    this.pending.set(split.id, notBefore);
    this.pendingTables.set(split.id, split.table);
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
      this.pendingTables.delete(split.id);
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
      columns: table.columns.map((c) => c.name),
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
