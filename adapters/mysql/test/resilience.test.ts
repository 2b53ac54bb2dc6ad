import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/connection.js';
import { type MysqlOffset, positionAt } from '../src/index.js';
import { binlogStatus } from '../src/watermarks.js';
import { Pipeline, Writer } from './exactly-once.js';
import { useMariadb } from './helpers.js';

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

/**
 * One run through a disruption: snapshot under concurrent writes, the disruption mid-snapshot, a
 * few more batches, a consumer crash and a resume from the stored checkpoint; then the same in the
 * stream. At the end the stored rows must equal the table, no event may break exactly-once, and
 * every write committed after the snapshot must have been delivered exactly once.
 */
async function runThrough(
  name: string,
  disrupt: (phase: 'snapshot' | 'stream', pipeline: Pipeline, writer: Writer) => Promise<void>,
): Promise<{ pipeline: Pipeline; writer: Writer }> {
  const table = await createTable(name);
  const pipeline = new Pipeline({ url: db.server().url, table });
  const writer = new Writer(db.server().url, table, () => pipeline.ledger.streaming, ROWS + 300);
  writer.start();
  try {
    await pipeline.open();
    await pipeline.takeBatches(3);
    expect(pipeline.ledger.streaming, 'the disruption must come mid-snapshot').toBe(false);
    await disrupt('snapshot', pipeline, writer);
    await pipeline.takeBatches(4);
    await pipeline.crash();
    await pipeline.open();
    await pipeline.until('snapshot done', () => pipeline.ledger.streaming);
    const streamed = () => [...writer.committed.values()].filter((w) => w.afterSnapshot).length;
    await pipeline.until('writes in the stream', () => streamed() >= 20);
    await disrupt('stream', pipeline, writer);
    const reached = streamed();
    await pipeline.until('writes after the disruption', () => streamed() >= reached + 20);
    await pipeline.crash();
    await pipeline.open();
    await pipeline.until('writes after the resume', () => streamed() >= reached + 40);
  } finally {
    await writer.stop();
  }
  try {
    await pipeline.catchUp(await binlogEnd());
  } finally {
    await pipeline.crash();
  }
  const [rows] = await db.sql().query(`SELECT id, v FROM ${table} ORDER BY id`);
  const expected = (rows as { id: number; v: number | string }[]).map((r) => [r.id, Number(r.v)]);
  const actual = [...pipeline.ledger.rows.values()]
    .map((r) => [Number(r.id), Number(r.v)])
    .sort((a, b) => (a[0] as number) - (b[0] as number));
  expect(pipeline.ledger.problems).toEqual([]);
  expect(actual).toEqual(expected);
  const afterSnapshot = [...writer.committed].filter(([, w]) => w.afterSnapshot).map(([tag]) => tag);
  expect(afterSnapshot.length, 'writes after the snapshot').toBeGreaterThanOrEqual(60);
  const wrongCounts = afterSnapshot
    .filter((tag) => pipeline.ledger.tags.get(tag) !== 1)
    .map((tag) => `${tag}×${pipeline.ledger.tags.get(tag) ?? 0}`);
  expect(wrongCounts, 'writes after the snapshot not delivered exactly once').toEqual([]);
  const twice = [...pipeline.ledger.tags].filter(([, n]) => n > 1);
  expect(twice, 'writes delivered more than once').toEqual([]);
  return { pipeline, writer };
}

describe('kill, rotate and restart, then resume: nothing lost, nothing duplicated', () => {
  it('KILL of the binlog connection mid-snapshot and mid-stream', async () => {
    const killed: number[] = [];
    await runThrough('res_kill', async (_phase, pipeline) => {
      killed.push(await killBinlogDumps());
      // The core reopens the log reader (ConnectionLostError is retriable) on the same source.
      const deadline = Date.now() + 30_000;
      while ((await binlogDumps()).length === 0) {
        if (Date.now() > deadline) throw new Error('the log reader did not reconnect after KILL');
        await pipeline.take();
      }
      await pipeline.takeBatches(2);
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
    await runThrough('res_restart', async (phase, pipeline, writer) => {
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
      await pipeline.takeBatches(2);
    });
    expect(new Set([...pids, server.pid]).size, 'the server really restarted twice').toBe(3);
  }, 180_000);
});
