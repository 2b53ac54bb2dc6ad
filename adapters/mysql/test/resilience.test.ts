import { nothingStored, type Stored, TransactionalConsumer } from '@highwater/conformance';
import { createSource } from '@highwater/core';
import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/connection.js';
import { type MysqlOffset, mysqlAdapter, positionAt } from '../src/index.js';
import { binlogStatus } from '../src/watermarks.js';
import { useMariadb } from './helpers.js';
import { tagCheck, Writer } from './tagged-writer.js';

const db = useMariadb();
const ROWS = 1500;

async function createTable(name: string): Promise<string> {
  const sql = db.sql();
  await sql.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v bigint NOT NULL)`);
  const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, ${i + 1})`).join(',');
  await sql.query(`INSERT INTO ${name} VALUES ${values}`);
  return `highwater.${name}`;
}

async function binlogEnd(): Promise<MysqlOffset> {
  const control: mysql.Connection = await connect(db.server().url);
  try {
    const s = await binlogStatus(control);
    return positionAt(s.file, s.pos);
  } finally {
    await control.end();
  }
}

async function binlogDumps(): Promise<number[]> {
  const [rows] = await db
    .sql()
    .query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
  return (rows as { ID: number }[]).map((r) => r.ID);
}

async function killBinlogDumps(): Promise<number> {
  const ids = await binlogDumps();
  for (const id of ids) await db.sql().query(`KILL ${id}`);
  return ids.length;
}

/** A source on `table` resuming from what is stored, with a new adapter (started). */
async function openSource(table: string, stored: Stored | null) {
  const adapter = mysqlAdapter({ connection: db.server().url, heartbeatMs: 50, lowWatermarkPatienceMs: 500 });
  const source = createSource({
    adapter,
    tables: { include: [table] },
    resumeFrom: stored?.checkpoint ?? null,
    chunkSize: 25,
    parallelism: 2,
    batchSize: 20,
    maxQueuedBatches: 1,
    heartbeatIntervalMs: 100,
    // A server restart takes a second or two: enough attempts to outlast it.
    retry: { attempts: 30, initialDelayMs: 50, maxDelayMs: 400 },
  });
  await source.start();
  return { adapter, source };
}

/**
 * One run through a disruption: snapshot under concurrent writes, the disruption mid-snapshot, a
 * few more batches, a consumer crash and a resume from the stored checkpoint; then the same in the
 * stream. At the end the stored rows must equal the table, no event may break exactly-once, and
 * every write committed after the snapshot must have been delivered exactly once.
 */
async function runThrough(
  name: string,
  disrupt: (phase: 'snapshot' | 'stream', consumer: TransactionalConsumer, writer: Writer) => Promise<void>,
): Promise<void> {
  const table = await createTable(name);
  const { check, tags } = tagCheck(table);
  let consumer: TransactionalConsumer | undefined;
  const writer = new Writer(db.server().url, table, () => consumer?.streaming(table) ?? false, ROWS + 300);
  writer.start();
  let opened = await openSource(table, null);
  consumer = new TransactionalConsumer(
    opened.source,
    nothingStored(opened.adapter, [{ name: table, keyColumns: ['id'] }]),
    {
      check,
    },
  );
  const c = consumer;
  /** A consumer crash, and a resume from the stored checkpoint with a new adapter and source. */
  const crashAndResume = async () => {
    await c.crash();
    opened = await openSource(table, c.stored);
    c.resume(opened.source);
  };
  try {
    await c.takeBatches(3);
    expect(c.streaming(table), 'the disruption must come mid-snapshot').toBe(false);
    await disrupt('snapshot', c, writer);
    await c.takeBatches(4);
    await crashAndResume();
    await c.until('snapshot done', () => c.streaming(table));
    const streamed = () => [...writer.committed.values()].filter((w) => w.afterSnapshot).length;
    await c.until('writes in the stream', () => streamed() >= 20);
    await disrupt('stream', c, writer);
    const reached = streamed();
    await c.until('writes after the disruption', () => streamed() >= reached + 20);
    await crashAndResume();
    await c.until('writes after the resume', () => streamed() >= reached + 40);
  } finally {
    await writer.stop();
  }
  try {
    await c.catchUp(opened.adapter, [table]);
  } finally {
    await c.crash();
  }
  const [rows] = await db.sql().query(`SELECT id, v FROM ${table}`);
  const expected = (rows as { id: number; v: number | string }[]).map((r) => ({ id: Number(r.id), v: Number(r.v) }));
  expect(c.stored.output.problemReport()).toBeNull();
  expect(c.stored.output.differenceReport(table, expected)).toBeNull();
  const afterSnapshot = [...writer.committed].filter(([, w]) => w.afterSnapshot).map(([tag]) => tag);
  expect(afterSnapshot.length, 'writes after the snapshot').toBeGreaterThanOrEqual(60);
  const wrongCounts = afterSnapshot.filter((tag) => tags.get(tag) !== 1).map((tag) => `${tag}×${tags.get(tag) ?? 0}`);
  expect(wrongCounts, 'writes after the snapshot not delivered exactly once').toEqual([]);
  const twice = [...tags].filter(([, n]) => n > 1);
  expect(twice, 'writes delivered more than once').toEqual([]);
}

describe('kill, rotate and restart, then resume: nothing lost, nothing duplicated', () => {
  it('KILL of the binlog connection mid-snapshot and mid-stream', async () => {
    const killed: number[] = [];
    await runThrough('res_kill', async (_phase, consumer) => {
      killed.push(await killBinlogDumps());
      // The core reopens the log reader (ConnectionLostError is retriable) on the same source.
      const deadline = Date.now() + 30_000;
      while ((await binlogDumps()).length === 0) {
        if (Date.now() > deadline) throw new Error('the log reader did not reconnect after KILL');
        await consumer.take();
      }
      await consumer.takeBatches(2);
    });
    expect(
      killed.every((n) => n >= 1),
      `binlog connections killed per phase: ${killed}`,
    ).toBe(true);
  }, 120_000);

  it('FLUSH BINARY LOGS mid-snapshot and mid-stream', async () => {
    const before = await binlogEnd();
    await runThrough('res_rotate', async () => {
      await db.sql().query('FLUSH BINARY LOGS');
      await db.sql().query('FLUSH BINARY LOGS');
    });
    const after = await binlogEnd();
    expect(Number(after.file.split('.').at(-1)) - Number(before.file.split('.').at(-1))).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('server restart mid-snapshot, server crash (SIGKILL) and restart mid-stream', async () => {
    const server = db.server();
    const pids: number[] = [];
    await runThrough('res_restart', async (phase, consumer, writer) => {
      await writer.pause(async () => {
        pids.push(server.pid ?? -1);
        if (phase === 'snapshot') {
          await server.restart();
        } else {
          await server.kill();
          await server.restart();
        }
      });
      // The helper's own client died with the server.
      await db.reconnect();
      await consumer.takeBatches(2);
    });
    expect(new Set([...pids, server.pid]).size, 'the server really restarted twice').toBe(3);
  }, 180_000);
});
