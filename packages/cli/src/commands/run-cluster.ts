import { ClusterMember } from '@highwater/cluster';
import {
  type Checkpoint,
  ConfigError,
  HighwaterError,
  type Sink,
  type SourceAdapter,
  type SourceMetrics,
} from '@highwater/core';
import { PipelineMetrics, startMetricsServer } from '../observe/metrics-server.js';
import { createPipelineLogger } from '../observe/logger.js';
import type { ClusterSection } from '../observe/status/status-document.js';
import type { StatusProvider } from '../observe/status/status-model.js';
import { StatusPage } from '../observe/status/status-page.js';
import { RunRecord } from '../run/run-record.js';
import type { LoadedPipeline } from '../pipeline/load-pipeline.js';
import type { ClusterConfig } from '../pipeline/pipeline-schema.js';
import { PipelineRunner, type RunnerSourceOptions, type RunnerState } from '../run/pipeline-runner.js';
import { createSink } from '../sinks/create-sink.js';
import { EXIT_OK, exitCodeOf, type RunCommandIo, type RunCommandOptions, stopOnSignals } from './run.js';

/** Sinks a chunk can be written to by any member and written again after a crash without a trace. */
const CLUSTER_SINKS = new Set(['postgres', 'mysql']);

/** Chunks handed out at once across the cluster unless `cluster.inFlightChunks` says otherwise. */
const DEFAULT_IN_FLIGHT_CHUNKS = 64;

/**
 * `highwater run` of a pipeline with a `cluster` section: this process joins the pipeline's cluster
 * (docs/operations.md, "Running on several machines"). It reads chunks; while it holds the leader
 * lease it also runs the pipeline's log reader and split enumerator, writing changes to the sink
 * with the checkpoint in NATS. Runs until SIGINT/SIGTERM (or, as leader of a `startup: snapshot`
 * pipeline, until everything is read).
 */
