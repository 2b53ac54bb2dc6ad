import type { Checkpoint, TableCheckpoint } from '../checkpoint/checkpoint.js';
import { parseCheckpoint } from '../checkpoint/parse-checkpoint.js';
import { createTableSplitter } from '../chunking/table-splitter.js';
import type { Assignment } from '../enumerator/split-assigner.js';
import { SplitAssigner, SplittingFailed } from '../enumerator/split-assigner.js';
import type { ChunkWindow, UnfinishedSplit } from '../enumerator/table-snapshot.js';
import { isUndecoded, TableSnapshot } from '../enumerator/table-snapshot.js';
import {
  asHighwaterError,
  CheckpointError,
  CloseTimeoutError,
  ConfigError,
  isRetriable,
  SourceClosedError,
  TableNotFoundError,
  UnsupportedError,
} from '../errors/errors.js';
import { RateMeter } from '../metrics/rate-meter.js';
import type { SourceMetrics, TableSnapshotProgress } from '../metrics/source-metrics.js';
import type { TableFilter } from '../schema/table-filter.js';
import { compileTableFilter } from '../schema/table-filter.js';
import type { TableSchema } from '../schema/table-schema.js';
import { tableName } from '../schema/table-schema.js';
import type { ChunkReader, Introspector, LogReader, SourceAdapter, UndecodedRows } from '../spi/source-adapter.js';
import type { LogItem } from '../spi/log-item.js';
import type { AlgorithmVariant } from '../stream/change-router.js';
import { ChangeRouter } from '../stream/change-router.js';
import { RetainedChanges } from '../stream/retained-changes.js';
import { RetentionFloor } from '../stream/retention-floor.js';
import type { Key, Row } from '../values/value.js';
import type { CapturedTable } from './captured-table.js';
import { discoverTables, type KeylessPolicy, requireChunkKey } from './discover-tables.js';
import type { EventBatch } from './event-batch.js';
import { OutputQueue } from './output-queue.js';
import { settleWithin } from './settle-within.js';
import type { ResolvedSourceOptions } from './source-options.js';
import type { Source } from './source.js';

/** Retained changes beyond this many make the log reader ask for a fresh low watermark to trim them. */
const RETENTION_SAMPLE_THRESHOLD = 50_000;

/**
 * After a chunk read found its table missing and the log reader passed a high watermark taken after
 * it, how long the core still waits for the adapter to report the drop or rename (an adapter that
 * learns of DDL from the catalog, as Postgres does, reports it at its next check).
 */
const TABLE_GONE_GRACE_MS = 15_000;

/**
 * The engine behind `createSource`: one log reader running through snapshot and stream, `parallelism`
 * chunk readers, the router between them, and the queue to the application.
 */
export class SourceRuntime<O> implements Source {
  private state: SourceMetrics['state'] = 'created';
  private readonly adapter: SourceAdapter<O>;
  private readonly compare: (a: O, b: O) => number;
  private readonly output: OutputQueue;
  private readonly assigner = new SplitAssigner<O>();
  private router: ChangeRouter<O> | null = null;
  private floor: RetentionFloor<O> | null = null;
  private introspector: Introspector<O> | null = null;
  private logReader: LogReader<O> | null = null;
  private position: O | null = null;
  private snapshotOnly = false;
  private complete = false;
  private started: Promise<void> | null = null;
  /** `begin()` itself, which shutdown waits for (not `started`, which waits for the shutdown on failure). */
  private beginning: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private failure: unknown = null;
  private readonly tasks = new Set<Promise<void>>();
  private readonly awaitingRelease: { table: CapturedTable<O>; entry: UnfinishedSplit<O> }[] = [];
  private workers = 0;
  private sampling = false;
  private lastAcknowledged: O | null = null;
  private lastSealAt = Date.now();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  // metrics
  private readonly rowRate = new RateMeter();
  private readonly eventRate = new RateMeter();
  private eventsEmitted = 0;
  private fetchLag: number | null = null;
  private emitLag: number | null = null;
  private lastChangeAt = Date.now();
  /** Figures of tables whose snapshot finished in this run (their snapshot state is gone). */
  private readonly doneTables = new Map<string, { readonly splits: number; readonly rows: number }>();

