import type { Key, SnapshotSplit, SourceAdapter } from '@highwater/core';
import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterMember, type Leadership, leadSource, openCoordinator } from '../src/index.js';
import { chunkRecordKey } from '../src/names.js';
import { InMemoryTableSink } from './in-memory-table-sink.js';

const TABLE = 'shop.items';
const ROWS = 400;

function itemsDb(): MemoryDatabase {
  const db = new MemoryDatabase();
  db.createTable({
    name: TABLE,
    columns: [
      { name: 'id', type: { kind: 'int64' } },
      { name: 'v', type: { kind: 'string' }, nullable: false },
    ],
    primaryKey: ['id'],
  });
  // Keys 10, 20, …: room for inserts inside every chunk.
  db.insertMany(
    TABLE,
    Array.from({ length: ROWS }, (_, i) => ({ id: (i + 1) * 10, v: `v${(i + 1) * 10}` })),
  );
  return db;
}

function inRange(split: SnapshotSplit, id: number): boolean {
  const { start, end } = split.range;
  return (start === null || id >= Number((start as Key)[0])) && (end === null || id < Number((end as Key)[0]));
}

/**
 * Three cluster members in one process (memory adapter, one throwaway nats-server), with writes
 * made in every chunk's window — after its rows were read, before its high watermark — on keys
 * nothing touches later: an update, a delete, an insert, and a key moved to another chunk. The
 * rows the SELECT did not see reach the member only through the log the leader published, so the
 * target equals the source only if each member merged its window and the leader's gate let through
 * exactly the changes after each chunk's high watermark.
 */
