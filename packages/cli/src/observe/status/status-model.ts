import { readableLogFigures } from '../log-figures.js';
import type { Checkpoint, SourceMetrics } from '@highwater/core';
import { checkpointLocation, describeStatus, phaseOf } from '../../commands/status.js';
import type { LoadedPipeline } from '../../pipeline/load-pipeline.js';
import { redact } from '../../pipeline/redact.js';
import type { RunRecord } from '../../run/run-record.js';
import type { MetricsProvider } from '../metrics-server.js';
import { TableRates } from '../table-rates.js';
import { describeSink, describeSource } from './describe-pipeline.js';
import { hintFor } from './error-hints.js';
import type { Sampler } from './sampler.js';
import {
  type ClusterSection,
  type IncidentStatus,
  type Readiness,
  STATUS_VERSION,
  type SnapshotStatus,
  type StatusDocument,
  type StreamStatus,
} from './status-document.js';

/** What the status page reads: a `PipelineRunner` fits. */
export interface StatusProvider extends MetricsProvider {
  /** The last checkpoint stored (or resumed from). */
  readonly checkpoint: Checkpoint | null;
  readonly record: RunRecord;
}

/**
 * The one place that turns a running pipeline into the status page's facts: `/api/status`, the
 * Server-Sent Events, the server-rendered page and `/ready` all read {@link document} or
 * {@link readiness}. Everything a user sees passes through `redact`.
 */
export class StatusModel {
  readonly #provider: StatusProvider;
  readonly #pipeline: LoadedPipeline;
  readonly #sampler: Sampler;
  readonly #maxLagSeconds: number;
  readonly #rates = new TableRates();
  readonly #source: string;
  readonly #sink: string;
  readonly #location: string;
  readonly #cluster: (() => ClusterSection) | undefined;

  constructor(
    provider: StatusProvider,
    pipeline: LoadedPipeline,
    options: {
      readonly sampler: Sampler;
      readonly readyLagSeconds: number;
      /** A clustered pipeline's members (`cluster:`), as last read from NATS. */
      readonly cluster?: () => ClusterSection;
    },
  ) {
    this.#cluster = options.cluster;
    this.#provider = provider;
    this.#pipeline = pipeline;
    this.#sampler = options.sampler;
    this.#maxLagSeconds = options.readyLagSeconds;
    this.#source = describeSource(pipeline);
    this.#sink = describeSink(pipeline);
    this.#location = checkpointLocation(pipeline);
  }