  constructor(
    private readonly options: ResolvedSourceOptions<O>,
    private readonly variant: AlgorithmVariant = {},
  ) {
    this.adapter = options.adapter;
    this.compare = options.adapter.offsets.compare;
    this.output = new OutputQueue(options.batchSize, options.maxQueuedBatches, () => this.checkpoint());
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.started === null && this.closing !== null)
      return Promise.reject(new SourceClosedError('the source is closed'));
    if (this.started === null) {
      this.beginning = this.begin();
      this.started = this.beginning.catch(async (cause: unknown) => {
        const error = asHighwaterError(cause, `the ${this.adapter.name} source could not start`);
        await this.fail(error);
        throw error;
      });
    }
    return this.started;
  }

  private async begin(): Promise<void> {
    this.state = 'starting';
    const { options, adapter } = this;
    const resume =
      options.resumeFrom === undefined
        ? ((await options.checkpointStore?.load()) ?? null)
        : options.resumeFrom === null
          ? null
          : parseCheckpoint(options.resumeFrom, 'resumeFrom');
    if (resume !== null && resume.connector !== adapter.name) {
      throw new CheckpointError(
        `the checkpoint was written by the '${resume.connector}' adapter, this source uses '${adapter.name}': point resumeFrom/checkpointStore at this pipeline's own checkpoint`,
      );
    }
    this.snapshotOnly = options.startup.mode === 'snapshot';
    this.introspector = await adapter.createIntrospector();
    // On a resume, the tables the checkpoint has definitions for (see `lastKnown`).
    const known = new Set(Object.keys(resume?.schemas ?? {}).filter((name) => resume?.tables[name] !== undefined));
    const discovered = await discoverTables(
      this.introspector,
      options.tables,
      options.chunkKeys,
      this.keyless(),
      known,
    );
    const schemas =
      resume?.schemas === undefined ? discovered : await this.lastKnown(discovered, resume.schemas, known);
    // Per table: its stored snapshot state (null: a fresh snapshot), or undefined when it is only
    // streamed. Tables without a stored state (all of them on a first start) are snapshotted in
    // `initial` and `snapshot` modes.
    const snapshotNew = this.snapshotOnly || options.startup.mode === 'initial';
    const plan = schemas.map((schema) => {
      const stored = resume?.tables[tableName(schema.id)];
      const snapshot =
        stored === undefined ? (snapshotNew ? null : undefined) : stored.phase === 'snapshot' ? stored : undefined;
      if (snapshot !== undefined) requireChunkKey(schema);
      return { schema, snapshot };
    });
    const snapshotting = plan.some((p) => p.snapshot !== undefined);
    let emittedThrough: O | null = null;
    let from: O;
    let lowWatermark: O | null = null;
    if (resume !== null && resume.position !== null) {
      emittedThrough = this.parseOffset(resume.position, 'checkpoint');
      from = emittedThrough;
      if (snapshotting) {
        lowWatermark = await this.introspector.lowWatermark();
        if (this.compare(lowWatermark, from) < 0) from = lowWatermark;
      }
    } else if (snapshotting) {
      lowWatermark = await this.introspector.lowWatermark();
      from = lowWatermark;
    } else {
      from = await this.streamStart();
    }
    this.position = from;
    this.floor = new RetentionFloor(lowWatermark ?? from, this.compare);
    this.router = new ChangeRouter({
      connector: adapter.name,
      offsets: adapter.offsets,
      output: this.output,
      snapshotOnly: this.snapshotOnly,
      emittedThrough,
      variant: this.variant,
      onTableDropped: (table, renamedTo) => this.tableDropped(table, renamedTo),
    });
    for (const { schema, snapshot } of plan) this.capture(schema, snapshot);
    if (resume?.complete === true || (this.snapshotOnly && !snapshotting)) {
      this.finishSnapshotOnly();
      return;
    }
    this.logReader = await adapter.createLogReader({ from, tables: schemas });
    // Closed while starting (a stop asked for before the source was up): shutdown() is waiting for
    // this to return and closes what was opened; starting readers and timers now would outlive it.
    if (this.closed) return;
    this.state = snapshotting ? 'snapshot' : 'stream';
    this.spawn(this.runLog());
    this.spawnWorkers();
    const interval = this.options.heartbeatIntervalMs;
    if (interval > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeatIfQuiet(), interval);
      this.heartbeatTimer.unref();
    }
  }

  /**
   * Seals a heartbeat batch when nothing was sealed for a heartbeat interval, so a quiet source
   * still hands out its current checkpoint (and a consumer that stores it lets the log be freed).
   */
  private heartbeatIfQuiet(): void {
    if (this.options.heartbeatIntervalMs === 0) return;
    const now = Date.now();
    if (this.closed || this.complete || this.output.full || this.output.unsealed > 0) return;
    if (now - this.lastSealAt < this.options.heartbeatIntervalMs || this.position === null) return;
    this.output.emit({ kind: 'heartbeat', offset: this.adapter.offsets.toJSON(this.position), at: now });
    this.output.seal();
    this.lastSealAt = now;
  }

  /**
   * The definitions a resumed source starts from: for each table the checkpoint knew, the definition
   * stored with it — as of the checkpoint's position — not the catalog's, plus the captured tables
   * the catalog no longer has (dropped or renamed while the pipeline was down). The log reader starts
   * from these, so the DDL made since is reported as schema changes where the log shows it, as it
   * would have been had the pipeline been running (docs/pipelines.md, "Schema changes while stopped").
   * A table the filter no longer selects is left out, as before.
   */
  private async lastKnown(
    discovered: readonly TableSchema[],
    stored: NonNullable<Checkpoint['schemas']>,
    known: ReadonlySet<string>,
  ): Promise<TableSchema[]> {
    const found = new Set(discovered.map((s) => tableName(s.id)));
    const selected = compileTableFilter(this.options.tables);
    const listed = new Set((await this.introspector!.listTables()).map(tableName));
    const gone = [...known].filter((name) => !found.has(name) && !listed.has(name) && selected(name));
    return [
      ...discovered.map((s) => (known.has(tableName(s.id)) ? (stored[tableName(s.id)] as TableSchema) : s)),
      ...gone.map((name) => stored[name] as TableSchema),
    ];
  }

  /** Where streaming starts without a snapshot, by startup mode. */
  private async streamStart(): Promise<O> {
    const { startup } = this.options;
    const introspector = this.introspector!;
    const caps = this.adapter.capabilities;
    switch (startup.mode) {
      case 'earliest':
        if (!caps.startFromEarliest || introspector.earliestOffset === undefined) {
          throw new UnsupportedError(
            `the ${this.adapter.name} adapter cannot start from the earliest offset: use startup mode 'initial', 'latest' or 'offset'`,
          );
        }
        return introspector.earliestOffset();
      case 'timestamp':
        if (!caps.startFromTimestamp || introspector.offsetAtTimestamp === undefined) {
          throw new UnsupportedError(
            `the ${this.adapter.name} adapter cannot start from a timestamp: use startup mode 'initial', 'latest' or 'offset'`,
          );
        }
        return introspector.offsetAtTimestamp(new Date(startup.timestamp));
      case 'offset':
        return this.parseOffset(startup.offset, 'startup.offset');
      default:
        return introspector.highWatermark();
    }
  }

  /** Parses an offset from configuration (`ConfigError`) or from a checkpoint (`CheckpointError`). */
  private parseOffset(
    json: Parameters<SourceAdapter<O>['offsets']['fromJSON']>[0],
    what: 'startup.offset' | 'checkpoint',
  ): O {
    try {
      return this.adapter.offsets.fromJSON(json);
    } catch (cause) {
      const message = `${what === 'checkpoint' ? 'the checkpoint position' : what} ${JSON.stringify(json)} is not a ${this.adapter.name} offset`;
      throw what === 'checkpoint' ? new CheckpointError(message, { cause }) : new ConfigError(message, { cause });
    }
  }

  /** Registers a captured table; `snapshot` undefined means stream only, null a fresh snapshot. */
  private capture(
    schema: TableSchema,
    snapshot: Extract<TableCheckpoint, { phase: 'snapshot' }> | null | undefined,
  ): void {
    const name = tableName(schema.id);
    const table: CapturedTable<O> = {
      name,
      schema,
      columnNames: schema.columns.map((c) => c.name),
      snapshot: null,
      retained: null,
    };
    if (snapshot !== undefined) {
      const compareKeys = (a: Key, b: Key) => this.adapter.compareKeys(table.schema, a, b);
      const splitter = createTableSplitter({
        table: schema,
        tableName: name,
        boundaries: this.introspector!,
        compareKeys,
        chunkSize: this.options.chunkSize,
        ...(snapshot === null ? {} : { resume: snapshot.splitter }),
      });
      table.snapshot = new TableSnapshot<O>(name, schema, splitter, compareKeys, snapshot ?? undefined);
      table.retained = new RetainedChanges<O>(this.compare);
      this.assigner.addTable(table.snapshot);
    }
    this.router!.tables.set(name, table);
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.state !== 'failed' && this.state !== 'done') this.state = 'closed';
    // Closed by the application (a failure keeps its own path: the consumer must hear the error).
    if (this.failure === null) this.output.discard();
    this.output.releaseProducers();
    for (const { entry } of this.awaitingRelease) entry.window?.abandon(new SourceClosedError('the source closed'));
    this.awaitingRelease.length = 0;
    // Each wait on the adapter is bounded: one that never settles is named, and closing goes on.
    const leftWaiting: string[] = [];
    const bounded = async (what: string, call: Promise<unknown> | undefined) => {
      if (call !== undefined && !(await settleWithin(call, this.options.closeTimeoutMs))) leftWaiting.push(what);
    };
    await bounded(
      'the start in progress',
      this.beginning?.catch(() => undefined),
    );
    const reader = this.logReader;
    this.logReader = null;
    await bounded("the log reader's close()", reader?.close());
    for (const table of this.router?.tables.values() ?? []) {
      for (const u of table.snapshot?.unfinished ?? []) u.window?.abandon(new SourceClosedError('the source closed'));
    }
    await bounded('the readers to stop (a read or a chunk reader close() in progress)', this.tasksSettled());
    await bounded("the introspector's close()", this.introspector?.close());
    if (this.failure !== null) this.output.fail(this.failure);
    else this.output.end();
    if (leftWaiting.length > 0) {
      throw new CloseTimeoutError(
        `the ${this.adapter.name} source closed without ${leftWaiting.join(', ')}: not settled within ` +
          `${this.options.closeTimeoutMs} ms (closeTimeoutMs); its connections may stay open until the process exits`,
      );
    }
  }

  private async tasksSettled(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private async fail(cause: unknown): Promise<void> {
    if (this.failure !== null || this.closing !== null) return;
    const error = asHighwaterError(cause, `the ${this.adapter.name} source failed`);
    this.failure = error;
    this.state = 'failed';
    // The application hears of the failure once every connection is closed (or the close timed
    // out: the failure is still what it hears of).
    await this.close().catch(() => undefined);
  }

  private spawn(task: Promise<void>): void {
    // fail() closes the source, which waits for every task: it must not be awaited by one.
    const tracked = task
      .catch((error: unknown) => {
        void this.fail(error);
      })
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private get closed(): boolean {
    return this.closing !== null;
  }

  // ---------------------------------------------------------------- the log reader

  private async runLog(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        this.logReader ??= await this.adapter.createLogReader({ from: this.position as O, tables: this.schemas() });
        for await (const batch of this.logReader) {
          if (this.closed) return;
          if (this.options.remoteChunks !== undefined && this.state === 'snapshot') {
            await this.options.remoteChunks.publishLog(batch);
            if (this.closed) return;
          }
          this.processLogBatch(batch);
          attempt = 0;
          if (this.complete) return;
          if (this.output.full) await this.output.waitForRoom();
        }
        if (this.closed) return;
        throw new SourceClosedError(`the ${this.adapter.name} log reader ended although the source is running`);
      } catch (error) {
        if (this.closed) return;
        if (!isRetriable(error) || ++attempt > this.options.retry.attempts) throw error;
        const reader = this.logReader;
        this.logReader = null;
        await reader?.close().catch(() => undefined);
        await this.backoff(attempt, 'log', error);
      }
    }
  }

  private processLogBatch(batch: readonly LogItem<O>[]): void {
    const router = this.router!;
    const output = this.output;
    let lastCommit: number | null = null;
    for (const item of batch) {
      router.route(item);
      this.position = item.offset;
      if (item.kind === 'change' && item.commitTime !== null && router.tables.has(item.table))
        lastCommit = item.commitTime;
      if (this.awaitingRelease.length > 0) this.releaseReached();
      output.sealIfFull();
    }
    const now = Date.now();
    if (lastCommit !== null) {
      this.fetchLag = now - lastCommit;
      this.lastChangeAt = now;
    }
    if (output.unsealed > 0) {
      output.seal();
      this.lastSealAt = now;
    } else {
      this.heartbeatIfQuiet();
    }
    if (this.retainedCount() > RETENTION_SAMPLE_THRESHOLD && !this.sampling) this.spawn(this.sampleLowWatermark());
  }

  private releaseReached(): void {
    const position = this.position as O;
    for (let i = this.awaitingRelease.length - 1; i >= 0; i--) {
      const waiting = this.awaitingRelease[i]!;
      if (this.compare(position, waiting.entry.window!.highWatermark as O) >= 0) {
        this.awaitingRelease.splice(i, 1);
        this.release(waiting.table, waiting.entry);
      }
    }
  }

  /** Emits a chunk once the log reader is at or past its high watermark, and records it finished. */
  private release(table: CapturedTable<O>, entry: UnfinishedSplit<O>): void {
    const snapshot = table.snapshot;
    if (snapshot === null || this.router!.tables.get(table.name) !== table) {
      entry.window?.release();
      return;
    }
    const rows = this.router!.releaseChunk(table, entry);
    snapshot.finish(entry, rows);
    this.rowRate.add(rows);
    entry.window!.release();
    if (snapshot.done) this.snapshotFinished(table);
    this.trimRetained();
    // Sealed even when the chunk was empty: its checkpoint records the chunk as done.
    this.output.seal(true);
    this.lastSealAt = Date.now();
    if (this.complete) this.output.end();
  }

  private snapshotFinished(table: CapturedTable<O>): void {
    const snapshot = table.snapshot!;
    this.doneTables.set(table.name, { splits: snapshot.splitsDone, rows: snapshot.rowsRead });
    this.stopSnapshot(table);
  }

  /**
   * A table dropped (or renamed) in the source: its chunks are abandoned (their readers move on) and
   * it is no longer captured under that name. A new name the table filter selects is captured as a
   * table added while running (see {@link captureRenamed}).
   */
  private tableDropped(table: CapturedTable<O>, renamedTo: string | null): void {
    const recapture = renamedTo !== null && this.capturesRenamed(renamedTo);
    if (recapture) this.spawn(this.captureRenamed(renamedTo));
    // Dropped and created again (e.g. while the pipeline was down: the stored definition's table is
    // gone, one of the same name is there): the new table is captured as a new one.
    else if (renamedTo === null && this.capturesRenamed(table.name)) this.spawn(this.captureRenamed(table.name));
    if (table.snapshot === null) return;
    const snapshot = table.snapshot;
    const after =
      renamedTo === null
        ? ''
        : recapture
          ? ` and ${renamedTo} is captured anew${this.snapshotsAdded() ? ', with a snapshot of its own' : ''}`
          : ` and ${renamedTo} is not captured (tables.include does not select it)`;
    this.options.onSnapshotAbandoned?.(
      table.name,
      `table ${table.name} was ${renamedTo === null ? 'dropped' : `renamed to ${renamedTo}`} in the source while its ` +
        `snapshot was read: the snapshot ends after ${snapshot.splitsDone} chunk(s) (${snapshot.rowsRead} rows); the ` +
        `rows of its other chunks are not emitted${after}`,
    );
    for (let i = this.awaitingRelease.length - 1; i >= 0; i--) {
      if (this.awaitingRelease[i]?.table === table) this.awaitingRelease.splice(i, 1);
    }
    for (const u of table.snapshot.unfinished) u.window?.release();
    this.stopSnapshot(table);
    if (this.complete) {
      this.output.seal(true);
      this.output.end();
    }
  }

  /** True when a table renamed to `name` is to be captured under it: the filter selects it and the adapter can add tables. */
  private capturesRenamed(name: string): boolean {
    return (
      this.adapter.capabilities.addTables &&
      this.logReader?.addTables !== undefined &&
      !this.router!.tables.has(name) &&
      compileTableFilter(this.options.tables)(name)
    );
  }

  /** Whether a table added while running is snapshotted (see {@link addTables}). */
  private snapshotsAdded(): boolean {
    return this.options.startup.mode === 'initial' || this.snapshotOnly;
  }

  /**
   * Captures a table under the name it was renamed to (or a table created under a dropped one's
   * name), as {@link addTables} does: with a snapshot of its own in `initial` mode, whose chunks read
   * every row it has now (the changes the log carried under the name before this are in those rows).
   * No table of that name (renamed or dropped again, or not created again): nothing is captured.
   */
  private async captureRenamed(name: string): Promise<void> {
    if (this.closed || this.complete) return;
    const exists = (await this.introspector!.listTables()).some((id) => tableName(id) === name);
    if (!exists || this.closed || this.router!.tables.has(name)) return;
    await this.addTables({ include: [name] });
  }

  private stopSnapshot(table: CapturedTable<O>): void {
    this.assigner.removeTable(table.snapshot!);
    table.snapshot = null;
    table.retained = null;
    if ([...this.router!.tables.values()].some((t) => t.snapshot !== null)) return;
    if (this.snapshotOnly) this.complete = true;
    else this.state = 'stream';
  }

  private finishSnapshotOnly(): void {
    this.complete = true;
    this.output.seal(true);
    this.output.end();
    this.state = 'done';
  }

  // ---------------------------------------------------------------- chunk readers

  /**
   * Starts chunk readers up to `parallelism`. The count of readers to start is fixed first: a reader
   * started on a closed or complete source ends synchronously (its `finally` decrements `workers`),
   * so a loop on `workers` would start readers for ever.
   */
  private spawnWorkers(): void {
    if (this.closed || this.complete) return;
    for (let missing = this.options.parallelism - this.workers; missing > 0; missing--) {
      this.workers++;
      this.spawn(this.runWorker());
    }
  }

  private async runWorker(): Promise<void> {
    let reader: ChunkReader | null = null;
    let attempt = 0;
    try {
      while (!this.closed && !this.complete) {
        let assignment: Assignment<O> | null;
        try {
          assignment = await this.assigner.next();
        } catch (error) {
          if (this.closed) return;
          if (!(error instanceof SplittingFailed)) throw error;
          // The boundary query of a table dropped or renamed meanwhile: as for a chunk read below.
          const cause: unknown = error.cause;
          if (cause instanceof TableNotFoundError && (await this.reportedGone(error.table as TableSnapshot<O>)))
            continue;
          throw cause;
        }
        if (assignment === null || this.closed) return;
        try {
          if (this.options.remoteChunks === undefined) reader ??= await this.adapter.createChunkReader();
          await this.readChunk(reader, assignment);
          attempt = 0;
        } catch (error) {
          if (this.closed) return;
          // A table dropped or renamed while one of its chunks was read: the failure is expected, move on.
          if (error instanceof TableNotFoundError && (await this.reportedGone(assignment.table))) continue;
          if (this.router!.tables.get(assignment.table.name)?.snapshot !== assignment.table) continue;
          const waiting = this.awaitingRelease.findIndex((w) => w.entry === assignment.entry);
          if (waiting >= 0) this.awaitingRelease.splice(waiting, 1);
          if (!isRetriable(error) || ++attempt > this.options.retry.attempts) throw error;
          this.assigner.giveBack(assignment);
          await reader?.close().catch(() => undefined);
          reader = null;
          await this.backoff(attempt, 'chunk', error);
        }
      }
    } finally {
      this.workers--;
      await reader?.close().catch(() => undefined);
    }
  }

  /**
   * After a chunk read found its table missing: waits for the log reader to report the table dropped
   * or renamed, which abandons the table's chunks (true), or gives up (false: the read's error stands).
   * The DDL had committed before the read failed, so it lies before a high watermark taken now: an
   * adapter that reads DDL from its log (MySQL) has reported it once the log reader is past that
   * watermark; one that finds DDL in the catalog (Postgres) reports it at its next check, so a grace
   * period follows. Until the report the table's other chunks may fail the same way and wait here too.
   */
  private async reportedGone(table: TableSnapshot<O>): Promise<boolean> {
    const gone = () => this.router!.tables.get(table.name)?.snapshot !== table;
    let highWatermark: O;
    try {
      highWatermark = await this.introspector!.highWatermark();
    } catch {
      return gone();
    }
    let passedAt: number | null = null;
    while (!this.closed && !this.complete && !gone()) {
      if (passedAt === null && this.position !== null && this.compare(this.position, highWatermark) >= 0) {
        passedAt = Date.now();
      }
      if (passedAt !== null && Date.now() - passedAt > TABLE_GONE_GRACE_MS) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** One chunk: low watermark, plain read, high watermark; released by the log reader (see {@link release}). */
  private async readChunk(reader: ChunkReader | null, { table, entry }: Assignment<O>): Promise<void> {
    if (this.options.remoteChunks !== undefined) return this.readChunkElsewhere({ table, entry });
    if (reader === null) throw new TypeError('readChunk: no chunk reader');
    const hooks = this.options.phaseHooks;
    const split = entry.split;
    const introspector = this.introspector!;
    await hooks?.beforeLowWatermark?.(split);
    const window = await this.openChunkWindow(entry);
    const lowWatermark = window.lowWatermark;
    await hooks?.afterLowWatermark?.(split, lowWatermark);
    const schema = table.schema;
    const rows: (readonly Row[] | UndecodedRows)[] = [];
    let count = 0;
    const batches = reader.readUndecodedChunk?.(schema, split.range) ?? reader.readChunk(schema, split.range);
    for await (const batch of batches) {
      rows.push(batch);
      count += isUndecoded(batch) ? batch.count : batch.length;
      if (this.closed) return;
    }
    await hooks?.afterRead?.(split, count);
    await hooks?.beforeHighWatermark?.(split);
    const highWatermark = await introspector.highWatermark();
    window.rows = rows;
    window.readWith = schema;
    window.readAt = Date.now();
    await hooks?.afterHighWatermark?.(split, highWatermark);
    if (this.closed) return;
    window.highWatermark = highWatermark;
    const captured = this.router!.tables.get(table.name);
    if (captured === undefined || captured.snapshot !== table) return;
    await this.awaitRelease(captured, entry, highWatermark);
  }

  /**
   * One chunk read by another process (`remoteChunks`): the window opens here with a low watermark
   * taken before the chunk is handed out, so every change the release holds back (those after the
   * remote high watermark) is retained until then.
   */
  private async readChunkElsewhere({ table, entry }: Assignment<O>): Promise<void> {
    const remote = this.options.remoteChunks!;
    const window = await this.openChunkWindow(entry);
    const lowWatermark = window.lowWatermark;
    const emitted = this.router!.emittedThrough;
    const notBefore = emitted !== null && this.compare(emitted, lowWatermark) > 0 ? emitted : lowWatermark;
    // A checkpoint listing the split, so the remote side can have it stored before anyone writes rows.
    this.output.seal(true);
    const result = await remote.readChunk(entry.split, table.schema, notBefore);
    if (this.closed) return;
    window.rows = null;
    window.readWith = table.schema;
    window.readAt = Date.now();
    window.writtenElsewhere = result.rows;
    window.highWatermark = result.highWatermark;
    const captured = this.router!.tables.get(table.name);
    if (captured === undefined || captured.snapshot !== table) return;
    await this.awaitRelease(captured, entry, result.highWatermark);
  }

  /** Takes the chunk's low watermark through the retention floor (so nothing it needs is trimmed meanwhile) and opens its window. */
  private async openChunkWindow(entry: UnfinishedSplit<O>): Promise<ChunkWindow<O>> {
    const floor = this.floor!;
    const ticket = floor.reserve();
    let lowWatermark: O;
    try {
      lowWatermark = await this.introspector!.lowWatermark();
    } catch (error) {
      floor.settle(ticket, null);
      throw error;
    }
    const window = openWindow(lowWatermark);
    entry.window = window;
    floor.settle(ticket, lowWatermark);
    return window;
  }

  /** Releases the chunk now if the log reader is past its high watermark, else when it gets there. */
  private async awaitRelease(captured: CapturedTable<O>, entry: UnfinishedSplit<O>, highWatermark: O): Promise<void> {
    const window = entry.window!;
    if (this.compare(this.position as O, highWatermark) >= 0) this.release(captured, entry);
    else this.awaitingRelease.push({ table: captured, entry });
    await window.released;
    if (this.output.full) await this.output.waitForRoom();
  }

  // ---------------------------------------------------------------- retention

  private retainedCount(): number {
    let n = 0;
    for (const t of this.router!.tables.values()) n += t.retained?.size ?? 0;
    return n;
  }

  private openLowWatermarks(): O[] {
    const out: O[] = [];
    for (const t of this.router!.tables.values()) {
      for (const u of t.snapshot?.unfinished ?? []) if (u.window !== null) out.push(u.window.lowWatermark);
    }
    return out;
  }

  private trimRetained(): void {
    const floor = this.floor!.current(this.openLowWatermarks());
    for (const t of this.router!.tables.values()) t.retained?.trimThrough(floor);
  }

  private async sampleLowWatermark(): Promise<void> {
    this.sampling = true;
    const ticket = this.floor!.reserve();
    let lw: O | null = null;
    try {
      lw = await this.introspector!.lowWatermark();
    } finally {
      this.floor!.settle(ticket, lw);
      this.sampling = false;
    }
    if (!this.closed) this.trimRetained();
  }

  // ---------------------------------------------------------------- checkpoints

  private checkpoint(): Checkpoint {
    const tables: Record<string, TableCheckpoint> = {};
    const schemas: Record<string, TableSchema> = {};
    for (const t of this.router?.tables.values() ?? []) {
      tables[t.name] = t.snapshot === null ? STREAM : t.snapshot.toCheckpoint();
      schemas[t.name] = t.schema;
    }
    return {
      version: 1,
      connector: this.adapter.name,
      position: this.position === null ? null : this.adapter.offsets.toJSON(this.position),
      complete: this.complete,
      tables,
      schemas,
    };
  }

  async commit(checkpoint: Checkpoint): Promise<void> {
    await this.options.checkpointStore?.save(checkpoint);
    const reader = this.logReader;
    if (reader === null || checkpoint.position === null) return;
    let ack = this.adapter.offsets.fromJSON(checkpoint.position);
    // A restart re-reads the log from the lowest low watermark a chunk may still need: keep that.
    if (this.router !== null && [...this.router.tables.values()].some((t) => t.snapshot !== null)) {
      const floor = this.floor!.current(this.openLowWatermarks());
      if (this.compare(floor, ack) < 0) ack = floor;
    }
    if (this.lastAcknowledged !== null && this.compare(ack, this.lastAcknowledged) <= 0) return;
    try {
      await reader.acknowledge(ack);
      this.lastAcknowledged = ack;
    } catch (error) {
      // A lost connection is the log loop's to handle; the next commit acknowledges again.
      if (!isRetriable(error)) throw error;
    }
  }

  /** The `keylessTables` policy of the options (default: skip). */
  private keyless(): KeylessPolicy {
    return { mode: this.options.keylessTables ?? 'skip', onSkipped: this.options.onTableSkipped };
  }

  // ---------------------------------------------------------------- tables added while running

  async addTables(filter: TableFilter): Promise<readonly string[]> {
    await this.start();
    if (this.closed) throw new SourceClosedError('the source is closed');
    const router = this.router!;
    const schemas = (await discoverTables(this.introspector!, filter, this.options.chunkKeys, this.keyless())).filter(
      (s) => !router.tables.has(tableName(s.id)),
    );
    if (schemas.length === 0) return [];
    const reader = this.logReader;
    if (!this.adapter.capabilities.addTables || reader?.addTables === undefined) {
      throw new UnsupportedError(
        `the ${this.adapter.name} adapter cannot add tables to a running source: restart it with the new tables in tables.include`,
      );
    }
    const snapshot = this.snapshotsAdded();
    if (snapshot) for (const s of schemas) requireChunkKey(s);
    // Capture first, so changes the log reader delivers from now on are retained for the new chunks.
    for (const s of schemas) this.capture(s, snapshot ? null : undefined);
    await reader.addTables(schemas);
    if (snapshot) {
      this.state = 'snapshot';
      this.spawnWorkers();
    }
    return schemas.map((s) => tableName(s.id));
  }

  private schemas(): TableSchema[] {
    return [...(this.router?.tables.values() ?? [])].map((t) => t.schema);
  }

  // ---------------------------------------------------------------- iteration and metrics

  [Symbol.asyncIterator](): AsyncIterator<EventBatch> {
    let delivered: EventBatch | null = null;
    const autoCommit = this.options.checkpointStore !== undefined;
    return {
      next: async () => {
        if (this.failure !== null) throw this.failure;
        if (delivered !== null && autoCommit && this.closing === null) await this.commit(delivered.checkpoint);
        delivered = null;
        if (this.closing !== null && this.failure === null) {
          // Closed by the application: queued batches were dropped, so this is the end (null) once
          // the readers have stopped.
          const left = await this.output.take();
          if (left === null) return { done: true, value: undefined };
          return { done: false, value: left };
        }
        await this.start();
        const batch = await this.output.take().catch(async (error: unknown) => {
          // A failure the queue found itself (making a batch's deferred events threw): the source
          // fails with it, closing its readers, as it does for a failure of its own.
          if (this.failure === null) await this.fail(error);
          throw this.failure ?? error;
        });
        if (batch === null) {
          if (this.complete) this.state = 'done';
          await this.close();
          return { done: true, value: undefined };
        }
        this.noteDelivered(batch);
        delivered = batch;
        return { done: false, value: batch };
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private noteDelivered(batch: EventBatch): void {
    const n = batch.events.length;
    this.eventsEmitted += n;
    this.eventRate.add(n);
    for (let i = n - 1; i >= 0; i--) {
      const e = batch.events[i]!;
      if (e.kind === 'change' && !e.source.snapshot && e.source.opTs !== null) {
        this.emitLag = Date.now() - e.source.opTs;
        break;
      }
    }
  }

  metrics(): SourceMetrics {
    const tables: TableSnapshotProgress[] = [];
    for (const [table, done] of this.doneTables) {
      tables.push({ table, done: true, splitsDone: done.splits, splitsTotal: done.splits, rowsRead: done.rows });
    }
    for (const t of this.router?.tables.values() ?? []) {
      const s = t.snapshot;
      if (s === null) continue;
      const estimate = s.splitter.estimatedTotal();
      const known = s.splitsDone + s.unfinished.length;
      const splitsTotal = s.exhausted || estimate === null ? known : Math.max(estimate, known);
      tables.push({ table: t.name, done: false, splitsDone: s.splitsDone, splitsTotal, rowsRead: s.rowsRead });
    }
    let splitsDone = 0;
    let splitsTotal = 0;
    let rowsRead = 0;
    for (const t of tables) {
      splitsDone += t.splitsDone;
      splitsTotal += t.splitsTotal;
      rowsRead += t.rowsRead;
    }
    return {
      state: this.state,
      snapshot: {
        tablesTotal: tables.length,
        tablesDone: this.doneTables.size,
        splitsDone,
        splitsTotal,
        rowsRead,
        rowsPerSecond: this.rowRate.perSecond(),
        tables,
      },
      currentFetchEventTimeLag: this.fetchLag,
      currentEmitEventTimeLag: this.emitLag,
      sourceIdleTime: Date.now() - this.lastChangeAt,
      eventsEmitted: this.eventsEmitted,
      eventsPerSecond: this.eventRate.perSecond(),
      position: this.position === null ? null : this.adapter.offsets.toJSON(this.position),
      log: this.logReader?.metrics?.() ?? {},
    };
  }

  private backoff(attempt: number, reader: 'log' | 'chunk', error: unknown): Promise<void> {
    const { initialDelayMs, maxDelayMs, attempts } = this.options.retry;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
    this.options.onRetry?.({ reader, error, attempt, attempts, delayMs: delay });
    return new Promise((resolve) => setTimeout(resolve, delay));
  }
}

const STREAM: TableCheckpoint = Object.freeze({ phase: 'stream' });

function openWindow<O>(lowWatermark: O): ChunkWindow<O> {
  let release!: () => void;
  let abandon!: (error: unknown) => void;
  const released = new Promise<void>((resolve, reject) => {
    release = resolve;
    abandon = reject;
  });
  released.catch(() => undefined);
  return { lowWatermark, highWatermark: null, rows: null, readWith: null, readAt: 0, released, release, abandon };
}
