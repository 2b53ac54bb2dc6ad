import {
  type Checkpoint,
  CheckpointError,
  ConfigError,
  type EventBatch,
  EventLineEncoder,
  type SourceEvent,
  SinkError,
} from '@highwater/core';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsSink, type NatsSinkOptions, readNatsSinkCommit } from '../src/index.js';
import { readStream } from './stream-reader.js';

let nats: ThrowawayNats;
beforeAll(async () => {
  nats = await startNats();
}, 60_000);
afterAll(async () => {
  await nats?.stop();
});

let pipelines = 0;
/** A pipeline name no other test uses: each test gets its own stream and subjects. */
const freshPipeline = () => `p${++pipelines}-${process.pid}`;

function checkpoint(position: number): Checkpoint {
  return { version: 1, connector: 'memory', position, complete: false, tables: { 'shop.orders': { phase: 'stream' } } };
}

function change(id: number, position: number, note = `n${id}`, table = 'orders'): SourceEvent {
  return {
    kind: 'change',
    op: 'c',
    key: { id },
    before: null,
    after: { id, note },
    beforeImage: 'none',
    unknownColumns: [],
    source: {
      connector: 'memory',
      table: `shop.${table}`,
      tableId: { schema: 'shop', name: table },
      opTs: 1,
      offset: position,
      txId: null,
      snapshot: false,
    },
  };
}

function batch(ids: number[], position: number): EventBatch {
  return { events: ids.map((id) => change(id, position)), checkpoint: checkpoint(position) };
}

function sink(pipeline: string, options: Partial<NatsSinkOptions> = {}): NatsSink {
  return new NatsSink({ url: nats.url, pipeline, ...options });
}