  /** The whole document; `afterSeq` keeps only the samples newer than it (a client that has the rest). */
  document(afterSeq = 0, now = new Date()): StatusDocument {
    const provider = this.#provider;
    const record = provider.record;
    const m = provider.metrics();
    const progress = provider.progress();
    const incidents = record.incidents();
    const checkpoint = provider.checkpoint;
    const storedAt = progress.checkpointStoredAt === null ? null : new Date(progress.checkpointStoredAt);
    return {
      version: STATUS_VERSION,
      generatedAt: now.toISOString(),
      pipeline: this.#pipeline.name,
      state: provider.state,
      startedAt: new Date(record.startedAt).toISOString(),
      uptimeSeconds: Math.max(0, (now.getTime() - record.startedAt) / 1000),
      source: { adapter: this.#pipeline.config.source.adapter, description: this.#source },
      sink: { type: this.#pipeline.config.sink.type, description: this.#sink },
      checkpoint: {
        phase: phaseOf(checkpoint),
        storedAt: storedAt?.toISOString() ?? null,
        text: redact(
          describeStatus(this.#pipeline, { location: this.#location, checkpoint, storedAt }, now),
          this.#pipeline.secrets,
        ),
      },
      ready: this.readiness(),
      snapshot: this.#snapshot(m, now.getTime()),
      stream: this.#stream(m, progress),
      restarts: progress.restarts ?? 0,
      reconnects: incidents.filter((i) => i.kind === 'reconnect').length,
      incidents: incidents.map(
        (i): IncidentStatus => ({
          kind: i.kind,
          at: new Date(i.at).toISOString(),
          code: i.code,
          message: redact(i.message, this.#pipeline.secrets),
          hint: hintFor(i.code),
          attempt: i.attempt,
          attempts: i.attempts,
          delayMs: i.delayMs,
          reader: i.reader,
        }),
      ),
      samples: this.#sampler.series(afterSeq),
      ...(this.#cluster === undefined ? {} : { cluster: this.#cluster() }),
    };
  }

  /**
   * Ready: the source is connected (the pipeline is in `snapshot` or `stream`, and no reconnect of
   * the source happened since the last batch written) and the emit lag is at most the limit.
   */
  readiness(): Readiness {
    const provider = this.#provider;
    const maxLagSeconds = this.#maxLagSeconds;
    const state = provider.state;
    const cluster = this.#cluster?.();
    // A member that does not lead runs no pipeline: it is ready while it reaches NATS (it reads chunks).
    if (cluster !== undefined && cluster.role === 'member') {
      return cluster.error === null && cluster.readAt !== null
        ? { ready: true, reason: null, maxLagSeconds }
        : { ready: false, reason: `NATS did not answer: ${cluster.error ?? 'not read yet'}`, maxLagSeconds };
    }
    if (state !== 'snapshot' && state !== 'stream') {
      return { ready: false, reason: `the pipeline is ${state}, not reading`, maxLagSeconds };
    }
    const last = provider.record.incidents().at(-1);
    const writtenAt = provider.record.lastWrittenAt;
    if (last?.kind === 'reconnect' && (writtenAt === null || last.at >= writtenAt)) {
      const message = redact(last.message, this.#pipeline.secrets);
      return {
        ready: false,
        reason: `the source is reconnecting its ${last.reader} reader: ${message}`,
        maxLagSeconds,
      };
    }
    const lagMs = provider.metrics()?.currentEmitEventTimeLag ?? null;
    if (lagMs !== null && lagMs / 1000 > maxLagSeconds) {
      return {
        ready: false,
        reason: `the emit lag is ${(lagMs / 1000).toFixed(1)} s, above metrics.readyLagSeconds (${maxLagSeconds} s)`,
        maxLagSeconds,
      };
    }
    return { ready: true, reason: null, maxLagSeconds };
  }

  #snapshot(m: SourceMetrics | null, now: number): SnapshotStatus {
    if (m === null) {
      return {
        tablesDone: 0,
        tablesTotal: 0,
        chunksDone: 0,
        chunksTotal: 0,
        rowsRead: 0,
        rowsPerSecond: 0,
        tables: [],
      };
    }
    const s = m.snapshot;
    return {
      tablesDone: s.tablesDone,
      tablesTotal: s.tablesTotal,
      chunksDone: s.splitsDone,
      chunksTotal: s.splitsTotal,
      rowsRead: s.rowsRead,
      rowsPerSecond: s.rowsPerSecond,
      tables: s.tables.map((t) => {
        const rowsPerSecond = this.#rates.update(t, now);
        const rowsTotalEstimate = t.done
          ? t.rowsRead
          : t.splitsDone === 0
            ? null
            : Math.round((t.rowsRead / t.splitsDone) * t.splitsTotal);
        const left = rowsTotalEstimate === null ? null : Math.max(0, rowsTotalEstimate - t.rowsRead);
        return {
          table: t.table,
          done: t.done,
          chunksDone: t.splitsDone,
          chunksTotal: Math.max(t.splitsTotal, t.splitsDone),
          rowsRead: t.rowsRead,
          rowsTotalEstimate,
          rowsPerSecond,
          etaSeconds: t.done ? 0 : left === null || rowsPerSecond <= 0 ? null : left / rowsPerSecond,
        };
      }),
    };
  }

  #stream(m: SourceMetrics | null, progress: ReturnType<StatusProvider['progress']>): StreamStatus {
    const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : ms / 1000);
    return {
      eventsEmitted: m?.eventsEmitted ?? 0,
      eventsWritten: progress.events,
      batchesWritten: progress.batches,
      eventsPerSecond: m?.eventsPerSecond ?? 0,
      emitLagSeconds: seconds(m?.currentEmitEventTimeLag),
      fetchLagSeconds: seconds(m?.currentFetchEventTimeLag),
      idleSeconds: seconds(m?.sourceIdleTime),
      log: readableLogFigures(m?.log ?? {}),
      tables: [...this.#provider.record.tables()].map(([table, c]) => ({
        table,
        reads: c.r,
        inserts: c.c,
        updates: c.u,
        deletes: c.d,
      })),
    };
  }
}
