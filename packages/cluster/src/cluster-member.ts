import { hostname } from 'node:os';
import {
  type CheckpointStore,
  ClusterError,
  type EventBatch,
  FencedWriteError,
  isRetriable,
  type Introspector,
  type RemoteChunks,
  type Sink,
  type SnapshotPhaseHooks,
  type SourceAdapter,
  type WriteFence,
} from '@highwater/core';
import { ChunkDispatcher } from './chunk-dispatcher.js';
import { ChunkFencer } from './chunk-fencer.js';
import { ChunkWorker } from './chunk-worker.js';
import { type ClusterNatsOptions, type Coordinator, messageOf, openCoordinator } from './coordinator.js';
import { KvCheckpointStore } from './kv-checkpoint-store.js';
import { LeaderLease, type LeaseHolder, leaseHolder } from './lease.js';
import { LogPublisher } from './log-publisher.js';
import { LogTrimmer } from './log-trimmer.js';
import { LogWindowReader } from './log-window.js';
import { announce, listMembers, type MemberStatus, withdraw } from './member-registry.js';
import { CHECKPOINT_KEY } from './names.js';

/** The part of a pino logger the cluster uses. */
export interface ClusterLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** What the member that holds the lease is given to run the pipeline with. */
export interface Leadership<O> {
  /** Pass as the source's `remoteChunks`: chunks go to the work queue, the log to the log stream. */
  readonly remoteChunks: RemoteChunks<O>;
  /** The pipeline's checkpoint in NATS KV; refuses once the lease is lost. */
  readonly checkpointStore: CheckpointStore;
  /** Settles when the lease is lost or the member stops: stop the pipeline then. */
  readonly ended: Promise<void>;
  /**
   * The leader's sink for changes: writes are refused once the lease is no longer fresh, and each
   * batch carries this leader's epoch as its fencing token (scope `leader`), which a SQL sink checks
   * in the batch's transaction: once a newer leader has written, this one's batches are refused
   * (`FencedWriteError`). Its checkpoint is left to `checkpointStore` (a chunk reader's rows are
   * never in the leader's batches).
   */
  fence(sink: Sink): Sink;
}

export interface ClusterMemberOptions<O> {
  readonly nats: ClusterNatsOptions;
  readonly pipeline: string;
  readonly adapter: SourceAdapter<O>;
  /** Chunks this member reads at once (each on its own connection and sink). */
  readonly readers: number;
  /** A sink for chunk rows; called once per reader. */
  readonly createChunkSink: () => Promise<Sink>;
  /** Runs the pipeline while this member leads; must return once `leadership.ended` settles. */
  readonly lead: (leadership: Leadership<O>) => Promise<void>;
  readonly logger?: ClusterLogger;
  /** Test hooks at the phase boundaries of each chunk this member reads. */
  readonly phaseHooks?: SnapshotPhaseHooks<O>;
  /** Default: `<host>-<pid>` (letters, digits, `_` and `-`). */
  readonly memberId?: string;
}

const quiet: ClusterLogger = { info() {}, warn() {}, debug() {} };

/**
 * One process of a pipeline run by several (`cluster: {nats: …}`): it reads snapshot chunks from the
 * work queue with `readers` chunk readers, and campaigns for the leader lease; while it holds the
 * lease it runs the pipeline itself (`lead`) — the one log reader, the split enumerator, the gate —
 * with chunks handed to the work queue. See docs/algorithm.md, "Scale-out".
 */
export class ClusterMember<O> {
  readonly member: string;
  private coordinator: Coordinator | null = null;
  private introspector: Introspector<O> | null = null;
  private lease: LeaderLease | null = null;
  private stopped = false;
  private leading: Promise<void> | null = null;
  private endLeadership: (() => void) | null = null;
  private dispatcher: ChunkDispatcher<O> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private readonly workers: Promise<void>[] = [];
  private following: Promise<void> | null = null;
  private stopFollowing: (() => void) | null = null;
  private readonly reading: (string | null)[] = [];
  private chunksWritten = 0;
  private readonly since = Date.now();
  private failure: unknown = null;
  private leaseLost = false;
  private failed!: (error: unknown) => void;
  /** Rejects when the member cannot go on (a chunk reader or the leader failed for good). */
  readonly failedWith: Promise<never>;
  /**
   * Resolves when the pipeline is finished (`startup: snapshot` read everything): on the member that
   * led it when it ended, and on every other member once the stored checkpoint says `complete`.
   */
  readonly finished: Promise<void>;
  private finish!: () => void;
  private readonly logger: ClusterLogger;

