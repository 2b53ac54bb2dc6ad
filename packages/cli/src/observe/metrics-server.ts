import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, type SourceMetrics } from '@highwater/core';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { RunnerState } from '../run/pipeline-runner.js';
import type { SlotGauge } from '../slots/slot-monitor.js';

/** What the exporter reads on every scrape; a `PipelineRunner` fits. */
export interface MetricsProvider {
  readonly state: RunnerState;
  metrics(): SourceMetrics | null;
  progress(): {
    batches: number;
    events: number;
    checkpointStoredAt: number | null;
    restarts?: number;
    /** Times a reader of the source reconnected by itself (the source's retries). */
    reconnects?: number;
    /** Seconds spent writing batches and storing their checkpoints. */
    writeSeconds?: number;
  };
}

/** More pages on the metrics address (the status page): answers `path` and returns true, or returns false. */
export type ExtraRoutes = (request: IncomingMessage, response: ServerResponse, path: string) => boolean;

const STATES: readonly RunnerState[] = [
  'created',
  'starting',
  'snapshot',
  'stream',
  'restarting',
  'stopping',
  'stopped',
  'done',
  'failed',
];

/**
 * The Prometheus registry of one pipeline (its own, not prom-client's global one, so an
 * application embedding the runner keeps its metrics apart). Every series carries the label
 * `pipeline`. Values are read from the provider when `update()` is called — the HTTP endpoint does so
 * on every scrape. Names are listed in docs/operations.md.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  readonly #provider: MetricsProvider;
  readonly #state: Gauge;
  readonly #tableRows: Gauge;
  readonly #tableChunksDone: Gauge;
  readonly #tableChunksTotal: Gauge;
  readonly #tableDone: Gauge;
  readonly #tablesTotal: Gauge;
  readonly #tablesDone: Gauge;
  readonly #rowsPerSecond: Gauge;
  readonly #fetchLag: Gauge;
  readonly #emitLag: Gauge;
  readonly #idle: Gauge;
  readonly #eventsEmitted: Counter;
  readonly #eventsPerSecond: Gauge;
  readonly #batchesWritten: Counter;
  readonly #eventsWritten: Counter;
  readonly #checkpointStored: Gauge;
  readonly #restarts: Counter;
  readonly #reconnects: Counter;
  readonly #slotRetained: Gauge;
  readonly #slotIdle: Gauge;
  readonly #slots: (() => readonly SlotGauge[]) | undefined;
  readonly #writeSeconds: Counter;
  readonly #logGauges = new Map<string, Gauge>();
  #seen = { emitted: 0, batches: 0, events: 0, restarts: 0, reconnects: 0, writeSeconds: 0 };

  constructor(
    provider: MetricsProvider,
    pipelineName: string,
    options: { processMetrics?: boolean; slots?: () => readonly SlotGauge[] } = {},
  ) {
    this.#provider = provider;
    this.#slots = options.slots;
    this.registry.setDefaultLabels({ pipeline: pipelineName });
    const registers = [this.registry];
    const gauge = (name: string, help: string, labelNames: string[] = []) =>
      new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    this.#state = gauge('highwater_pipeline_state', 'The pipeline state: 1 for the current one.', ['state']);
    this.#tableRows = gauge('highwater_snapshot_rows_read', 'Rows read by the snapshot, per table.', ['table']);
    this.#tableChunksDone = gauge('highwater_snapshot_chunks_done', 'Snapshot chunks finished, per table.', ['table']);
    this.#tableChunksTotal = gauge(
      'highwater_snapshot_chunks_total',
      'Snapshot chunks expected (finished, unfinished and estimated), per table.',
      ['table'],
    );
    this.#tableDone = gauge('highwater_snapshot_table_done', '1 once every chunk of the table is read.', ['table']);
    this.#tablesTotal = gauge('highwater_snapshot_tables', 'Tables being or already snapshotted in this run.');
    this.#tablesDone = gauge('highwater_snapshot_tables_done', 'Tables whose snapshot finished in this run.');
    this.#rowsPerSecond = gauge('highwater_snapshot_rows_per_second', 'Snapshot rows read per second, recently.');
    this.#fetchLag = gauge(
      'highwater_current_fetch_event_time_lag_seconds',
      'Seconds between the commit of the last change read from the log and its reading (NaN before the first).',
    );
    this.#emitLag = gauge(
      'highwater_current_emit_event_time_lag_seconds',
      'Seconds between the commit of the last change handed to the sink and that moment (NaN before the first).',
    );
    this.#idle = gauge('highwater_source_idle_time_seconds', 'Seconds since the log last delivered a captured change.');
    this.#eventsEmitted = counter('highwater_events_emitted_total', 'Events the source handed out.');
    this.#eventsPerSecond = gauge('highwater_events_per_second', 'Events handed out per second, recently.');
    this.#batchesWritten = counter('highwater_batches_written_total', 'Batches written by the sink and checkpointed.');
    this.#eventsWritten = counter('highwater_events_written_total', 'Events in batches written and checkpointed.');
    this.#checkpointStored = gauge(
      'highwater_checkpoint_stored_timestamp_seconds',
      'When the last checkpoint was stored (Unix time; absent before the first).',
    );
    this.#restarts = counter(
      'highwater_pipeline_restarts_total',
      'Times the pipeline restarted itself (closed, waited, resumed from its checkpoint) after a retriable failure.',
    );
    this.#reconnects = counter(
      'highwater_source_reconnects_total',
      "Times one of the source's readers lost its database connection and reconnected by itself (no restart of the pipeline).",
    );
    this.#slotRetained = gauge(
      'highwater_replication_slot_retained_wal_bytes',
      "WAL the source server keeps for each of Highwater's replication slots (Postgres).",
      ['slot'],
    );
    this.#slotIdle = gauge(
      'highwater_replication_slot_idle_seconds',
      "Seconds each of Highwater's replication slots has not been read, as far as known (0 while in use).",
      ['slot'],
    );
    this.#writeSeconds = counter(
      'highwater_batch_write_seconds_total',
      'Seconds spent writing batches and storing their checkpoints (divide its rate by the batches rate for the mean).',
    );
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.update();
  }

  /** Reads the provider into the registry. */
  update(): void {
    const state = this.#provider.state;
    for (const s of STATES) this.#state.set({ state: s }, s === state ? 1 : 0);
    const m = this.#provider.metrics();
    const progress = this.#provider.progress();
    this.#batchesWritten.inc(progress.batches - this.#seen.batches);
    this.#eventsWritten.inc(progress.events - this.#seen.events);
    const restarts = progress.restarts ?? 0;
    this.#restarts.inc(restarts - this.#seen.restarts);
    const reconnects = progress.reconnects ?? 0;
    this.#reconnects.inc(reconnects - this.#seen.reconnects);
    const writeSeconds = progress.writeSeconds ?? 0;
    this.#writeSeconds.inc(writeSeconds - this.#seen.writeSeconds);
    this.#seen = {
      ...this.#seen,
      batches: progress.batches,
      events: progress.events,
      restarts,
      reconnects,
      writeSeconds,
    };
    if (progress.checkpointStoredAt !== null) this.#checkpointStored.set(progress.checkpointStoredAt / 1000);
    if (this.#slots !== undefined) {
      this.#slotRetained.reset();
      this.#slotIdle.reset();
      for (const slot of this.#slots()) {
        if (slot.retainedWalBytes !== null) this.#slotRetained.set({ slot: slot.name }, slot.retainedWalBytes);
        this.#slotIdle.set({ slot: slot.name }, slot.idleSeconds);
      }
    }
    if (m === null) {
      for (const g of [this.#fetchLag, this.#emitLag]) g.set(Number.NaN);
      return;
    }
    for (const g of [this.#tableRows, this.#tableChunksDone, this.#tableChunksTotal, this.#tableDone]) g.reset();
    for (const t of m.snapshot.tables) {
      const labels = { table: t.table };
      this.#tableRows.set(labels, t.rowsRead);
      this.#tableChunksDone.set(labels, t.splitsDone);
      this.#tableChunksTotal.set(labels, t.splitsTotal);
      this.#tableDone.set(labels, t.done ? 1 : 0);
    }
    this.#tablesTotal.set(m.snapshot.tablesTotal);
    this.#tablesDone.set(m.snapshot.tablesDone);
    this.#rowsPerSecond.set(m.snapshot.rowsPerSecond);
    this.#fetchLag.set(m.currentFetchEventTimeLag === null ? Number.NaN : m.currentFetchEventTimeLag / 1000);
    this.#emitLag.set(m.currentEmitEventTimeLag === null ? Number.NaN : m.currentEmitEventTimeLag / 1000);
    this.#idle.set(m.sourceIdleTime / 1000);
    // A restart makes a new source whose count starts again from zero: count on from there.
    if (m.eventsEmitted < this.#seen.emitted) this.#seen.emitted = 0;
    this.#eventsEmitted.inc(m.eventsEmitted - this.#seen.emitted);
    this.#seen.emitted = m.eventsEmitted;
    this.#eventsPerSecond.set(m.eventsPerSecond);
    for (const [key, value] of Object.entries(m.log)) this.#logGauge(key).set(value);
  }

  /** `slotLagBytes` → `highwater_log_slot_lag_bytes`: the adapter's log reader figures, whatever they are. */
  #logGauge(key: string): Gauge {
    let g = this.#logGauges.get(key);
    if (g === undefined) {
      const name = `highwater_log_${key
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .replace(/[^A-Za-z0-9_]/g, '_')
        .toLowerCase()}`;
      g = new Gauge({ name, help: `The source log reader's ${key} figure.`, registers: [this.registry] });
      this.#logGauges.set(key, g);
    }
    return g;
  }
}

export interface MetricsServer {
  /** `http://host:port/metrics`, with the port actually bound (useful with port 0). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly metrics: PipelineMetrics;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` in the Prometheus text format, and `routes` (the status page). Binds `host`
 * (the pipeline default is 127.0.0.1: metrics name tables and log positions); port 0 takes any free
 * port. Read-only: any method but GET and HEAD is answered 405.
 */
export async function startMetricsServer(options: {
  readonly host: string;
  readonly port: number;
  readonly metrics: PipelineMetrics;
  readonly routes?: ExtraRoutes;
}): Promise<MetricsServer> {
  const { metrics } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('read-only: GET or HEAD\n');
      return;
    }
    if (path !== '/metrics' && options.routes?.(request, response, path) === true) return;
    if (path !== '/metrics' && path !== '/') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('highwater: metrics at /metrics\n');
      return;
    }
    metrics.update();
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(
          `metrics: cannot listen on ${options.host}:${options.port} (${error.code ?? error.message}): ` +
            'set metrics.port to a free port (0 picks one) or metrics.host to an address of this machine',
          { cause: error },
        ),
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    host: address.address,
    port: address.port,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
