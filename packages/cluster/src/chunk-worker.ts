import {
  type Checkpoint,
  type ChunkChange,
  type ChunkReader,
  eventKeyRowOf,
  type Introspector,
  mergeChunkWithRemovals,
  type Row,
  type Sink,
  type SourceAdapter,
  type SnapshotPhaseHooks,
  type SnapshotSplit,
  type SourceInfo,
  type TableSchema,
  UnsupportedError,
  unknownColumnsOf,
  chunkKeyOf,
  diffTableSchemas,
  FencedWriteError,
  type SchemaChangeEvent,
  type SourceEvent,
} from '@highwater/core';
import type { JsMsg } from '@nats-io/jetstream';
import { chunkCheckpoint, chunkFenceScope } from './chunk-fencer.js';
import {
  type ChunkRecord,
  type ChunkTask,
  rangeKey,
  BARRIER_RESET,
  type BarrierRecord,
  taskRange,
} from './chunk-record.js';
import { leaseHolder } from './lease.js';
import type { Coordinator } from './coordinator.js';
import type { LogWindowReader } from './log-window.js';
import { barrierRecordKey, CHECKPOINT_KEY, chunkRecordKey } from './names.js';

/**
 * What became of a chunk's message: done (acknowledge it), taken over by another attempt (leave it
 * alone), or to be read again soon (hand it back): the leader reset the chunk at a barrier, or the
 * table changed shape ahead of the leader's log.
 */
type Outcome = 'ack' | 'leave' | 'again';

/** How long a chunk handed back to be read again waits on the queue. */
const AGAIN_DELAY_MS = 500;

/** What a member's chunk readers share. */
export interface ChunkWorkContext<O> {
  readonly coordinator: Coordinator;
  readonly adapter: SourceAdapter<O>;
  readonly introspector: Introspector<O>;
  readonly window: LogWindowReader<O>;
  readonly member: string;
  /** Opens a sink for chunk rows (one per reader: a sink writes one batch at a time). */
  readonly createSink: () => Promise<Sink>;
  readonly log: (level: 'info' | 'warn' | 'debug', fields: object, message: string) => void;
  /** Told when a reader starts and finishes a chunk (status). */
  readonly onChunk?: (reader: number, chunk: string | null) => void;
  readonly stopped: () => boolean;
  /** Test hooks at the phase boundaries of each chunk read, as the core's. */
  readonly phaseHooks?: SnapshotPhaseHooks<O>;
}

/**
 * One of a member's chunk readers: takes chunks from the work queue and, for each, takes a low
 * watermark, reads the rows, takes a high watermark, merges the log window the leader published
 * (core's `mergeChunkWithRemovals`) and writes the rows straight to the sink; then records the chunk
 * done and acknowledges it. The queue message is kept alive with in-progress heartbeats; a reader
 * that dies stops them and the chunk goes to another member after the ack wait.
 */
export class ChunkWorker<O> {
  private reader: ChunkReader | null = null;
  private sink: Sink | null = null;
  /** Per table, the definition this reader's sink was last given: a write with more columns tells it first. */
  private readonly told = new Map<string, TableSchema>();

  constructor(
    private readonly context: ChunkWorkContext<O>,
    private readonly index: number,
  ) {}

