import {
  type Checkpoint,
  type CheckpointStore,
  CloseTimeoutError,
  ConfigError,
  createSource,
  type EventBatch,
  HighwaterError,
  isRetriable,
  type RetryPolicy,
  type Sink,
  type Source,
  type SourceAdapter,
  type SourceMetrics,
  type SourceOptions,
  type SourceRetry,
  settleWithin,
} from '@highwater/core';
import type { SinkLogger } from '@highwater/core';
import { BatchGatherer } from './gather-batches.js';
import { RunRecord } from './run-record.js';

/** `createSource` options the runner passes through; it sets `adapter`, `resumeFrom` and checkpointing itself. */
export type RunnerSourceOptions = Omit<SourceOptions<unknown>, 'adapter' | 'resumeFrom' | 'checkpointStore'>;

export interface PipelineRunnerOptions {
  readonly adapter: SourceAdapter<unknown>;
  readonly source: RunnerSourceOptions;
  readonly sink: Sink;
  /** Where checkpoints are kept when the sink does not store them with its data; required then, ignored otherwise. */
  readonly checkpointStore?: CheckpointStore;
  readonly logger?: SinkLogger;
  /**
   * How the run restarts itself after a retriable failure (a lost target connection, a source that
   * lost its database after its own retries): `attempts` restarts in a row, waiting
   * `initialDelayMs`, doubling up to `maxDelayMs`. Default {@link DEFAULT_RESTART_POLICY};
   * `attempts: 0` fails at once.
   */
  readonly restart?: RetryPolicy;
  /**
   * Join the batches the source sealed while the sink was writing into one write (with the last
   * one's checkpoint; see {@link BatchGatherer}), so a sink slower than the source writes fewer,
   * larger transactions. Default false: every source batch is one write.
   */
  readonly joinWaitingBatches?: boolean;
  /**
   * How long closing waits for the sink's `close()` and for each call the source's close needs
   * (the source's own `closeTimeoutMs` wins when set). One that does not settle is left behind and
   * the run ends with a `CloseTimeoutError` naming it. Default 30000 ms.
   */
  readonly closeTimeoutMs?: number;
}

/** Default of {@link PipelineRunnerOptions.closeTimeoutMs}. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/** 10 restarts in a row, after 1 s, 2 s, 4 s … up to 60 s each (about 5 minutes in all). */
export const DEFAULT_RESTART_POLICY: RetryPolicy = Object.freeze({
  attempts: 10,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
});

/**
 * Where a run stands: `starting` (opening the sink, connecting the source), `snapshot`/`stream`
 * (the source's phase), `restarting` (waiting to reopen after a retriable failure), `stopping` (a
 * stop was asked for: finishing the batch in hand), `stopped`, `done` (a `snapshot`-mode pipeline
 * read everything), `failed`.
 */
export type RunnerState =
  | 'created'
  | 'starting'
  | 'snapshot'
  | 'stream'
  | 'restarting'
  | 'stopping'
  | 'stopped'
  | 'done'
  | 'failed';

/** How a run ended without an error. */
export interface RunSummary {
  /** `stopped`: `stop()` was called; `done`: the source had nothing more (startup mode `snapshot`). */
  readonly reason: 'stopped' | 'done';
  readonly batches: number;
  /** Events handed to the sink (heartbeats included). */
  readonly events: number;
  /** The last checkpoint stored, or the one resumed from when no batch was written; `null` if neither. */
  readonly checkpoint: Checkpoint | null;
  /** Times the run restarted itself after a retriable failure. */
  readonly restarts: number;
}

const quietLogger: SinkLogger = { info() {}, warn() {}, debug() {} };