describe('cluster: the log window reaches the member that read the chunk', () => {
  let nats: ThrowawayNats;

  beforeAll(async () => {
    nats = await startNats({ useEnv: false });
  });

  afterAll(async () => {
    await nats?.stop();
  });

  it('merges writes made inside every chunk window, with chunks spread over the members', async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const touched = new Set<string>();
    let nextKey = ROWS * 10 + 5;
    const members: ClusterMember<number>[] = [];
    const writtenBy = new Map<string, number>();
    const windowWrites = async (split: SnapshotSplit) => {
      if (touched.has(split.id)) return;
      touched.add(split.id);
      const ids = db
        .snapshotRows(TABLE)
        .map((r) => Number(r.id))
        .filter((id) => id % 10 === 0 && inRange(split, id));
      if (ids.length < 3) return;
      const [update, remove, move] = ids as [number, number, number];
      db.update(TABLE, [update], { v: `final ${split.id}` });
      db.delete(TABLE, [remove]);
      db.insert(TABLE, { id: update + 5, v: `inserted ${split.id}` });
      // Beyond every chunk so far: lands in the last chunk (or one not read yet).
      db.update(TABLE, [move], { id: nextKey++ });
    };
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    for (let i = 0; i < 3; i++) {
      const member: ClusterMember<number> = new ClusterMember<number>({
        nats: { url: nats.url, ackWaitMs: 5_000, leaseTtlMs: 3_000 },
        pipeline: 'merge.test',
        adapter,
        readers: 2,
        memberId: `m${i}`,
        logger: process.env.HIGHWATER_TEST_LOG === undefined ? undefined : consoleLogger,
        createChunkSink: async () => {
          const sink = target.open();
          return {
            ...sink,
            write: async (batch) => {
              writtenBy.set(`m${i}`, (writtenBy.get(`m${i}`) ?? 0) + 1);
              await sink.write(batch);
            },
          };
        },
        phaseHooks: { afterRead: (split) => windowWrites(split) },
        lead: leadUntilStored(adapter, target, { chunkSize: 20, parallelism: 8 }, () => finish()),
      });
      members.push(member);
    }
    try {
      await Promise.all(members.map((m) => m.start()));
      await Promise.race([done, ...members.map((m) => m.failedWith)]);
      // Changes after the snapshot still flow through the leader's gate.
      db.insert(TABLE, { id: 1, v: 'after the snapshot' });
      await until(() => target.rows(TABLE).some((r) => r.id === 1));
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
    expect(touched.size).toBeGreaterThan(10);
    expect(writtenBy.size).toBe(3);
    expect(target.rows(TABLE)).toEqual(db.snapshotRows(TABLE).sort((a, b) => Number(a.id) - Number(b.id)));
  }, 120_000);
  it('reads a chunk again after its rows were written and not marked done, deleting what is gone since', async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const victim = 1230;
    let crashed = false;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const member = new ClusterMember<number>({
      nats: { url: nats.url, ackWaitMs: 5_000, leaseTtlMs: 3_000 },
      pipeline: 'redo.test',
      adapter,
      readers: 2,
      memberId: 'solo',
      logger: process.env.HIGHWATER_TEST_LOG === undefined ? undefined : consoleLogger,
      createChunkSink: async () => {
        const sink = target.open();
        return {
          ...sink,
          // The first write holding the victim row lands, then the reader "dies" before its record says
          // done; meanwhile the row is deleted in the source.
          write: async (batch) => {
            await sink.write(batch);
            if (!crashed && batch.events.some((e) => e.kind === 'change' && e.after?.id === victim)) {
              crashed = true;
              db.delete(TABLE, [victim]);
              throw new Error('simulated crash after the write');
            }
          },
        };
      },
      lead: leadUntilStored(adapter, target, { chunkSize: 50, parallelism: 4 }, () => finish()),
    });
    try {
      await member.start();
      await Promise.race([done, member.failedWith]);
    } finally {
      await member.stop();
    }
    expect(crashed).toBe(true);
    expect(target.rows(TABLE).some((r) => r.id === victim)).toBe(false);
    expect(target.rows(TABLE)).toEqual(db.snapshotRows(TABLE).sort((a, b) => Number(a.id) - Number(b.id)));
  }, 120_000);
  it('keeps a chunk slower than the ack wait with its reader while heartbeats go on', async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    let slow: string | null = null;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const members = ['h0', 'h1'].map(
      (id) =>
        new ClusterMember<number>({
          nats: { url: nats.url, ackWaitMs: 1_000, leaseTtlMs: 3_000 },
          pipeline: 'heartbeat.test',
          adapter,
          readers: 2,
          memberId: id,
          createChunkSink: async () => target.open(),
          // The first chunk read takes three ack waits (once: a second attempt would be quick).
          phaseHooks: {
            afterRead: async (split) => {
              if (slow !== null) return;
              slow = split.id;
              await new Promise((resolve) => setTimeout(resolve, 3_000));
            },
          },
          lead: leadUntilStored(adapter, target, { chunkSize: 100, parallelism: 4 }, () => finish()),
        }),
    );
    try {
      await Promise.all(members.map((m) => m.start()));
      await Promise.race([done, ...members.map((m) => m.failedWith)]);
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
    expect(slow).not.toBeNull();
    const coordinator = await openCoordinator({ url: nats.url }, 'heartbeat.test', 'probe');
    try {
      const entry = await coordinator.state.get(chunkRecordKey(slow as unknown as string));
      expect(entry?.json<{ attempts: number; state: string }>()).toMatchObject({ attempts: 1, state: 'done' });
    } finally {
      await coordinator.close();
    }
    expect(target.rows(TABLE)).toEqual(db.snapshotRows(TABLE).sort((a, b) => Number(a.id) - Number(b.id)));
  }, 120_000);
});

/** The leader's part: the source into `target`, calling `stored` once the checkpoint says the snapshot is stored. */
function leadUntilStored(
  adapter: SourceAdapter<number>,
  target: InMemoryTableSink,
  chunks: { chunkSize: number; parallelism: number },
  stored: () => void,
): (leadership: Leadership<number>) => Promise<void> {
  return (leadership) =>
    leadSource(leadership, {
      adapter,
      tables: { include: [TABLE] },
      ...chunks,
      heartbeatIntervalMs: 100,
      sink: target.open(),
      onBatch: (batch) => {
        if (Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) stored();
      },
    });
}

/** Set HIGHWATER_TEST_LOG to see what the members do. */
const consoleLogger = {
  info: (fields: object, message: string) => console.info(message, fields),
  warn: (fields: object, message: string) => console.warn(message, fields),
  debug: (fields: object, message: string) => console.debug(message, fields),
};

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
