import { ClusterMember } from '@highwater/cluster';
import { ConfigError, HighwaterError, type Sink, type SourceAdapter } from '@highwater/core';
import { createPipelineLogger } from '../observe/logger.js';
import type { LoadedPipeline } from '../pipeline/load-pipeline.js';
import type { ClusterConfig } from '../pipeline/pipeline-schema.js';
import { PipelineRunner, type RunnerSourceOptions } from '../run/pipeline-runner.js';
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
        await prepareChunkSink(() => chunkSink(), adapter.name);
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
        void leadership.ended.then(() => runner.stop());
        await runner.run();
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