/**
 * Runs one pipeline: source → sink, storing a checkpoint after every batch.
 *
 * 1. `sink.open()` returns the checkpoint stored with the data (sinks that store checkpoints),
 *    otherwise the checkpoint store's is loaded.
 * 2. The source is created from it and **started before the first write**, so a source that cannot
 *    start (unreachable, wrong password, missing privilege, unknown table) fails with nothing
 *    written to the target.
 * 3. For each batch: `sink.write(batch)`, then — for sinks that do not store checkpoints — the
 *    store's `save`, then `source.commit` to let the database free its log up to there. The source
 *    is given no store of its own: it would save one batch late (when the next is asked for) and
 *    not at all for the last batch of a graceful stop. With `joinWaitingBatches`, batches the source
 *    sealed while the sink was writing are joined into one write ({@link BatchGatherer}).
 * 4. `stop()` ends the run after the batch in hand is written and its checkpoint stored; a batch
 *    not yet taken is left for the next run, which resumes from the stored checkpoint.
 * 5. A retriable failure once the pipeline has started (the sink lost its connection, the source
 *    lost its database after its own retries) restarts it in-process: source and sink are closed,
 *    and after a backoff (`restart` policy) steps 1–3 run again — so the run resumes from the
 *    checkpoint stored with the last batch written, and a batch whose write failed is read again
 *    (a sink that stores checkpoints with its data rolled it back, or committed it with its
 *    checkpoint: either way it is applied once). Each restart is a `warn` log line; the attempts
 *    count restarts in a row and start again after a batch is written. A failure while starting
 *    for the first time is not retried (it is usually a wrong setting, and says so at once) unless
 *    the run resumes from a stored checkpoint: that pipeline has run with these settings before.
 *
 * Errors reject `run()` (after the source and sink are closed) as the core's typed errors.
 *
 * @example
 * const runner = new PipelineRunner({ adapter, source: { tables: { include: ['shop.*'] } }, sink, checkpointStore });
 * process.once('SIGTERM', () => runner.stop());
 * const summary = await runner.run();
 */
export class PipelineRunner {
  readonly #options: PipelineRunnerOptions;
  readonly #logger: SinkLogger;
  /** Incidents, write time and per-table counts of this run (the status page reads them). */
  readonly record = new RunRecord();
  #source: Source | null = null;
  #phase: Exclude<RunnerState, 'snapshot' | 'stream'> | 'running' = 'created';
  #stopRequested = false;
  #waitingForBatch = false;
  #batches = 0;
  #events = 0;
  #checkpoint: Checkpoint | null = null;
  #checkpointStoredAt: number | null = null;
  #restarts = 0;
  /** Times one of the source's readers lost its connection and reconnected (the source's own retries). */
  #reconnects = 0;
  /** Restarts since the last batch written. */
  #attempt = 0;
  /** The pipeline started once (sink open, source started): later retriable failures restart it. */
  #startedOnce = false;
  #wakeUp: (() => void) | null = null;
  /**
   * A batch was handed to the sink: from then on a checkpoint may be stored (a sink that stores it
   * with its data may have committed it before failing), so the log state is no longer dropped.
   */
  #writeAttempted = false;
  /** This pass's source and sink were closed by {@link #finish} (successfully or not). */
  #closedThisPass = false;

  constructor(options: PipelineRunnerOptions) {
    if (!options.sink.storesCheckpoints && options.checkpointStore === undefined) {
      throw new ConfigError(
        `the ${options.sink.name} sink does not store checkpoints: give the runner a checkpointStore`,
      );
    }
    this.#options = options;
    this.#logger = options.logger ?? quietLogger;
  }

  /** The last checkpoint stored, or the one resumed from before the first batch; null if neither. */
  get checkpoint(): Checkpoint | null {
    return this.#checkpoint;
  }

  /** The running source (null before `run()` created it). */
  get source(): Source | null {
    return this.#source;
  }

