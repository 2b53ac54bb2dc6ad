import type { ChangeEvent, EventBatch, Sink, SnapshotSplit } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { ClusterMember, type Leadership, leadSource, openCoordinator } from '../src/index.js';
import { chunkRecordKey, LEASE_KEY } from '../src/names.js';
import {
  consoleLogger,
  crashAfterWriteOf,
  inRange,
  itemsDb,
  leadUntilStored,
  ROWS,
  sourceRows,
  TABLE,
  until,
  writeStale,
  useNats,
} from './cluster-fixtures.js';
import { InMemoryTableSink } from './in-memory-table-sink.js';

/**
 * Three cluster members in one process (memory adapter, one throwaway nats-server), with writes
 * made in every chunk's window — after its rows were read, before its high watermark — on keys
 * nothing touches later: an update, a delete, an insert, and a key moved to another chunk. The
 * rows the SELECT did not see reach the member only through the log the leader published, so the
 * target equals the source only if each member merged its window and the leader's gate let through
 * exactly the changes after each chunk's high watermark.
 */
describe('cluster: the log window reaches the member that read the chunk', () => {
  const nats = useNats();

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
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);

  it('reads a chunk again after its rows were written and not marked done, deleting what is gone since', async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const victim = 1230;
    const crash = crashAfterWriteOf(target, victim, () => db.delete(TABLE, [victim]));
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
      createChunkSink: crash.createChunkSink,
      lead: leadUntilStored(adapter, target, { chunkSize: 50, parallelism: 4 }, () => finish()),
    });
    try {
      await member.start();
      await Promise.race([done, member.failedWith]);
    } finally {
      await member.stop();
    }
    expect(crash.crashed()).toBe(true);
    expect(target.rows(TABLE).some((r) => r.id === victim)).toBe(false);
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);

  it('reads a chunk again after its rows were written and the table truncated since, ending equal', async () => {
    // Before truncates were barriers the attempt after the crash found the truncate in its window
    // and was refused (the table's snapshot never finished); now the leader resets the chunk at the
    // truncate, so the next attempt reads after it and the truncate removed the earlier rows.
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const victim = 1230;
    const crash = crashAfterWriteOf(target, victim, () => {
      db.truncate(TABLE);
      db.insertMany(
        TABLE,
        Array.from({ length: 40 }, (_, i) => ({ id: (i + 1) * 100, v: `after the truncate ${i}` })),
      );
    });
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const warnings: string[] = [];
    const member = new ClusterMember<number>({
      nats: { url: nats.url, ackWaitMs: 5_000, leaseTtlMs: 3_000 },
      pipeline: 'truncate.test',
      adapter,
      readers: 1,
      memberId: 'solo',
      logger: {
        info: () => undefined,
        debug: () => undefined,
        warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`),
      },
      createChunkSink: crash.createChunkSink,
      lead: leadUntilStored(adapter, target, { chunkSize: 50, parallelism: 4 }, () => finish()),
    });
    try {
      await member.start();
      await Promise.race([done, member.failedWith]);
      db.insert(TABLE, { id: 1, v: 'after the snapshot' });
      await until(() => target.rows(TABLE).some((r) => r.id === 1));
    } finally {
      await member.stop();
    }
    expect(crash.crashed()).toBe(true);
    expect(warnings.filter((w) => w.includes('was truncated while chunk'))).toEqual([]);
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);

  it('writes a chunk read after a truncate only once the leader has stored the truncate', async () => {
    // The leader's write of a truncate is held back: a member writing the rows it read after the
    // truncate before that write lands would see them wiped by it (and the leader emits none of the
    // changes they merged). Without the barrier this ends with the refilled rows missing.
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const leaderSink = target.open();
    const slowTruncates: Sink = {
      ...leaderSink,
      write: async (batch) => {
        if (batch.events.some((e) => e.kind === 'truncate')) await new Promise((r) => setTimeout(r, 1_500));
        await leaderSink.write(batch);
      },
    };
    let truncated = false;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const member = new ClusterMember<number>({
      nats: { url: nats.url, ackWaitMs: 5_000, leaseTtlMs: 3_000 },
      pipeline: 'barrier.test',
      adapter,
      readers: 2,
      memberId: 'solo',
      logger: process.env.HIGHWATER_TEST_LOG === undefined ? undefined : consoleLogger,
      createChunkSink: async () => target.open(),
      phaseHooks: {
        // Inside the window of a chunk being read: the truncate and a refill of every chunk's range.
        afterRead: (split) => {
          if (truncated || split.index !== 2) return;
          truncated = true;
          db.truncate(TABLE);
          db.insertMany(
            TABLE,
            Array.from({ length: ROWS / 2 }, (_, i) => ({ id: (i + 1) * 20, v: `refilled ${(i + 1) * 20}` })),
          );
        },
      },
      lead: leadUntilStored(adapter, target, { chunkSize: 50, parallelism: 4 }, () => finish(), slowTruncates),
    });
    try {
      await member.start();
      await Promise.race([done, member.failedWith]);
      db.insert(TABLE, { id: 1, v: 'after the snapshot' });
      await until(() => target.rows(TABLE).some((r) => r.id === 1));
    } finally {
      await member.stop();
    }
    expect(truncated).toBe(true);
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);

  it('refuses the write of a chunk attempt that was taken over while it stalled, after the newer attempt wrote', async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const victim = 1230;
    let victimSplit: string | null = null;
    let staleOutcome: 'landed' | 'refused' | null = null;
    let victimAfterStale: unknown;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const probe = await openCoordinator({ url: nats.url }, 'fence.test', 'probe');
    const member = new ClusterMember<number>({
      nats: { url: nats.url, ackWaitMs: 2_000, leaseTtlMs: 3_000 },
      pipeline: 'fence.test',
      adapter,
      readers: 2,
      memberId: 'solo',
      logger: process.env.HIGHWATER_TEST_LOG === undefined ? undefined : consoleLogger,
      phaseHooks: {
        afterHighWatermark: async (split) => {
          if (victimSplit === null && inRange(split, victim)) victimSplit = split.id;
        },
      },
      createChunkSink: async () => {
        const sink = target.open();
        return {
          ...sink,
          // The first attempt at the victim's chunk stalls just before its write, past every check of
          // its claim: meanwhile a newer attempt claims the chunk (compare-and-swap in KV) and writes.
          write: async (batch) => {
            const holdsVictim = batch.events.some((e) => e.kind === 'change' && e.after?.id === victim);
            if (staleOutcome !== null || !holdsVictim || victimSplit === null) return sink.write(batch);
            const key = chunkRecordKey(victimSplit);
            const entry = await probe.state.get(key);
            const record = entry?.json<Record<string, unknown>>() ?? {};
            const revision = await probe.state.update(
              key,
              JSON.stringify({ ...record, member: 'newer', attempts: Number(record.attempts) + 1, at: Date.now() }),
              entry?.revision ?? 0,
            );
            await target.open().write({
              events: [{ ...(batch.events[0] as ChangeEvent), after: { id: victim, v: 'newer attempt' } }],
              checkpoint: batch.checkpoint,
              fence: { scope: `chunk:${victimSplit}`, token: revision },
            });
            try {
              await writeStale(sink, batch, (outcome) => {
                staleOutcome = outcome;
              });
            } finally {
              victimAfterStale = target.rows(TABLE).find((r) => r.id === victim)?.v;
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
      await probe.close();
    }
    expect(staleOutcome).toBe('refused');
    expect(victimAfterStale).toBe('newer attempt');
    // The chunk was left to its newer attempt; redelivered after the ack wait, it was read again and done.
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);

  it("refuses a deposed leader's batch that stalled past its lease check, once the new leader wrote", async () => {
    const db = itemsDb();
    const adapter = memoryAdapter(db);
    const target = new InMemoryTableSink();
    const victim = 1230;
    const probe = await openCoordinator({ url: nats.url }, 'leader-fence.test', 'probe');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let snapshotStored = false;
    let stalled = false;
    let staleOutcome: 'landed' | 'refused' | null = null;
    const holds = (batch: EventBatch, v: string) =>
      batch.events.some((e) => e.kind === 'change' && e.after?.id === victim && e.after.v === v);
    const source = { adapter, tables: { include: [TABLE] }, chunkSize: 100, parallelism: 4, heartbeatIntervalMs: 100 };
    const member = (id: string, lead: (leadership: Leadership<number>) => Promise<void>) =>
      new ClusterMember<number>({
        nats: { url: nats.url, ackWaitMs: 2_000, leaseTtlMs: 3_000 },
        pipeline: 'leader-fence.test',
        adapter,
        readers: 2,
        memberId: id,
        createChunkSink: async () => target.open(),
        lead,
      });
    // The first leader's batch with the victim's first update passes the lease check, then stalls
    // until the lease has gone to another member, which replayed that update and the next one.
    const first = member('first', (leadership) => {
      const sink = target.open();
      return leadSource(leadership, {
        ...source,
        sink: {
          ...sink,
          write: async (batch) => {
            if (stalled || !holds(batch, 'x1')) return sink.write(batch);
            stalled = true;
            await released;
            await writeStale(sink, batch, (outcome) => {
              staleOutcome = outcome;
            });
          },
        },
        onBatch: (batch) => {
          if (Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) snapshotStored = true;
        },
      });
    });
    const second = member('second', (leadership) => leadSource(leadership, { ...source, sink: target.open() }));
    try {
      await first.start();
      await until(() => snapshotStored);
      db.update(TABLE, [victim], { v: 'x1' });
      await until(() => stalled);
      db.update(TABLE, [victim], { v: 'x2' });
      // The lease is gone (as if it had expired during the stall); the first member cannot renew it.
      await probe.lease.delete(LEASE_KEY);
      await second.start();
      await until(() => target.rows(TABLE).find((r) => r.id === victim)?.v === 'x2');
      release();
      await until(() => staleOutcome !== null);
      await until(() => !first.isLeader);
    } finally {
      release();
      await Promise.all([first.stop(), second.stop()]);
      await probe.close();
    }
    expect(staleOutcome).toBe('refused');
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
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
    expect(target.rows(TABLE)).toEqual(sourceRows(db));
  }, 120_000);
});