  constructor(private readonly options: ClusterMemberOptions<O>) {
    this.member = options.memberId ?? defaultMemberId();
    this.logger = options.logger ?? quiet;
    this.failedWith = new Promise<never>((_, reject) => {
      this.failed = reject;
    });
    this.failedWith.catch(() => undefined);
    this.finished = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
  }

  get isLeader(): boolean {
    return this.leading !== null;
  }

  /** Joins: connects, starts the chunk readers and the lease loop. */
  async start(): Promise<void> {
    const coordinator = await openCoordinator(this.options.nats, this.options.pipeline, this.member);
    this.coordinator = coordinator;
    this.introspector = await this.options.adapter.createIntrospector();
    this.lease = new LeaderLease(coordinator, this.member);
    const completion = await coordinator.state.watch({ key: CHECKPOINT_KEY });
    this.stopFollowing = () => completion.stop();
    this.following = (async () => {
      for await (const entry of completion) {
        if (entry.operation === 'PUT' && isComplete(entry.string())) {
          this.logger.info({ member: this.member }, 'the pipeline read everything (startup: snapshot); leaving');
          this.finish();
        }
      }
    })().catch((error: unknown) =>
      this.logger.warn({ member: this.member, error: messageOf(error) }, 'stopped following the checkpoint'),
    );
    const window = new LogWindowReader(coordinator, this.options.adapter.offsets, () => this.stopped);
    for (let i = 0; i < this.options.readers; i++) {
      this.reading.push(null);
      const worker = new ChunkWorker<O>(
        {
          coordinator,
          adapter: this.options.adapter,
          introspector: this.introspector,
          window,
          member: this.member,
          createSink: this.options.createChunkSink,
          log: (level, fields, message) => this.logger[level]({ member: this.member, ...fields }, message),
          onChunk: (reader, chunk) => {
            if (chunk === null && this.reading[reader] !== null) this.chunksWritten++;
            this.reading[reader] = chunk;
          },
          stopped: () => this.stopped,
          phaseHooks: this.options.phaseHooks,
        },
        i,
      );
      this.workers.push(worker.run().catch((error: unknown) => this.fail(error)));
    }
    this.logger.info(
      { member: this.member, readers: this.options.readers },
      `joined cluster of pipeline ${this.options.pipeline} as member ${this.member}`,
    );
    await this.tick();
    const every = Math.max(250, Math.floor(coordinator.timings.leaseTtlMs / 3));
    this.timer = setInterval(() => {
      if (this.ticking === null) this.ticking = this.tick().finally(() => (this.ticking = null));
    }, every);
  }

  /** Renews or campaigns for the lease, and says what this member does. */
  private async tick(): Promise<void> {
    const coordinator = this.coordinator;
    const lease = this.lease;
    if (coordinator === null || lease === null || this.stopped) return;
    try {
      if (this.leading !== null) {
        if (!(await lease.renew())) {
          this.logger.warn({ member: this.member }, 'lost the leader lease: stopping the pipeline, reading chunks on');
          this.leaseLost = true;
          this.endLeadership?.();
        }
      } else if (await lease.tryAcquire()) {
        this.leaseLost = false;
        this.leading = this.runLeader(coordinator, lease).finally(() => {
          this.leading = null;
          this.endLeadership = null;
        });
      }
      await announce(coordinator, this.status());
    } catch (error) {
      this.logger.warn({ member: this.member, error: messageOf(error) }, 'could not reach NATS; retrying');
    }
  }

