import { MemoryCheckpointStore, type SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { MemorySink, shopDatabase, waitFor } from '../helpers.js';

// Calls the runner makes while ending a run are bounded by closeTimeoutMs: a sink close or an
// adapter's dropLogState that never settles ends the run anyway, saying what did not finish.

const tables = { include: ['shop.*'] };
const never = () => new Promise<never>(() => undefined);

function collectingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_fields: object, msg: string) => lines.push({ level, msg });
  return { logger: { info: at('info'), warn: at('warn'), debug: at('debug') }, lines };
}

describe('PipelineRunner with a call that never settles while closing', () => {
  it('a sink close(): run() rejects with HW_CLOSE_TIMEOUT naming the sink, after closing the source', async () => {
    const sink = new MemorySink();
    sink.close = never;
    const runner = new PipelineRunner({
      adapter: memoryAdapter(shopDatabase(10)) as SourceAdapter<unknown>,
      source: { tables },
      sink,
      checkpointStore: new MemoryCheckpointStore(),
      closeTimeoutMs: 100,
    });
    const running = runner.run();
    await waitFor(() => runner.state === 'stream', 'the stream');
    runner.stop();
    await expect(running).rejects.toMatchObject({
      code: 'HW_CLOSE_TIMEOUT',
      message: expect.stringContaining("the memory sink's close() did not settle within 100 ms"),
    });
    expect(runner.source?.metrics().state).toBe('closed');
  });

  it("an adapter's dropLogState(): the run ends as it would, with a warning that the drop did not finish", async () => {
    const base = memoryAdapter(shopDatabase(10)) as SourceAdapter<unknown>;
    const adapter: SourceAdapter<unknown> = { ...base, dropLogState: never };
    const { logger, lines } = collectingLogger();
    const runner = new PipelineRunner({
      adapter,
      source: { tables, startup: { mode: 'snapshot' } },
      sink: new MemorySink(),
      checkpointStore: new MemoryCheckpointStore(),
      closeTimeoutMs: 100,
      logger,
    });
    await expect(runner.run()).resolves.toMatchObject({ reason: 'done' });
    expect(lines).toContainEqual({
      level: 'warn',
      msg: expect.stringContaining('dropping it did not finish within 100 ms'),
    });
  });
});
