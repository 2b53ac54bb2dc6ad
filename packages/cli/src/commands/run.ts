import { EXIT_OK, exitCodeOf } from './exit-codes.js';
import { FileCheckpointStore, HighwaterError, type Sink, type SourceAdapter } from '@highwater/core';
import { type LoadedPipeline, loadPipeline } from '../pipeline/load-pipeline.js';
import { redact } from '../pipeline/redact.js';
import { type LogFormat, type LogLevel, createPipelineLogger } from '../observe/logger.js';
import { type MetricsServer, PipelineMetrics, startMetricsServer } from '../observe/metrics-server.js';
import { ProgressDisplay, startProgressLog } from '../observe/progress.js';
import { StatusPage } from '../observe/status/status-page.js';
import { PipelineRunner, type RunnerSourceOptions } from '../run/pipeline-runner.js';
import { createSink } from '../sinks/create-sink.js';
import type { SinkLogger } from '@highwater/core';
import { listPipelineSlots, replicationOf } from '../slots/pipeline-slots.js';
import { SlotMonitor } from '../slots/slot-monitor.js';
import type { LineOutput } from '@highwater/sink-file';
import { createAdapter, sourceOptionsOf } from '../sources/create-adapter.js';

/** Command-line options of `highwater run`. */
export interface RunCommandOptions {
  /** `auto` (default): bars when standard error is a terminal. */
  readonly progress?: 'auto' | 'on' | 'off';
  /** Default: `pretty` on a terminal, `json` otherwise. */
  readonly logFormat?: LogFormat;
  /** Overrides the pipeline's `log.level`. */
  readonly logLevel?: LogLevel;
}

/** Where the command reads and writes, so tests can run it in-process. */
export interface RunCommandIo {
  readonly env?: NodeJS.ProcessEnv;
  /** Log lines and the progress display (default: standard error). */
  readonly stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Data of the `stdout` sink (default: standard output). */
  readonly stdout?: LineOutput;
  /** Install SIGINT/SIGTERM handlers (default true). */
  readonly handleSignals?: boolean;
  /** Called with the runner once it exists (tests stop it with `runner.stop()`). */
  readonly onRunner?: (runner: PipelineRunner) => void;
  /** Called with the metrics endpoint once it listens. */
  readonly onMetrics?: (server: MetricsServer) => void;
}

// A second SIGINT/SIGTERM exits at once with 130/143; the other codes are in exit-codes.ts.
export { EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_SETUP, exitCodeOf } from './exit-codes.js';

/** `highwater run pipeline.yaml`: loads the file and runs the pipeline until stopped. Returns the exit code. */
export async function runCommand(
  file: string,
  options: RunCommandOptions = {},
  io: RunCommandIo = {},
): Promise<number> {
  let pipeline: LoadedPipeline;
  try {
    pipeline = await loadPipeline(file, io.env ?? process.env);
  } catch (error) {
    (io.stderr ?? process.stderr).write(`highwater run: ${messageOf(error)}\n`);
    return exitCodeOf(error);
  }
  let adapter: SourceAdapter<unknown>;
  try {
    adapter = await createAdapter(pipeline.config.source, pipeline.name);
  } catch (error) {
    (io.stderr ?? process.stderr).write(`highwater run: ${redact(messageOf(error), pipeline.secrets)}\n`);
    return exitCodeOf(error);
  }
  const cluster = pipeline.config.cluster;
  if (cluster !== undefined) {
    const { runClusterMember } = await import('./run-cluster.js');
    return runClusterMember(pipeline, cluster, adapter, sourceOptionsOf(pipeline.config.source), options, io);
  }
  return executeRun({ pipeline, adapter, sourceOptions: sourceOptionsOf(pipeline.config.source) }, options, io);
}

/** What `executeRun` runs: a loaded pipeline, its adapter, and optionally a sink made elsewhere. */
export interface RunSetup {
  readonly pipeline: LoadedPipeline;
  readonly adapter: SourceAdapter<unknown>;
  readonly sourceOptions: RunnerSourceOptions;
  /** Default: the sink the pipeline file describes. */
  readonly sink?: Sink;
  /** How long closing waits for each adapter or sink call (see `PipelineRunnerOptions.closeTimeoutMs`). */
  readonly closeTimeoutMs?: number;
}

/**
 * Runs a pipeline with logging, progress, metrics and signal handling, and turns the outcome into
 * an exit code. A failure is one log line at `error` level (redacted of the pipeline's secrets),
 * with the stack at `debug` level only.
 */
