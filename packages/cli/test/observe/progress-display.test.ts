import { Writable } from 'node:stream';
import type { SourceMetrics } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../src/observe/metrics-server.js';
import { ProgressDisplay } from '../../src/observe/progress.js';

/** A stream that says it is a terminal (so bars are drawn) and keeps what is written. */
function terminal(): { stream: NodeJS.WritableStream; text: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      written += chunk.toString();
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = true;
  stream.columns = 120;
  return { stream, text: () => written };
}

const metrics: SourceMetrics = {
  state: 'snapshot',
  snapshot: {
    tablesTotal: 1,
    tablesDone: 0,
    splitsDone: 1,
    splitsTotal: 4,
    rowsRead: 100,
    rowsPerSecond: 50,
    tables: [{ table: 'public.items', done: false, splitsDone: 1, splitsTotal: 4, rowsRead: 100 }],
  },
  currentFetchEventTimeLag: null,
  currentEmitEventTimeLag: null,
  sourceIdleTime: 0,
  eventsEmitted: 100,
  eventsPerSecond: 50,
  position: null,
  log: {},
};

function provider(current: SourceMetrics | null): MetricsProvider {
  return {
    state: current === null ? 'starting' : 'snapshot',
    metrics: () => current,
    progress: () => ({ batches: 0, events: 0, checkpointStoredAt: null }),
  };
}

describe('the progress display', () => {
  it('a line logged just before stop() is printed, above the final bars', () => {
    const { stream, text } = terminal();
    // A long interval: nothing redraws between the log and the stop, as when a run fails.
    const display = new ProgressDisplay(provider(metrics), { stream, intervalMs: 60_000 });
    display.refresh();
    display.log('error: the sink failed\n');
    display.stop();
    expect(text()).toContain('error: the sink failed');
    expect(text().indexOf('error: the sink failed')).toBeLessThan(text().lastIndexOf('public.items'));
  });

  it('a line logged before any bar is drawn (a run failing while it connects) is printed', () => {
    const { stream, text } = terminal();
    const display = new ProgressDisplay(provider(null), { stream, intervalMs: 60_000 });
    display.log('error: cannot connect\n');
    display.stop();
    expect(text()).toContain('error: cannot connect');
  });

  it('a line logged after stop() is printed', () => {
    const { stream, text } = terminal();
    const display = new ProgressDisplay(provider(metrics), { stream, intervalMs: 60_000 });
    display.refresh();
    display.stop();
    display.log('later\n');
    expect(text()).toContain('later');
  });
});
