import { ConnectionLostError, type RetryPolicy, SinkError, type SinkLogger, type SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { PipelineMetrics } from '../../src/observe/metrics-server.js';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { changes, MemorySink, shopDatabase, waitFor } from '../helpers.js';

const tables = { include: ['shop.*'] };
const fast: RetryPolicy = { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 };

/** A logger keeping its warn lines. */
function recordingLogger(): SinkLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, debug() {}, warn: (_fields: object, message: string) => warnings.push(message) };
}

const lost = () => new SinkError('postgres sink: applying a batch failed: Connection terminated', { retriable: true });

/** Every change the sink committed, in order, as `op:id`. */
const committed = (sink: MemorySink) => changes(sink.stored.events);

describe('PipelineRunner restarts', () => {
  it('restarts after a retriable write failure and resumes from the stored checkpoint: nothing lost or repeated', async () => {
    const db = shopDatabase(120);
    const sink = new MemorySink(true);
    const logger = recordingLogger();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables, chunkSize: 30, batchSize: 20 },
      sink,
      logger,
      restart: fast,
    });
    const metrics = new PipelineMetrics(runner, 'p', { processMetrics: false });
    // The 3rd and (after the first restart) the next write fail, as a dropped target connection would.
    let writes = 0;
    sink.onWrite = () => {
      writes++;
      if (writes === 3 || writes === 4) sink.gate = Promise.reject(lost());
    };
    const running = runner.run();
    await waitFor(() => committed(sink).filter((c) => c.startsWith('r:')).length === 120, 'the snapshot');
    db.insert('shop.orders', { id: 121, note: 'new' });
    db.update('shop.orders', [3], { note: 'changed' });
    await waitFor(() => committed(sink).includes('u:3'), 'the changes');
    runner.stop();
    const summary = await running;

    expect(summary.restarts).toBe(2);
    expect(sink.opened).toBe(3);
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]).toMatch(
      /Connection terminated; restarting from the stored checkpoint in 1 ms \(attempt 1 of 3\)/,
    );
    expect(logger.warnings[1]).toMatch(/in 2 ms \(attempt 2 of 3\)/);
    const all = committed(sink);
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((c) => c.startsWith('r:'))).toHaveLength(120);
    expect(all.filter((c) => !c.startsWith('r:'))).toEqual(['c:121', 'u:3']);
    metrics.update();
    expect(await metrics.registry.getSingleMetricAsString('highwater_pipeline_restarts_total')).toMatch(
      /highwater_pipeline_restarts_total\{pipeline="p"\} 2$/m,
    );
  });

  it('restarts when the source fails with a retriable error after its own retries', async () => {
    const db = shopDatabase(40);
    const sink = new MemorySink(true);
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables, retry: { attempts: 0, initialDelayMs: 1, maxDelayMs: 1 } },
      sink,
      restart: fast,
    });
    const running = runner.run();
    await waitFor(() => committed(sink).length === 40 && runner.state === 'stream', 'the snapshot');
    db.insert('shop.orders', { id: 41, note: 'before' });
    await waitFor(() => committed(sink).includes('c:41'), 'the first insert');
    expect(db.faults.dropLogConnections()).toBeGreaterThan(0);
    await waitFor(() => runner.progress().restarts === 1, 'the restart');
    db.insert('shop.orders', { id: 42, note: 'after' });
    await waitFor(() => committed(sink).includes('c:42'), 'the insert after the restart');
    runner.stop();
    const summary = await running;
    expect(summary.restarts).toBe(1);
    expect(committed(sink).filter((c) => !c.startsWith('r:'))).toEqual(['c:41', 'c:42']);
  });

  it('fails after the attempts, saying so, with the last error', async () => {
    const sink = new MemorySink(true);
    sink.onWrite = () => {
      sink.gate = Promise.reject(lost());
    };
    const logger = recordingLogger();
    const runner = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(10)) as SourceAdapter<unknown>,
      source: { tables },
      sink,
      logger,
      restart: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    const error = await runner.run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SinkError);
    expect((error as Error).message).toBe(
      'postgres sink: applying a batch failed: Connection terminated (gave up after 2 restarts)',
    );
    expect(logger.warnings).toHaveLength(2);
    expect(sink.opened).toBe(3);
    expect(sink.closed).toBe(3);
    expect(runner.state).toBe('failed');
    expect(sink.stored.events).toEqual([]);
  });

  it('does not restart for a non-retriable failure, nor for one while starting the first time', async () => {
    const broken = new MemorySink(true);
    broken.onWrite = () => {
      broken.gate = Promise.reject(new SinkError('postgres sink: value too long', { retriable: false }));
    };
    const first = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(5)) as SourceAdapter<unknown>,
      source: { tables },
      sink: broken,
      restart: fast,
    });
    await expect(first.run()).rejects.toThrow('value too long');
    expect(broken.opened).toBe(1);

    const unreachable = new MemorySink(true);
    unreachable.open = async () => {
      unreachable.opened++;
      throw new ConnectionLostError('postgres sink: cannot connect to 127.0.0.1:1: connection refused');
    };
    const second = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(5)) as SourceAdapter<unknown>,
      source: { tables },
      sink: unreachable,
      restart: fast,
    });
    await expect(second.run()).rejects.toThrow(/connection refused$/);
    expect(unreachable.opened).toBe(1);
    expect(second.progress().restarts).toBe(0);
  });

  it('restarts a run resuming from a stored checkpoint whose source is down while it starts', async () => {
    const db = shopDatabase(20);
    const sink = new MemorySink(true);
    const before = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables },
      sink,
      restart: fast,
    });
    const firstRun = before.run();
    await waitFor(() => committed(sink).filter((c) => c.startsWith('r:')).length === 20, 'the snapshot');
    before.stop();
    await firstRun;
    expect(sink.stored.checkpoint).not.toBeNull();

    // The source's server is restarting: the first connection of the resumed run is refused.
    const adapter = memoryAdapter(db) as SourceAdapter<unknown>;
    const createIntrospector = adapter.createIntrospector.bind(adapter);
    let refused = 0;
    const restarting: SourceAdapter<unknown> = {
      ...adapter,
      createIntrospector: async () => {
        if (refused++ === 0) throw new ConnectionLostError('memory: cannot connect: connection refused');
        return createIntrospector();
      },
    };
    const logger = recordingLogger();
    const resumed = new PipelineRunner({ adapter: restarting, source: { tables }, sink, logger, restart: fast });
    const secondRun = resumed.run();
    db.insert('shop.orders', { id: 21, note: 'written while the pipeline was down' });
    await waitFor(() => committed(sink).includes('c:21'), 'the change after the restart');
    resumed.stop();
    const summary = await secondRun;

    expect(refused).toBeGreaterThanOrEqual(2);
    expect(summary.restarts).toBe(1);
    expect(logger.warnings[0]).toMatch(/connection refused; restarting from the stored checkpoint/);
    const all = committed(sink);
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((c) => !c.startsWith('r:'))).toEqual(['c:21']);
  });

  it('stop() during the wait before a restart ends the run at once', async () => {
    const sink = new MemorySink(true);
    let writes = 0;
    sink.onWrite = () => {
      if (++writes === 2) sink.gate = Promise.reject(lost());
    };
    const runner = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(50)) as SourceAdapter<unknown>,
      source: { tables, batchSize: 10, chunkSize: 10 },
      sink,
      // Long enough that only stop() can end the wait within the test's timeout.
      restart: { attempts: 5, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
    });
    const running = runner.run();
    await waitFor(() => runner.state === 'restarting', 'the wait');
    runner.stop();
    const summary = await running;
    expect(summary.reason).toBe('stopped');
    expect(summary.restarts).toBe(1);
    expect(sink.opened).toBe(1);
    expect(sink.closed).toBe(1);
  });
});