export async function executeRun(
  setup: RunSetup,
  options: RunCommandOptions = {},
  io: RunCommandIo = {},
): Promise<number> {
  const { pipeline } = setup;
  const stderr = io.stderr ?? process.stderr;
  const tty = stderr.isTTY === true;
  const { logger, redirect } = createPipelineLogger({
    pipelineName: pipeline.name,
    level: options.logLevel ?? pipeline.config.log.level,
    format: options.logFormat ?? (tty ? 'pretty' : 'json'),
    secrets: pipeline.secrets,
    write: (line) => stderr.write(line),
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const sink =
      setup.sink ??
      (await createSink(
        pipeline,
        { pipelineName: pipeline.name, logger },
        { stdout: io.stdout, adapter: setup.adapter },
      ));
    const checkpointStore = sink.storesCheckpoints ? undefined : new FileCheckpointStore(pipeline.checkpointPath);
    const runner = new PipelineRunner({
      adapter: setup.adapter,
      source: setup.sourceOptions,
      sink,
      checkpointStore,
      logger,
      restart: pipeline.config.restart,
      joinWaitingBatches: true,
      ...(setup.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: setup.closeTimeoutMs }),
    });
    io.onRunner?.(runner);
    logger.info(
      {
        source: setup.adapter.name,
        sink: sink.name,
        checkpoint: checkpointStore === undefined ? `stored by the ${sink.name} sink` : checkpointStore.path,
      },
      `starting pipeline ${pipeline.name}`,
    );

    const slots = watchSlots(pipeline, runner, logger);
    if (slots !== null) cleanups.push(slots.stop);

    if (pipeline.config.metrics !== undefined) {
      const page = await StatusPage.create({
        provider: runner,
        pipeline,
        readyLagSeconds: pipeline.config.metrics.readyLagSeconds,
      });
      cleanups.push(() => page.close());
      const server = await startMetricsServer({
        host: pipeline.config.metrics.host,
        port: pipeline.config.metrics.port,
        metrics: new PipelineMetrics(runner, pipeline.name, { slots: slots?.monitor.gauges.bind(slots.monitor) }),
        routes: (request, response, path) => page.handle(request, response, path),
      });
      cleanups.push(() => server.close());
      const pageUrl = server.url.replace(/\/metrics$/, '/');
      logger.info({ url: server.url, statusPage: pageUrl }, `metrics at ${server.url}, status page at ${pageUrl}`);
      io.onMetrics?.(server);
    }

    const progress = options.progress ?? 'auto';
    if (progress === 'on' || (progress === 'auto' && tty)) {
      const display = new ProgressDisplay(runner, { stream: stderr });
      redirect((line) => display.log(line));
      cleanups.push(() => {
        display.stop();
        redirect(null);
      });
    } else {
      cleanups.push(startProgressLog(runner, logger));
    }

    if (io.handleSignals !== false) {
      cleanups.push(
        stopOnSignals(logger, 'stopping after the batch in hand (send the signal again to exit at once)', () =>
          runner.stop(),
        ),
      );
    }

    await runner.run();
    return EXIT_OK;
  } catch (error) {
    logger.error({ code: error instanceof HighwaterError ? error.code : undefined }, messageOf(error));
    logger.debug({ err: error }, 'error details');
    return exitCodeOf(error);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/**
 * SIGINT/SIGTERM: the first calls `stop` (logged with `message`), a second exits at once with
 * 130/143. Returns the function that removes the handlers.
 */
export function stopOnSignals(logger: SinkLogger, message: string, stop: () => void): () => void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      logger.info({ signal }, message);
      stop();
    } else {
      logger.warn({ signal }, 'exiting at once; the next run resumes from the last stored checkpoint');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Default of `idleSlotWarningSeconds`. */
const IDLE_SLOT_WARNING_SECONDS = 3600;

/**
 * For a Postgres source: watches Highwater's replication slots on its server while the source runs
 * (WAL each retains, idle ones warned about); null for a source that keeps no slot.
 */
function watchSlots(
  pipeline: LoadedPipeline,
  runner: PipelineRunner,
  logger: SinkLogger,
): { monitor: SlotMonitor; stop: () => void } | null {
  const replication = replicationOf(pipeline);
  const source = pipeline.config.source;
  if (replication === null || source.adapter !== 'postgres') return null;
  const idleWarningMs = (source.options.idleSlotWarningSeconds ?? IDLE_SLOT_WARNING_SECONDS) * 1000;
  const monitor = new SlotMonitor({
    read: () => listPipelineSlots(replication),
    idleWarningMs,
    pipelineFile: pipeline.file,
    logger,
    when: () => runner.state === 'snapshot' || runner.state === 'stream',
  });
  // Often enough to warn soon after the limit, rarely enough to cost the server nothing.
  const stop = monitor.start(Math.min(60_000, Math.max(500, idleWarningMs / 2)));
  return { monitor, stop };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