async function withManager<T>(use: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> {
  const connection = await connect({ servers: nats.url });
  try {
    return await use(await jetstreamManager(connection));
  } finally {
    await connection.close();
  }
}

const ids = (messages: { data: string }[]) =>
  messages.map((m) => (JSON.parse(m.data) as { key: { id: number } }).key.id);

describe('NatsSink', () => {
  it('publishes one message per event on the table subject, with key, offset and position headers, and commits the checkpoint', async () => {
    const pipeline = freshPipeline();
    const s = sink(pipeline);
    expect(await s.open()).toBeNull();
    const first = batch([1, 2], 10);
    await s.write(first);
    await s.write({ events: [change(7, 11, 'x', 'lines')], checkpoint: checkpoint(11) });
    await s.close();

    const events = await readStream(nats.url, s.stream, `${pipeline}.*.*`);
    expect(events.map((m) => m.subject)).toEqual([
      `${pipeline}.shop.orders`,
      `${pipeline}.shop.orders`,
      `${pipeline}.shop.lines`,
    ]);
    expect(events[0]!.data).toBe(new EventLineEncoder('native', pipeline).encode([first.events[0]!]).trimEnd());
    expect(events[1]!.headers).toMatchObject({
      'Highwater-Pipeline': pipeline,
      'Highwater-Position': '1.1',
      'Highwater-Offset': '10',
      'Highwater-Key': '{"id":2}',
    });
    expect(events[2]!.headers['Highwater-Position']).toBe('2.0');
    expect(new Set(events.map((m) => m.headers['Nats-Msg-Id'])).size).toBe(3);

    const commits = await readStream(nats.url, s.stream, s.commitSubject);
    // The rollup keeps only the latest marker.
    expect(commits).toHaveLength(1);
    expect(JSON.parse(commits[0]!.data)).toMatchObject({ commit: 2, events: 1, checkpoint: checkpoint(11) });
    expect(commits[0]!.seq).toBeGreaterThan(events[2]!.seq);
    expect((await readNatsSinkCommit({ url: nats.url, pipeline }))?.checkpoint).toEqual(checkpoint(11));

    const again = sink(pipeline);
    expect(await again.open()).toEqual(checkpoint(11));
    await again.close();
  });

  it('writes Debezium records (topic, key, envelope) when asked, as the file sink does', async () => {
    const pipeline = freshPipeline();
    const s = sink(pipeline, { format: 'debezium' });
    await s.open();
    await s.write(batch([5], 3));
    await s.close();
    const [message] = await readStream(nats.url, s.stream, `${pipeline}.*.*`);
    expect(JSON.parse(message!.data)).toMatchObject({
      topic: `${pipeline}.shop.orders`,
      key: { id: 5 },
      value: { op: 'c', after: { id: 5, note: 'n5' } },
    });
  });

  it('after a batch cut short, deletes its published part on open and resumes from the last commit: no event twice', async () => {
    const pipeline = freshPipeline();
    const s = sink(pipeline);
    await s.open();
    await s.write(batch([1, 2], 1));
    // Event 13 is over the server's 1 MB message limit: the client refuses it after 10–12 went out,
    // as a crash in the middle of a batch would leave them (published, no commit marker).
    const cut: EventBatch = {
      events: [change(10, 2), change(11, 2), change(12, 2), change(13, 2, 'x'.repeat(2_000_000))],
      checkpoint: checkpoint(2),
    };
    const failure = await s.write(cut).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SinkError);
    expect((failure as SinkError).table).toBe('shop.orders');
    await s.close();
    expect(ids(await readStream(nats.url, s.stream, `${pipeline}.*.*`))).toEqual([1, 2, 10, 11, 12]);

    const restarted = sink(pipeline);
    expect(await restarted.open()).toEqual(checkpoint(1));
    expect(ids(await readStream(nats.url, s.stream, `${pipeline}.*.*`))).toEqual([1, 2]);
    // The source sends the batch again from checkpoint 1 (here without the oversized row).
    await restarted.write(batch([10, 11, 12], 2));
    await restarted.close();
    expect(ids(await readStream(nats.url, s.stream, `${pipeline}.*.*`))).toEqual([1, 2, 10, 11, 12]);
  });

  it('does not depend on the de-duplication window: a restart after it has passed resumes exactly', async () => {
    const pipeline = freshPipeline();
    const stream = `user-${pipeline}`;
    await withManager((jsm) =>
      jsm.streams.add({ name: stream, subjects: [`${pipeline}.>`], duplicate_window: 100_000_000 /* 100 ms */ }),
    );
    const s = sink(pipeline, { stream });
    await s.open();
    await s.write(batch([1, 2, 3], 1));
    await s.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const restarted = sink(pipeline, { stream });
    expect(await restarted.open()).toEqual(checkpoint(1));
    await restarted.write(batch([4], 2));
    await restarted.close();
    expect(ids(await readStream(nats.url, stream, `${pipeline}.*.*`))).toEqual([1, 2, 3, 4]);
  });

  it('fails the commit of a second process writing the same pipeline', async () => {
    const pipeline = freshPipeline();
    const a = sink(pipeline);
    const b = sink(pipeline);
    await a.open();
    await b.open();
    await a.write(batch([1], 1));
    const failure = await b.write(batch([2], 1)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SinkError);
    expect((failure as Error).message).toMatch(/two runs of pipeline/);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a stream that does not take its subjects, or would lose its commits', async () => {
    const pipeline = freshPipeline();
    await withManager(async (jsm) => {
      await jsm.streams.add({ name: `narrow-${pipeline}`, subjects: [`${pipeline}.shop.orders`] });
      await jsm.streams.add({
        name: `tables-${pipeline}`,
        subjects: [`x${pipeline}._highwater.>`, `x${pipeline}.shop.orders`],
      });
      await jsm.streams.add({
        name: `queue-${pipeline}`,
        subjects: [`q${pipeline}.>`],
        retention: RetentionPolicy.Workqueue,
      });
    });
    const narrow = sink(pipeline, { stream: `narrow-${pipeline}` });
    await expect(narrow.open()).rejects.toThrow(/does not take subject .*_highwater.*commit/);
    await narrow.close();

    const tables = sink(pipeline, { stream: `tables-${pipeline}`, subjectPrefix: `x${pipeline}` });
    await tables.open();
    await tables.write(batch([1], 1));
    const failure = await tables
      .write({ events: [change(1, 2, 'a', 'lines')], checkpoint: checkpoint(2) })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toMatch(/table shop\.lines: stream tables-.* does not take its subject/);
    await tables.close();

    const queue = sink(pipeline, { stream: `queue-${pipeline}`, subjectPrefix: `q${pipeline}` });
    await expect(queue.open()).rejects.toThrow(/workqueue retention/);
    await queue.close();
  });

  it('refuses to start over when the stream holds its events but the commit marker is gone', async () => {
    const pipeline = freshPipeline();
    const s = sink(pipeline);
    await s.open();
    await s.write(batch([1], 1));
    await s.close();
    await withManager((jsm) => jsm.streams.purge(s.stream, { filter: s.commitSubject }));
    const again = sink(pipeline);
    await expect(again.open()).rejects.toThrow(CheckpointError);
    await again.close();
  });

  it('names a missing server clearly, as a retriable failure', async () => {
    const s = new NatsSink({ url: 'nats://127.0.0.1:1', pipeline: freshPipeline() });
    const failure = await s.open().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SinkError);
    expect((failure as SinkError).retriable).toBe(true);
    expect((failure as Error).message).toMatch(/connect to NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});