  private async runLeader(coordinator: Coordinator, lease: LeaderLease): Promise<void> {
    this.logger.info({ member: this.member }, 'took the leader lease: reading the log and handing out chunks');
    const ended = new Promise<void>((resolve) => {
      this.endLeadership = resolve;
    });
    const publisher = new LogPublisher(coordinator, this.options.adapter.offsets);
    const fencer = new ChunkFencer(this.options.createChunkSink, this.options.adapter.name);
    const dispatcher = new ChunkDispatcher(coordinator, this.options.adapter.offsets, publisher, lease.epoch, fencer);
    this.dispatcher = dispatcher;
    // Chunks still handed out are left to the next leader: the pipeline's close must not wait for them.
    void ended.then(() => dispatcher.close());
    const trimmer = new LogTrimmer(
      publisher,
      () => dispatcher.windowFloor(),
      LOG_TRIM_INTERVAL_MS,
      (error) =>
        this.logger.warn(
          { member: this.member, error: messageOf(error) },
          'could not trim the log stream; trying again later',
        ),
    );
    const guard = () => {
      if (this.leading === null || !lease.fresh) {
        throw new ClusterError(`member ${this.member} is no longer the leader of pipeline ${this.options.pipeline}`);
      }
    };
    const store = new KvCheckpointStore(coordinator);
    let logCleared = false;
    let stepDownRequested = false;
    const checkpointStore: CheckpointStore = {
      load: async () => {
        guard();
        const loaded = await store.load();
        if (loaded !== null) dispatcher.checkpointStored(loaded);
        return loaded;
      },
      save: async (checkpoint) => {
        guard();
        await store.save(checkpoint);
        dispatcher.checkpointStored(checkpoint);
        // Every chunk is released and stored: no member needs a log window any more.
        if (Object.values(checkpoint.tables).every((t) => t.phase === 'stream')) {
          if (!logCleared) await publisher.clear();
          logCleared = true;
        } else {
          // A snapshot runs (tables added later start one too): keep the stream to what windows need.
          logCleared = false;
          trimmer.request();
        }
      },
    };
    try {
      // A pipeline without a checkpoint starts its snapshot from scratch: nothing of an earlier,
      // never-checkpointed start may be merged or released (no chunk was handed out before a
      // checkpoint existed, so nothing of it is in the sink).
      const fresh = (await new KvCheckpointStore(coordinator).load()) === null;
      await dispatcher.reset(fresh);
      if (fresh) await publisher.reset();
      else await publisher.open();
      await dispatcher.open();
      await fencer.open();
      await this.options.lead({
        remoteChunks: dispatcher,
        checkpointStore,
        ended,
        fence: (sink) => fencedSink(sink, guard, { scope: LEADER_FENCE_SCOPE, token: lease.epoch }),
      });
      if (!this.stopped && !this.leaseLost) this.finish();
    } catch (error) {
      // Trouble with NATS (or a lost lease) is a reason to step down, not to leave: everything the
      // next leader needs is in NATS. Anything else (a wrong setting, a refused target) ends the member.
      const stepDown =
        this.stopped ||
        this.leaseLost ||
        error instanceof ClusterError ||
        error instanceof FencedWriteError ||
        isRetriable(error);
      if (stepDown) {
        this.logger.warn({ member: this.member, error: messageOf(error) }, 'stopped leading; reading chunks on');
        stepDownRequested = true;
      } else this.fail(error);
    } finally {
      await trimmer.close();
      await dispatcher.close();
      this.dispatcher = null;
      if (this.stopped || stepDownRequested) await lease.release();
    }
  }

  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.failed(error);
  }

  /** Who leads and what every live member reads, as the members bucket says (the status page's JSON). */
  async clusterStatus(): Promise<{ leader: LeaseHolder | null; members: MemberStatus[] }> {
    const coordinator = this.coordinator;
    if (coordinator === null) return { leader: null, members: [] };
    const [leader, members] = await Promise.all([leaseHolder(coordinator), listMembers(coordinator)]);
    return { leader, members };
  }

  /** What this member does now (its entry in the members bucket). */
  status(): MemberStatus {
    return {
      member: this.member,
      host: hostname(),
      pid: process.pid,
      role: this.leading !== null ? 'leader' : 'member',
      reading: this.reading.filter((c): c is string => c !== null),
      handedOut: this.dispatcher?.pending.size ?? 0,
      chunksWritten: this.chunksWritten,
      since: this.since,
      at: Date.now(),
    };
  }

  /** Leaves: stops leading (the pipeline stores its checkpoint), lets readers finish, gives up the lease. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.stopFollowing?.();
    await this.following;
    this.endLeadership?.();
    await this.ticking;
    await this.leading;
    await Promise.allSettled(this.workers);
    const coordinator = this.coordinator;
    if (coordinator !== null) await withdraw(coordinator, this.member);
    await this.introspector?.close().catch(() => undefined);
    await coordinator?.close();
  }
}

/** How often, at most, the leader trims the log stream while a snapshot runs. */
const LOG_TRIM_INTERVAL_MS = 1_000;

/** Fencing scope of the leaders' batches; the token is the leader's epoch. */
export const LEADER_FENCE_SCOPE = 'leader';

function fencedSink(sink: Sink, guard: () => void, fence: WriteFence): Sink {
  return {
    name: sink.name,
    storesCheckpoints: false,
    open: async () => {
      guard();
      await sink.open();
      return null;
    },
    write: async (batch: EventBatch) => {
      guard();
      await sink.write({ ...batch, fence });
    },
    close: () => sink.close(),
  };
}

/** Whether a stored checkpoint says a `startup: snapshot` pipeline read everything (the text is checked before it is parsed). */
function isComplete(text: string): boolean {
  if (!text.includes('"complete":true')) return false;
  try {
    return (JSON.parse(text) as { complete?: unknown }).complete === true;
  } catch {
    return false;
  }
}

/** `<host>-<pid>`: says where to look, and is a valid KV key token. */
export function defaultMemberId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`;
}
