import type { Checkpoint, LogItem } from '@highwater/core';
import { memoryAdapter, memoryOffsets } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { ChunkFencer } from '../src/chunk-fencer.js';
import { ChunkDispatcher } from '../src/chunk-dispatcher.js';
import { ClusterMember, openCoordinator } from '../src/index.js';
import { LogPublisher } from '../src/log-publisher.js';
import { LogWindowReader } from '../src/log-window.js';
import { chunkRecordKey } from '../src/names.js';
import {
  consoleLogger,
  crashAfterWriteOf,
  itemsDb,
  leadUntilStored,
  sourceRows,
  TABLE,
  useNats,
} from './cluster-fixtures.js';
import { InMemoryTableSink } from './in-memory-table-sink.js';

const change = (offset: number): LogItem<number> => ({
  kind: 'change',
  op: 'u',
  table: 's.t',
  offset,
  before: null,
  after: { id: offset },
  beforeImage: 'none',
  commitTime: null,
  txId: null,
});

/** A checkpoint whose table `s.t` has splits `indexes` unfinished. */
function unfinished(indexes: number[]): Checkpoint {
  return {
    version: 1,
    connector: 'memory',
    position: 0,
    complete: false,
    tables: {
      's.t': {
        phase: 'snapshot',
        splitter: { nextIndex: 10, nextStart: null, done: false, strategy: { kind: 'walk' } },
        unfinished: indexes.map((index) => ({ index, start: null, end: null })),
        splitsDone: 0,
        rowsRead: 0,
      },
    },
  };
}

describe('cluster: the log stream is trimmed while a snapshot runs', () => {
  const nats = useNats();

  it('keeps every window a chunk can still open: handed out, or recorded for a split still unfinished', async () => {
    const coordinator = await openCoordinator({ url: nats.url }, 'floor.test', 'probe');
    try {
      const publisher = new LogPublisher(coordinator, memoryOffsets);
      // No truncate in this test: the fencer is never asked for a sink.
      const fencer = new ChunkFencer(() => Promise.reject(new Error('no chunk sink in this test')), 'memory');
      const dispatcher = new ChunkDispatcher(coordinator, memoryOffsets, publisher, 1, fencer);
      expect(await dispatcher.windowFloor()).toBeNull();
      // Split 0 was read by an earlier attempt from offset 30; split 1 is claimed, its low watermark not yet taken.
      await coordinator.state.put(
        chunkRecordKey('s.t:0'),
        JSON.stringify({ state: 'done', member: 'm', attempts: 1, firstLowWatermark: 30, at: 0 }),
      );
      await coordinator.state.put(
        chunkRecordKey('s.t:1'),
        JSON.stringify({ state: 'reading', member: 'm', attempts: 1, firstLowWatermark: null, at: 0 }),
      );
      dispatcher.checkpointStored(unfinished([0, 1, 2]));
      expect(await dispatcher.windowFloor()).toBe(30);
      dispatcher.pending.set('s.t:2', 20);
      expect(await dispatcher.windowFloor()).toBe(20);
      dispatcher.pending.delete('s.t:2');
      // Split 0 released and stored: its window is nobody's any more.
      dispatcher.checkpointStored(unfinished([1, 2]));
      expect(await dispatcher.windowFloor()).toBeNull();
      await dispatcher.close();
    } finally {
      await coordinator.close();
    }
  });

  it('purges only messages wholly at or below the floor, and only those published before the floor was taken', async () => {
    const coordinator = await openCoordinator({ url: nats.url }, 'purge.test', 'probe');
    try {
      const publisher = new LogPublisher(coordinator, memoryOffsets);
      await publisher.open();
      // One message per batch of ten offsets: 1–10, 11–20, …, 91–100.
      for (let b = 0; b < 10; b++) {
        await publisher.publish(Array.from({ length: 10 }, (_, i) => change(b * 10 + i + 1)));
      }
      expect(await publisher.trim(35, 10)).toBe(3);
      const window = new LogWindowReader(coordinator, memoryOffsets, () => false);
      const offsets = async (after: number, through: number) =>
        (await window.read('s.t', after, through)).map((c) => c.offset);
      expect(await offsets(35, 45)).toEqual([36, 37, 38, 39, 40, 41, 42, 43, 44, 45]);
      // No window needs anything, but only what existed before (sequence 6 on) may go.
      expect(await publisher.trim(null, 6)).toBe(3);
      const info = await coordinator.jsm.streams.info(coordinator.names.logStream);
      expect([info.state.first_seq, info.state.messages]).toEqual([7, 4]);
      expect(await offsets(60, 100)).toHaveLength(40);
      // A window waits on the server for what is not published yet.
      const waiting = offsets(100, 103);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await publisher.publish([change(101), change(102), change(103)]);
      expect(await waiting).toEqual([101, 102, 103]);
    } finally {
      await coordinator.close();
    }
  });

  it('trims the stream during a snapshot under writes, and a chunk read again still merges from its first low watermark', async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const victim = 2230;
    const crash = crashAfterWriteOf(target, victim, () => db.delete(TABLE, [victim]));
    let writes = 0;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const probe = await openCoordinator({ url: nats.url }, 'trim.test', 'probe');
    let trimmedWhileSnapshotting = false;
    let maxMessages = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { state } = await probe.jsm.streams.info(probe.names.logStream);
        maxMessages = Math.max(maxMessages, state.messages);
        // Messages left, the first ones gone: a partial purge, not the one at the snapshot's end.
        if (state.messages > 0 && state.first_seq > 1) trimmedWhileSnapshotting = true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const member = new ClusterMember<number>({
      nats: { url: nats.url, ackWaitMs: 5_000, leaseTtlMs: 3_000 },
      pipeline: 'trim.test',
      adapter,
      readers: 2,
      memberId: 'solo',
      logger: process.env.HIGHWATER_TEST_LOG === undefined ? undefined : consoleLogger,
      // Every chunk read is slow and followed by writes to a row of the last chunk: the log keeps growing.
      phaseHooks: {
        afterRead: async () => {
          await new Promise((resolve) => setTimeout(resolve, 40));
          for (let i = 0; i < 5; i++) db.update(TABLE, [4000], { v: `hot ${++writes}` });
        },
      },
      createChunkSink: crash.createChunkSink,
      lead: leadUntilStored(adapter, target, { chunkSize: 10, parallelism: 2 }, () => finish()),
    });
    try {
      await member.start();
      await Promise.race([done, member.failedWith]);
    } finally {
      sampling = false;
      await sampler;
      await member.stop();
      await probe.close();
    }
    console.info(`log stream: at most ${maxMessages} messages held, ${writes} writes`);
    expect(crash.crashed()).toBe(true);
    expect(trimmedWhileSnapshotting).toBe(true);
    expect(target.rows(TABLE).some((r) => r.id === victim)).toBe(false);
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);
});
