import { ConfigError, MemoryCheckpointStore, type SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { type MetricsServer, PipelineMetrics, startMetricsServer } from '../../src/observe/metrics-server.js';
import { formatDuration, streamLine } from '../../src/observe/progress.js';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { changes, MemorySink, shopDatabase, streamMetrics, waitFor } from '../helpers.js';

async function scrape(server: MetricsServer): Promise<string> {
  const response = await fetch(server.url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

describe('the Prometheus endpoint', () => {
  it('serves snapshot progress per table, lags, events, log gauges and the state, labelled with the pipeline', async () => {
    const db = shopDatabase(90);
    const sink = new MemorySink();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables: { include: ['shop.*'] }, chunkSize: 30 },
      sink,
      checkpointStore: new MemoryCheckpointStore(),
    });
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PipelineMetrics(runner, 'shop'),
    });
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
      const before = await scrape(server);
      expect(before).toContain('highwater_pipeline_state{state="created",pipeline="shop"} 1');

      const running = runner.run();
      await waitFor(() => runner.state === 'stream', 'the stream');
      db.insert('shop.orders', { id: 91, note: 'new' });
      await waitFor(() => changes(sink.events).includes('c:91'), 'the insert');
      const text = await scrape(server);
      expect(text).toContain('highwater_pipeline_state{state="stream",pipeline="shop"} 1');
      expect(text).toContain('highwater_pipeline_state{state="snapshot",pipeline="shop"} 0');
      expect(text).toContain('highwater_snapshot_rows_read{table="shop.orders",pipeline="shop"} 90');
      expect(text).toContain('highwater_snapshot_chunks_done{table="shop.orders",pipeline="shop"} 3');
      expect(text).toContain('highwater_snapshot_table_done{table="shop.orders",pipeline="shop"} 1');
      expect(text).toMatch(/^# TYPE highwater_events_emitted_total counter$/m);
      expect(text).toMatch(/^highwater_events_emitted_total\{pipeline="shop"\} 9\d$/m);
      expect(text).toMatch(/^highwater_events_written_total\{pipeline="shop"\} 9\d$/m);
      expect(text).toMatch(/^highwater_current_emit_event_time_lag_seconds\{pipeline="shop"\} \d/m);
      expect(text).toMatch(/^highwater_source_idle_time_seconds\{pipeline="shop"\} \d/m);
      expect(text).toMatch(/^highwater_checkpoint_stored_timestamp_seconds\{pipeline="shop"\} \d{10}/m);
      // The memory adapter's log reader reports `entriesBehind`.
      expect(text).toMatch(/^highwater_log_entries_behind\{pipeline="shop"\} \d+$/m);
      expect(text).toContain('process_cpu_user_seconds_total');
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
      runner.stop();
      await running;
      expect(await scrape(server)).toContain('highwater_pipeline_state{state="stopped",pipeline="shop"} 1');
    } finally {
      await server.close();
    }
  });

  it('names the port when it cannot listen', async () => {
    const metrics = new PipelineMetrics(
      { state: 'created', metrics: () => null, progress: () => ({ batches: 0, events: 0, checkpointStoredAt: null }) },
      'p',
      { processMetrics: false },
    );
    const first = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics });
    try {
      const error = await startMetricsServer({ host: '127.0.0.1', port: first.port, metrics }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`cannot listen on 127.0.0.1:${first.port} (EADDRINUSE)`);
    } finally {
      await first.close();
    }
  });
});

describe('the progress line', () => {
  it('shows events, rate, lag and the log figures', () => {
    const line = streamLine(
      'stream',
      streamMetrics({
        currentFetchEventTimeLag: 100,
        currentEmitEventTimeLag: 1500,
        sourceIdleTime: 250,
        eventsEmitted: 12345,
        eventsPerSecond: 99.6,
        log: { slotLagBytes: 8192 },
      }),
    );
    expect(line).toBe('stream | 12,345 events | 100 events/s | lag 1.5 s | idle 250 ms | slotLagBytes 8,192');
    expect(formatDuration(192_000)).toBe('3 min 12 s');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
  });
});
