import type { SinkLogger, SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { NatsSink } from '@highwater/sink-nats';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { shopDatabase } from '../helpers.js';

// The NATS server crashes (SIGKILL) under a running pipeline and comes back on the same store: the
// runner restarts the pipeline in-process (the sink's failures are retriable), the sink removes the
// batch cut short, and the stream ends with every row and change once.

let nats: ThrowawayNats;
beforeAll(async () => {
  nats = await startNats({ useEnv: false });
}, 60_000);
afterAll(async () => {
  await nats?.stop();
});

/** `op:id` of every table event in the stream, in order. */
async function streamChanges(url: string, stream: string, filter: string): Promise<string[]> {
  const connection = await connect({ servers: url });
  try {
    const consumer = await jetstream(connection).consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.All,
    });
    let pending = (await consumer.info(true)).num_pending;
    const out: string[] = [];
    while (pending > 0) {
      for await (const m of await consumer.fetch({ max_messages: Math.min(pending, 5_000), expires: 5_000 })) {
        const e = m.json<{ op: string; key: { id: number } }>();
        out.push(`${e.op}:${e.key.id}`);
        pending = m.info.pending;
        if (pending === 0) break;
      }
    }
    return out;
  } finally {
    await connection.close();
  }
}

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('NATS sink under a pipeline whose NATS server crashes', () => {
  it('restarts in-process and ends with every row and change in the stream once', async () => {
    const rows = 20_000;
    const db = shopDatabase(rows);
    const warnings: string[] = [];
    const logger: SinkLogger = { info() {}, debug() {}, warn: (_f, message) => warnings.push(message) };
    const sink = new NatsSink({ url: nats.url, pipeline: 'crash', ackTimeoutMs: 3_000, logger });
    const runner = new PipelineRunner({
      adapter: memoryAdapter(db) as SourceAdapter<unknown>,
      source: { tables: { include: ['shop.*'] }, chunkSize: 500, batchSize: 200 },
      sink,
      logger,
      restart: { attempts: 20, initialDelayMs: 200, maxDelayMs: 1_000 },
    });
    const running = runner.run();
    try {
      await until('a few batches written', () => runner.progress().batches >= 5);
      await nats.kill();
      await nats.restart();
      await until('the restart', () => runner.progress().restarts >= 1);
      await until('the snapshot stored', () => runner.storedPhase === 'stream');
      db.insert('shop.orders', { id: rows + 1, note: 'new' });
      db.update('shop.orders', [3], { note: 'changed' });
      db.delete('shop.orders', [4]);
      await until('the changes', async () => (await streamChanges(nats.url, sink.stream, 'crash.*.*')).includes(`d:4`));
    } finally {
      runner.stop();
      await running;
    }
    const all = await streamChanges(nats.url, sink.stream, 'crash.*.*');
    expect(warnings.some((w) => w.includes('restarting from the stored checkpoint'))).toBe(true);
    expect(all.filter((c) => c.startsWith('r:'))).toHaveLength(rows);
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((c) => !c.startsWith('r:'))).toEqual([`c:${rows + 1}`, 'u:3', 'd:4']);
  }, 120_000);
});