  async run(): Promise<void> {
    const { coordinator } = this.context;
    const consumer = await coordinator.js.consumers.get(coordinator.names.chunkStream, coordinator.names.chunkConsumer);
    try {
      while (!this.context.stopped()) {
        // NATS away (the client reconnects by itself): wait and ask again rather than leave the cluster.
        const message = await consumer.next({ expires: 2_000 }).catch(async (error: unknown) => {
          if (!this.context.stopped()) {
            this.context.log('warn', { error: String(error) }, 'could not take a chunk from NATS; retrying');
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
          return null;
        });
        if (message === null) continue;
        await this.handle(message);
      }
    } finally {
      await this.reader?.close().catch(() => undefined);
      await this.sink?.close().catch(() => undefined);
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    const task = message.json<ChunkTask>();
    const heartbeat = setInterval(
      () => message.working(),
      Math.max(200, this.context.coordinator.timings.ackWaitMs / 3),
    );
    this.context.onChunk?.(this.index, task.id);
    try {
      const outcome = await this.readChunk(task);
      if (outcome === 'ack') message.ack();
      else if (outcome === 'again') message.nak(AGAIN_DELAY_MS);
    } catch (error) {
      this.context.log(
        'warn',
        { chunk: task.id, error: String(error) },
        `chunk ${task.id} failed; it will be read again`,
      );
      await this.reset();
      if (!this.context.stopped()) message.nak(1_000);
    } finally {
      clearInterval(heartbeat);
      this.context.onChunk?.(this.index, null);
    }
  }

  /** Reads, merges and writes one chunk. */
  private async readChunk(task: ChunkTask): Promise<Outcome> {
    const { coordinator, adapter, introspector, window, member } = this.context;
    const offsets = adapter.offsets;
    const key = chunkRecordKey(task.id);
    const state = coordinator.state;
    const entry = await state.get(key);
    const prior = entry !== null && entry.operation === 'PUT' ? entry.json<ChunkRecord>() : null;
    if (prior?.state === 'done' && (entry?.revision ?? 0) > task.basedOn) return 'ack'; // stale task
    if (await this.queuedByEarlierLeader(task)) return 'ack';
    const claim: ChunkRecord = {
      state: 'reading',
      member,
      attempts: (prior?.attempts ?? 0) + 1,
      firstLowWatermark: prior?.firstLowWatermark ?? null,
      range: rangeKey(task),
      at: Date.now(),
      ...(prior?.resetAt === undefined ? {} : { resetAt: prior.resetAt }),
    };
    let revision =
      entry === null
        ? await state.create(key, JSON.stringify(claim))
        : await state.update(key, JSON.stringify(claim), entry.revision);
    const schema = await this.schemaOf(task);
    const range = taskRange(task);
    const split: SnapshotSplit = { kind: 'snapshot', id: task.id, table: task.table, index: task.index, range };
    const hooks = this.context.phaseHooks;
    await hooks?.beforeLowWatermark?.(split);
    const lowWatermark = await introspector.lowWatermark();
    await hooks?.afterLowWatermark?.(split, lowWatermark);
    const redo = claim.firstLowWatermark !== null;
    const windowStart = redo
      ? offsets.fromJSON(claim.firstLowWatermark as NonNullable<ChunkRecord['firstLowWatermark']>)
      : lowWatermark;
    const record: ChunkRecord = redo ? claim : { ...claim, firstLowWatermark: offsets.toJSON(lowWatermark) };
    if (!redo) revision = await state.update(key, JSON.stringify(record), revision);

    this.reader ??= await adapter.createChunkReader();
    const rows: Row[] = [];
    for await (const batch of this.reader.readChunk(schema, range)) for (const row of batch) rows.push(row);
    await hooks?.afterRead?.(split, rows.length);
    await hooks?.beforeHighWatermark?.(split);
    const highWatermark = await introspector.highWatermark();
    await hooks?.afterHighWatermark?.(split, highWatermark);
    const changes = await window.read(task.table, windowStart, highWatermark);
    // A column added while the chunk was read shows in the after-images of the window's changes: the
    // table is described again so the sink learns it. Rows read without it list it as unknown (the
    // target keeps the value it got when the column was added: no change in the window set it).
    const known = new Set(schema.columns.map((c) => c.name));
    const gained = changes.some(
      (c) => c.kind === 'change' && c.after !== null && Object.keys(c.after).some((name) => !known.has(name)),
    );
    const written = gained ? await this.schemaOf(task) : schema;
    const compare = (a: Parameters<typeof adapter.compareKeys>[1], b: Parameters<typeof adapter.compareKeys>[2]) =>
      adapter.compareKeys(schema, a, b);
    const merged = mergeChunkWithRemovals(rows, changes, {
      keyOf: (row) => chunkKeyOf(schema, row),
      inChunk: (k) =>
        (range.start === null || compare(k, range.start) >= 0) && (range.end === null || compare(k, range.end) < 0),
    });
    if (redo && merged.truncated && this.truncatedSince(changes, claim.resetAt)) {
      throw new UnsupportedError(
        `table ${task.table} was truncated while chunk ${task.id} was read again after a failure: restart the pipeline's snapshot (delete its checkpoint in NATS bucket ${coordinator.names.stateBucket})`,
      );
    }
    // Truncates and DDL of the table at or before the high watermark land before these rows.
    if ((await this.barriersStored(task, written, highWatermark)) === 'again') return 'again';
    const source: SourceInfo = {
      connector: adapter.name,
      table: task.table,
      tableId: schema.id,
      opTs: Date.now(),
      offset: offsets.toJSON(highWatermark),
      txId: null,
      snapshot: true,
    };
    const columns = written.columns.map((c) => c.name);
    const events: SourceEvent[] = [];
    const added = this.columnsAdded(task.table, written, source);
    if (added !== null) events.push(added);
    for (const row of merged.rows) {
      events.push({
        kind: 'change',
        op: 'r',
        key: eventKeyRowOf(schema, row),
        before: null,
        after: row,
        beforeImage: 'none',
        unknownColumns: unknownColumnsOf(row, columns),
        source,
      });
    }
    // A chunk read again removes what an earlier attempt wrote and is gone now (see ChunkRecord).
    if (redo) {
      for (const before of merged.removed) {
        events.push({
          kind: 'change',
          op: 'd',
          key: eventKeyRowOf(schema, before),
          before,
          after: null,
          beforeImage: 'key',
          unknownColumns: [],
          source: { ...source, snapshot: false },
        });
      }
    }
    const current = await state.get(key);
    if (current?.revision !== revision) return this.takenOver(task, 'before its write');
    if (await this.queuedByEarlierLeader(task)) return 'ack';
    this.sink ??= await this.openSink();
    // The claim's revision is the fencing token: a later attempt claims at a higher one, and once it
    // has written, the sink refuses this attempt's rows even if it stalled past every check above.
    try {
      await this.sink.write({
        events,
        checkpoint: chunkCheckpoint(adapter.name, offsets.toJSON(highWatermark)),
        fence: { scope: chunkFenceScope(task.id), token: revision },
      });
    } catch (error) {
      if (!(error instanceof FencedWriteError)) throw error;
      return this.takenOver(task, 'and its write was refused');
    }
    const done: ChunkRecord = {
      ...record,
      state: 'done',
      highWatermark: offsets.toJSON(highWatermark),
      rows: merged.rows.length,
      at: Date.now(),
    };
    try {
      await state.update(key, JSON.stringify(done), revision);
    } catch {
      return this.takenOver(task, 'after its write');
    }
    this.told.set(task.table, written);
    this.context.log('debug', { chunk: task.id, rows: merged.rows.length, redo }, `chunk ${task.id} written`);
    return 'ack';
  }

  /**
   * The chunk's record moved on under this attempt: another attempt claimed it (it holds the
   * message's successor; leave this one alone), or the leader reset it at a truncate and nobody
   * claimed it since (hand the message back so it is read again soon, not after the ack wait).
   */
  private async takenOver(task: ChunkTask, when: string): Promise<Outcome> {
    const entry = await this.context.coordinator.state.get(chunkRecordKey(task.id));
    const record = entry !== null && entry.operation === 'PUT' ? entry.json<ChunkRecord>() : null;
    if (record?.member === BARRIER_RESET) {
      this.context.log(
        'info',
        { chunk: task.id },
        `chunk ${task.id} was reset at a truncate or DDL ${when}; reading it again`,
      );
      return 'again';
    }
    this.context.log(
      'info',
      { chunk: task.id },
      `chunk ${task.id} was taken over by another attempt ${when}; leaving it`,
    );
    return 'leave';
  }

  /**
   * Whether the window holds a truncate after the one the chunk's record was last reset at (any, if
   * never): such a truncate may have landed after rows an earlier attempt read before it.
   */
  private truncatedSince(changes: readonly ChunkChange<O>[], resetAt: ChunkRecord['resetAt']): boolean {
    const offsets = this.context.adapter.offsets;
    const reset = resetAt === undefined ? null : offsets.fromJSON(resetAt);
    return changes.some((c) => c.kind === 'truncate' && (reset === null || offsets.compare(c.offset, reset) > 0));
  }

  /**
   * Waits until every barrier of the table (truncate, schema change) the leader announced at or
   * before `highWatermark` is in a stored checkpoint, so in the target: the rows are as of
   * `highWatermark` and must land after what came before it (docs/algorithm.md, "Truncates and DDL
   * during a cluster snapshot"). The leader announces a barrier before it publishes it, and the
   * window was read up to `highWatermark`, so every such barrier is in the record by now.
   *
   * A table that lost a column the leader knew when it queued the chunk (renamed or dropped since)
   * gives rows the target can take only after the leader's change: that change must be among the
   * barriers, else the leader's log has not reached it yet and the chunk is read again later
   * (`again`). Its sink is then opened afresh, to learn the target as the leader left it.
   */
  private async barriersStored(task: ChunkTask, written: TableSchema, highWatermark: O): Promise<'stored' | 'again'> {
    const { coordinator, adapter } = this.context;
    const offsets = adapter.offsets;
    const entry = await coordinator.state.get(barrierRecordKey(task.table));
    const barriers = entry !== null && entry.operation === 'PUT' ? entry.json<BarrierRecord>().barriers : [];
    const before = barriers.filter((b) => offsets.compare(offsets.fromJSON(b.offset), highWatermark) <= 0);
    const names = written.columns.map((c) => c.name);
    const lost = (known: readonly string[] | undefined) => known?.some((c) => !names.includes(c)) ?? false;
    if (lost(task.columns)) {
      const now = [...names].sort().join('\u0000');
      if (!before.some((b) => b.columns !== undefined && [...b.columns].sort().join('\u0000') === now)) {
        this.context.log(
          'info',
          { chunk: task.id },
          `chunk ${task.id}: table ${task.table} changed shape ahead of the leader's log; reading it again`,
        );
        return 'again';
      }
    }
    if (lost(this.told.get(task.table)?.columns.map((c) => c.name))) {
      const sink = this.sink;
      this.sink = null;
      this.told.delete(task.table);
      await sink?.close().catch(() => undefined);
    }
    let latest: O | null = null;
    for (const b of before) {
      const offset = offsets.fromJSON(b.offset);
      if (latest === null || offsets.compare(offset, latest) > 0) latest = offset;
    }
    if (latest !== null) await this.storedThrough(task.table, latest);
    return 'stored';
  }

  /** Waits until the pipeline's stored checkpoint is at or past `through` (following its key on the server). */
  private async storedThrough(table: string, through: O): Promise<void> {
    const { coordinator, adapter, stopped } = this.context;
    const offsets = adapter.offsets;
    const watch = await coordinator.state.watch({ key: CHECKPOINT_KEY });
    // The watch waits on the server; a stopping member ends it from here.
    const stopping = setInterval(() => {
      if (stopped()) watch.stop();
    }, 500);
    try {
      for await (const update of watch) {
        if (update.operation !== 'PUT') continue;
        const position = update.json<Checkpoint>().position;
        if (position !== null && offsets.compare(offsets.fromJSON(position), through) >= 0) return;
      }
      throw new Error(`the member stopped while waiting for a truncate or DDL of ${table} to be stored`);
    } finally {
      clearInterval(stopping);
      watch.stop();
    }
  }

  /**
   * True when another leader took over since this chunk was queued: the new leader queues its
   * unfinished chunks again (maybe with other bounds) and this task is to be dropped. While the lease
   * is vacant nothing replaced the task yet, so it stays valid.
   */
  private async queuedByEarlierLeader(task: ChunkTask): Promise<boolean> {
    const holder = await leaseHolder(this.context.coordinator);
    if (holder === null || holder.epoch === undefined || holder.epoch === 0 || holder.epoch === task.epoch)
      return false;
    this.context.log(
      'info',
      { chunk: task.id, epoch: task.epoch, leaderEpoch: holder.epoch },
      `chunk ${task.id} was queued by an earlier leader; dropped`,
    );
    return true;
  }

  /**
   * The table as the source defines it now, described for every chunk before its read (the rows are
   * read with every column the table has then), and again at its high watermark when a change of
   * the window carries a column the first description lacked (the columns the rows are written with). The leader learns a column added since from the log, maybe only after
   * this chunk is written: rows read without it would leave it at its default in the target, even
   * for a value set before the chunk's low watermark, and a change in the window setting it would
   * carry a column the sink does not know.
   */
  private async schemaOf(task: ChunkTask): Promise<TableSchema> {
    const [described] = await this.context.introspector.describeTables([task.tableId]);
    if (described === undefined) throw new UnsupportedError(`table ${task.table} is gone from the source`);
    return { ...described, chunkKey: task.chunkKey };
  }

  /**
   * A schema event adding to the target the columns the table gained since this reader's sink last
   * wrote it, or null when it gained none. Only additions: drops, renames and type changes are the
   * leader's to apply, in log order; an add the leader makes too finds the column there (the sink
   * checks a schema change against its catalog as it is then).
   */
  private columnsAdded(table: string, schema: TableSchema, source: SourceInfo): SchemaChangeEvent | null {
    const before = this.told.get(table);
    if (before === undefined) return null;
    const changes = diffTableSchemas(before, schema).filter((c) => c.kind === 'add-column');
    if (changes.length === 0) return null;
    return { kind: 'schema', table, schema, before, changes, ddl: null, source: { ...source, snapshot: false } };
  }

  private async openSink(): Promise<Sink> {
    const sink = await this.context.createSink();
    await sink.open();
    return sink;
  }

  private async reset(): Promise<void> {
    const reader = this.reader;
    const sink = this.sink;
    this.reader = null;
    this.sink = null;
    this.told.clear();
    await reader?.close().catch(() => undefined);
    await sink?.close().catch(() => undefined);
  }
}
