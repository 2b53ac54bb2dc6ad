import { metricValue, type Sample } from './metrics.js';

/** What the demo reads from the pipeline's metrics endpoint. */
export interface PipelineView {
  /** True once every table's snapshot is read and the pipeline streams. */
  readonly snapshotDone: boolean;
  readonly snapshotRows: number | undefined;
  /** Events the source handed out (snapshot rows and changes). */
  readonly eventsEmitted: number | undefined;
  /** Events written by the sink and checkpointed with them. */
  readonly eventsWritten: number | undefined;
  /** ms from the last delivered change's commit to its delivery; undefined before the first. */
  readonly lagMs: number | undefined;
}

/**
 * The figures the demo needs, from the metrics `highwater run` exports (names in
 * docs/operations.md); undefined while the endpoint does not answer.
 */
export function pipelineView(samples: readonly Sample[] | null): PipelineView | undefined {
  if (samples === null) return undefined;
  const lag = metricValue(samples, 'highwater_current_emit_event_time_lag_seconds');
  return {
    snapshotDone: metricValue(samples, 'highwater_pipeline_state', { state: 'stream' }) === 1,
    snapshotRows: metricValue(samples, 'highwater_snapshot_rows_read'),
    eventsEmitted: metricValue(samples, 'highwater_events_emitted_total'),
    eventsWritten: metricValue(samples, 'highwater_events_written_total'),
    lagMs: lag === undefined || Number.isNaN(lag) ? undefined : lag * 1000,
  };
}