export async function runClusterMember(
  pipeline: LoadedPipeline,
  cluster: ClusterConfig,
  adapter: SourceAdapter<unknown>,
  sourceOptions: RunnerSourceOptions,
  options: RunCommandOptions,
  io: RunCommandIo,
): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  const { logger } = createPipelineLogger({
    pipelineName: pipeline.name,
    level: options.logLevel ?? pipeline.config.log.level,
    format: options.logFormat ?? (stderr.isTTY === true ? 'pretty' : 'json'),
    secrets: pipeline.secrets,
    write: (line) => stderr.write(line),
  });
  let member: ClusterMember<unknown> | null = null;
  const cleanups: (() => void)[] = [];
  try {
    const sinkType = pipeline.config.sink.type;
    if (!CLUSTER_SINKS.has(sinkType)) {
      throw new ConfigError(
        `sink type ${sinkType} cannot be used with cluster: a chunk a crashed member left half-done is written again ` +
          'by another, which only a table sink (postgres, mysql) absorbs: upserts and deletes by key leave no trace. ' +
          'Use a postgres or mysql sink, or remove the cluster section',
      );
    }
    const leading = new LeadingRunner();
    // The members' chunk writes store their checkpoint under a row of their own, never the pipeline's.
    const chunkSink = () =>
      createSink(pipeline, { pipelineName: `${pipeline.name}.chunks`, logger }, { stdout: io.stdout, adapter });
    const running = new ClusterMember<unknown>({
      nats: cluster.nats,
      pipeline: pipeline.name,
      adapter,
      readers: cluster.readers ?? sourceOptions.parallelism ?? 4,
      createChunkSink: () => chunkSink(),
      logger,
      lead: async (leadership) => {
        // Fenced like the leader's own writes: it also makes the fence table before any chunk reader needs it.
        await prepareChunkSink(async () => leadership.fence(await chunkSink()), adapter.name);
        const sink = leadership.fence(
          await createSink(pipeline, { pipelineName: pipeline.name, logger }, { stdout: io.stdout, adapter }),
        );
        const runner = new PipelineRunner({
          adapter,
          source: {
            ...sourceOptions,
            parallelism: cluster.inFlightChunks ?? DEFAULT_IN_FLIGHT_CHUNKS,
            remoteChunks: leadership.remoteChunks,
          },
          sink,
          checkpointStore: leadership.checkpointStore,
          logger,
          restart: pipeline.config.restart,
          joinWaitingBatches: true,
        });
        io.onRunner?.(runner);
        leading.runner = runner;
        void leadership.ended.then(() => runner.stop());
        try {
          await runner.run();
        } finally {
          leading.ended(runner);
        }
      },
    });
    member = running;
    let stopRequested: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stopRequested = resolve;
    });
    if (io.handleSignals !== false) {
      cleanups.push(
        stopOnSignals(logger, 'leaving the cluster (send the signal again to exit at once)', stopRequested),
      );
    }
    await running.start();
    if (pipeline.config.metrics !== undefined) {
      const metrics = pipeline.config.metrics;
      const view = new ClusterView(running);
      await view.refresh();
      cleanups.push(view.follow(CLUSTER_VIEW_REFRESH_MS));
      const page = await StatusPage.create({
        provider: leading,
        pipeline,
        readyLagSeconds: metrics.readyLagSeconds,
        cluster: () => view.section,
      });
      cleanups.push(() => page.close());
      const server = await startMetricsServer({
        host: metrics.host,
        port: metrics.port,
        metrics: new PipelineMetrics(leading, pipeline.name),
        routes: (request, response, path) => page.handle(request, response, path),
      });
      cleanups.push(() => void server.close());
      const pageUrl = server.url.replace(/\/metrics$/, '/');
      logger.info(
        { url: server.url, statusPage: pageUrl },
        `metrics at ${server.url}, status page (with the cluster's members) at ${pageUrl}`,
      );
    }
    await Promise.race([stopped, running.finished, running.failedWith]);
    await running.stop();
    return EXIT_OK;
  } catch (error) {
    await member?.stop().catch(() => undefined);
    logger.error({ code: error instanceof HighwaterError ? error.code : undefined }, messageOf(error));
    logger.debug({ err: error }, 'error details');
    return exitCodeOf(error);
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

/**
 * The pipeline this member runs while it leads, for the metrics and the status page (nothing runs
 * while it does not): counters carry on across leaderships in one process, so they never go down.
 */
class LeadingRunner implements StatusProvider {
  runner: PipelineRunner | null = null;
  private base = { batches: 0, events: 0, restarts: 0, writeSeconds: 0 };
  /** This process's record while it does not lead. */
  private readonly idle = new RunRecord();
  private lastCheckpoint: Checkpoint | null = null;

  get state(): RunnerState {
    return this.runner?.state ?? 'created';
  }

  get checkpoint(): Checkpoint | null {
    return this.runner?.checkpoint ?? this.lastCheckpoint;
  }

  get record(): RunRecord {
    return this.runner?.record ?? this.idle;
  }

  metrics(): SourceMetrics | null {
    return this.runner?.metrics() ?? null;
  }

  progress(): ReturnType<StatusProvider['progress']> {
    const now = this.runner?.progress();
    return {
      batches: this.base.batches + (now?.batches ?? 0),
      events: this.base.events + (now?.events ?? 0),
      restarts: this.base.restarts + (now?.restarts ?? 0),
      writeSeconds: this.base.writeSeconds + (now?.writeSeconds ?? 0),
      checkpointStoredAt: now?.checkpointStoredAt ?? null,
    };
  }

  /** The leadership of `runner` is over: its counts become the base of the next one's. */
  ended(runner: PipelineRunner): void {
    if (this.runner !== runner) return;
    const p = runner.progress();
    this.base = {
      batches: this.base.batches + p.batches,
      events: this.base.events + p.events,
      restarts: this.base.restarts + p.restarts,
      writeSeconds: this.base.writeSeconds + p.writeSeconds,
    };
    this.lastCheckpoint = runner.checkpoint;
    this.runner = null;
  }
}

/** How often a member reads the members bucket for its status page. */
const CLUSTER_VIEW_REFRESH_MS = 2_000;
/** How long one read of the members bucket may take before the page says NATS did not answer. */
const CLUSTER_VIEW_TIMEOUT_MS = 5_000;

/** The cluster's members as this member last read them from NATS (the status page reads it synchronously). */
class ClusterView {
  section: ClusterSection;

  constructor(private readonly member: ClusterMember<unknown>) {
    this.section = { member: member.member, role: 'member', leader: null, readAt: null, error: null, members: [] };
  }

  async refresh(): Promise<void> {
    const role = this.member.isLeader ? 'leader' : 'member';
    try {
      // A read that hangs (NATS away) must not freeze the page: it counts as failed after a while.
      let timer: NodeJS.Timeout | undefined;
      const { leader, members } = await Promise.race([
        this.member.clusterStatus(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CLUSTER_VIEW_TIMEOUT_MS} ms`)),
            CLUSTER_VIEW_TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      this.section = {
        member: this.member.member,
        role,
        leader: leader?.member ?? null,
        readAt: new Date().toISOString(),
        error: null,
        members: members.map((m) => ({
          member: m.member,
          host: m.host,
          pid: m.pid,
          role: m.role,
          reading: m.reading,
          handedOut: m.handedOut,
          chunksWritten: m.chunksWritten,
          since: new Date(m.since).toISOString(),
          seenAt: new Date(m.at).toISOString(),
        })),
      };
    } catch (error) {
      this.section = { ...this.section, role, error: messageOf(error) };
    }
  }

  /** Refreshes every `ms` until the returned function is called. */
  follow(ms: number): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.refresh().finally(() => {
        busy = false;
      });
    }, ms);
    return () => clearInterval(timer);
  }
}

/**
 * Before the first chunk is handed out: the members' row in the target's checkpoint table exists, so
 * their sinks do not take each other's rows for a stranger's (`sink.existingRows`): whether the target
 * held rows before the pipeline started is checked here once, and by the leader's own first write.
 */
async function prepareChunkSink(create: () => Promise<Sink>, connector: string): Promise<void> {
  const sink = await create();
  try {
    await sink.open();
    await sink.write({
      events: [],
      checkpoint: { version: 1, connector, position: null, complete: false, tables: {} },
    });
  } finally {
    await sink.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