  /**
   * `snapshot` until the sink has *stored* every table's snapshot (the stored checkpoint has no table
   * in its snapshot phase), then `stream`. The source may have read the snapshot earlier: batches
   * it handed out may still wait to be written, and a stop then leaves them to the next run.
   */
  get state(): RunnerState {
    if (this.#phase !== 'running') return this.#phase;
    return this.#source?.metrics().state === 'stream' && this.storedPhase === 'stream' ? 'stream' : 'snapshot';
  }

  /**
   * The phase of the last stored checkpoint: `snapshot` while a table's snapshot is not all in the
   * sink, `stream` once every one is, null before anything is stored or resumed from.
   */
  get storedPhase(): 'snapshot' | 'stream' | null {
    const checkpoint = this.#checkpoint;
    if (checkpoint === null) return null;
    return Object.values(checkpoint.tables).some((t) => t.phase === 'snapshot') ? 'snapshot' : 'stream';
  }

  /** The source's metrics, or null before it exists. */
  metrics(): SourceMetrics | null {
    return this.#source?.metrics() ?? null;
  }

  /**
   * Batches and events written so far, when the last checkpoint was stored (ms since the epoch),
   * restarts, and seconds spent writing batches.
   */
  progress(): {
    batches: number;
    events: number;
    checkpointStoredAt: number | null;
    restarts: number;
    reconnects: number;
    writeSeconds: number;
  } {
    return {
      batches: this.#batches,
      events: this.#events,
      checkpointStoredAt: this.#checkpointStoredAt,
      restarts: this.#restarts,
      reconnects: this.#reconnects,
      writeSeconds: this.record.writeMs / 1000,
    };
  }

  /** A reader of the source lost its connection and reconnects after `delayMs`: counted, recorded, logged. */
  #reconnected(retry: SourceRetry): void {
    this.#reconnects++;
    this.record.reconnect(retry);
    const { reader, error, attempt, attempts, delayMs } = retry;
    const which = reader === 'log' ? 'log reader' : 'a chunk reader';
    this.#logger.warn(
      { code: error instanceof HighwaterError ? error.code : undefined, reader, attempt, attempts, delayMs },
      `the source's ${which} lost its connection (${messageOf(error)}); reconnecting in ${delayMs} ms (attempt ${attempt} of ${attempts})`,
    );
  }

  /**
   * Asks the run to end: the batch being written is finished and its checkpoint stored, then the
   * source and sink close and `run()` resolves. Safe to call more than once and before `run()`.
   */
  stop(): void {
    if (this.#stopRequested) return;
    this.#stopRequested = true;
    if (this.#phase === 'starting' || this.#phase === 'running' || this.#phase === 'restarting') {
      this.#phase = 'stopping';
    }
    // Waiting on the source (still connecting, or an idle stream): closing it ends the wait. A batch
    // being written is left to finish; the loop stops after storing its checkpoint.
    // A close that fails (times out) is reported by the run's own close of the same source (#finish).
    if (this.#waitingForBatch) this.#source?.close().catch(() => undefined);
    // Waiting to restart: stop waiting.
    this.#wakeUp?.();
  }

  async run(): Promise<RunSummary> {
    if (this.#phase !== 'created') throw new ConfigError('a PipelineRunner runs once: create another to run again');
    const policy = this.#options.restart ?? DEFAULT_RESTART_POLICY;
    for (;;) {
      this.#phase = this.#stopRequested ? 'stopping' : 'starting';
      try {
        const summary = await this.#runOnce();
        await this.#releaseLogState(summary.reason);
        return summary;
      } catch (error) {
        // #runOnce closed source and sink.
        // A first start that fails is usually a wrong setting, said at once; one that resumes from a
        // stored checkpoint ran with these settings before, so a lost database there is retried.
        const ranBefore = this.#startedOnce || this.#checkpoint !== null;
        if (this.#stopRequested || !ranBefore || !isRetriable(error) || this.#attempt >= policy.attempts) {
          this.#phase = 'failed';
          await this.#releaseLogState('failed');
          const final = this.#attempt > 0 && isRetriable(error) ? gaveUp(error, this.#attempt) : error;
          this.record.failure(final);
          throw final;
        }
        this.#attempt++;
        this.#restarts++;
        const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (this.#attempt - 1));
        this.#phase = 'restarting';
        this.record.restart(error, this.#attempt, policy.attempts, delayMs);
        this.#logger.warn(
          {
            code: error instanceof HighwaterError ? error.code : undefined,
            attempt: this.#attempt,
            attempts: policy.attempts,
            delayMs,
          },
          `${messageOf(error)}; restarting from the stored checkpoint in ${delayMs} ms (attempt ${this.#attempt} of ${policy.attempts})`,
        );
        await this.#sleep(delayMs);
        if (this.#stopRequested) {
          await this.#releaseLogState('stopped');
          return this.#summary('stopped');
        }
      }
    }
  }

  /** One pass: open the sink, start the source from the stored checkpoint, write until stopped, done or failed. */
  async #runOnce(): Promise<RunSummary> {
    const { sink, checkpointStore, adapter } = this.#options;
    let sinkOpened = false;
    this.#closedThisPass = false;
    // The previous pass's source stays readable (metrics) until this pass makes its own.
    let source: Source | null = null;
    try {
      const stored = await sink.open();
      sinkOpened = true;
      const resumeFrom = sink.storesCheckpoints ? stored : ((await checkpointStore?.load()) ?? null);
      this.#checkpoint = resumeFrom;
      this.#logResume(resumeFrom);
      if (this.#stopRequested) return await this.#finish('stopped', sinkOpened);

      const onRetry = this.#options.source.onRetry;
      source = createSource({
        closeTimeoutMs: this.#closeTimeoutMs,
        ...this.#options.source,
        adapter,
        resumeFrom,
        onRetry: (retry) => {
          this.#reconnected(retry);
          onRetry?.(retry);
        },
        onTableSkipped: (table, reason) => {
          this.#logger.warn({ table }, reason);
          this.#options.source.onTableSkipped?.(table, reason);
        },
        onSnapshotAbandoned: (table, reason) => {
          this.#logger.warn({ table }, reason);
          this.#options.source.onSnapshotAbandoned?.(table, reason);
        },
      });
      this.#source = source;
      this.#waitingForBatch = true;
      try {
        await source.start();
      } catch (error) {
        if (this.#stopRequested) return await this.#finish('stopped', sinkOpened);
        throw error;
      } finally {
        this.#waitingForBatch = false;
      }
      if (this.#stopRequested) return await this.#finish('stopped', sinkOpened);
      this.#startedOnce = true;
      if (this.#phase === 'starting') this.#phase = 'running';
      this.#logger.info({ state: source.metrics().state }, 'source started');

      const iterator = source[Symbol.asyncIterator]();
      const batches = this.#options.joinWaitingBatches === true ? new BatchGatherer(iterator) : iterator;
      let lastPhase = this.storedPhase;
      for (;;) {
        this.#waitingForBatch = true;
        let next: IteratorResult<EventBatch>;
        try {
          next = await batches.next();
        } finally {
          this.#waitingForBatch = false;
        }
        if (next.done) return await this.#finish(this.#stopRequested ? 'stopped' : 'done', sinkOpened);
        await this.#deliver(source, next.value);
        const phase = this.storedPhase;
        if (phase === 'stream' && lastPhase !== 'stream') this.#logSnapshotStored(source, lastPhase === null);
        lastPhase = phase;
        if (this.#stopRequested) return await this.#finish('stopped', sinkOpened);
      }
    } catch (error) {
      // Not closed again when closing itself failed (#finish closed both already). Otherwise the
      // failure is what the run reports; a close that times out as well is only logged.
      if (this.#closedThisPass) throw error;
      await source?.close().catch((closing: unknown) => this.#closeFailed(closing));
      if (sinkOpened) await this.#closeSink().catch((closing: unknown) => this.#closeFailed(closing));
      throw error;
    }
  }

  get #closeTimeoutMs(): number {
    return this.#options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  }

  /** `sink.close()`, bounded: a close that never settles is a `CloseTimeoutError`, not a hang. */
  async #closeSink(): Promise<void> {
    const { sink } = this.#options;
    const ms = this.#closeTimeoutMs;
    let failure: { error: unknown } | null = null;
    const closing = sink.close().catch((error: unknown) => {
      failure = { error };
    });
    if (!(await settleWithin(closing, ms))) {
      throw new CloseTimeoutError(
        `the ${sink.name} sink's close() did not settle within ${ms} ms; its connection may stay open until the process exits`,
      );
    }
    if (failure !== null) throw (failure as { error: unknown }).error;
  }

  #closeFailed(error: unknown): void {
    this.#logger.warn(
      { code: error instanceof HighwaterError ? error.code : undefined },
      `while closing after the failure: ${messageOf(error)}`,
    );
  }

  /** Waits `ms`, or less when `stop()` is called. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeUp = done;
    });
  }

  async #deliver(source: Source, batch: EventBatch): Promise<void> {
    const { sink, checkpointStore } = this.#options;
    this.#writeAttempted = true;
    const writeStarted = performance.now();
    await sink.write(batch);
    if (!sink.storesCheckpoints) await checkpointStore!.save(batch.checkpoint);
    this.record.batchWritten(batch, performance.now() - writeStarted);
    this.#checkpoint = batch.checkpoint;
    this.#checkpointStoredAt = Date.now();
    this.#batches++;
    this.#events += batch.events.length;
    this.#attempt = 0;
    // Only now may the database free its log: the checkpoint that no longer needs it is durable.
    await source.commit(batch.checkpoint);
  }

  /**
   * Drops what the source keeps in the database for reading its log later (a Postgres replication
   * slot retains WAL for as long as it exists) when no run will resume from it: the run ends with no
   * checkpoint stored (none resumed from, no batch handed to the sink) — whatever it created serves
   * nobody — or a `startup: snapshot` pipeline finished. A failure to drop is a warning: the run's
   * own outcome (often an error that explains more) stays what is reported.
   */
  async #releaseLogState(outcome: RunSummary['reason'] | 'failed'): Promise<void> {
    const { adapter } = this.#options;
    if (adapter.dropLogState === undefined) return;
    const finished = outcome === 'done' && this.#options.source.startup?.mode === 'snapshot';
    const unreferenced = this.#checkpoint === null && !this.#writeAttempted;
    if (!finished && !unreferenced) return;
    try {
      const ms = this.#closeTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CloseTimeoutError(`dropping it did not finish within ${ms} ms`)), ms);
      });
      const dropped = await Promise.race([adapter.dropLogState(finished ? 'managed' : 'created'), timedOut]).finally(
        () => clearTimeout(timer),
      );
      if (dropped.length === 0) return;
      this.#logger.info(
        { dropped },
        finished
          ? `snapshot finished: dropped ${dropped.join(' and ')}, which nothing reads any more`
          : `no checkpoint was stored: dropped ${dropped.join(' and ')} that this run created`,
      );
    } catch (error) {
      this.#logger.warn(
        { code: error instanceof HighwaterError ? error.code : undefined },
        `could not drop the source's replication state that nothing will read: ${messageOf(error)}; ` +
          'list and drop it with `highwater slots <pipeline file>`',
      );
    }
  }

  /** Closes source and sink (both, even when the first fails or times out), then the summary or the first failure. */
  async #finish(reason: RunSummary['reason'], sinkOpened: boolean): Promise<RunSummary> {
    this.#closedThisPass = true;
    const failures: unknown[] = [];
    await this.#source?.close().catch((error: unknown) => failures.push(error));
    if (sinkOpened) await this.#closeSink().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) {
      for (const extra of failures.slice(1)) this.#closeFailed(extra);
      throw failures[0];
    }
    return this.#summary(reason);
  }

  #summary(reason: RunSummary['reason']): RunSummary {
    this.#phase = reason;
    const summary: RunSummary = {
      reason,
      batches: this.#batches,
      events: this.#events,
      checkpoint: this.#checkpoint,
      restarts: this.#restarts,
    };
    this.#logger.info(
      { reason, batches: summary.batches, events: summary.events, position: summary.checkpoint?.position ?? null },
      reason === 'done' ? 'pipeline finished: everything is read' : 'pipeline stopped; the checkpoint is stored',
    );
    return summary;
  }

  #logResume(checkpoint: Checkpoint | null): void {
    const where = this.#options.sink.storesCheckpoints ? `the ${this.#options.sink.name} sink` : 'the checkpoint store';
    if (checkpoint === null) {
      this.#logger.info(
        { startup: this.#options.source.startup ?? { mode: 'initial' } },
        'no stored checkpoint: starting fresh',
      );
      return;
    }
    const snapshotting = Object.values(checkpoint.tables).filter((t) => t.phase === 'snapshot').length;
    this.#logger.info(
      { position: checkpoint.position, tables: Object.keys(checkpoint.tables).length, snapshotting },
      `resuming from the checkpoint stored by ${where}`,
    );
  }

  /** Every table's snapshot is now stored in the sink (logged once, when the stored checkpoint says so). */
  #logSnapshotStored(source: Source, nothingSnapshotted: boolean): void {
    const m = source.metrics();
    if (nothingSnapshotted && m.snapshot.tablesTotal === 0) {
      this.#logger.info({}, 'streaming changes (no table to snapshot)');
      return;
    }
    this.#logger.info(
      { rows: m.snapshot.rowsRead, chunks: m.snapshot.splitsDone, tables: m.snapshot.tablesDone },
      'snapshot stored: every table is in the sink and checkpointed; streaming changes',
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The last error, saying that the restarts did not help; same class, code and cause. */
function gaveUp(error: unknown, attempts: number): unknown {
  if (!(error instanceof HighwaterError)) return error;
  const suffix = ` (gave up after ${attempts} restart${attempts === 1 ? '' : 's'})`;
  try {
    error.message += suffix;
  } catch {
    // A frozen error keeps its message.
  }
  return error;
}
