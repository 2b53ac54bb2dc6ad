import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  pickFreePort,
  startMariadb,
  startPostgres,
  type ThrowawayMariadb,
  type ThrowawayPostgres,
} from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metricValue } from '../../demo/metrics.js';
import { assertBuilt, highwater, RunningPipeline, until, writePipeline } from './cli.js';
import { sql } from './target-db.js';

// The source's replication connection as an operator sees it, through `highwater run` against a
// throwaway Postgres: what the server logs when the pipeline stops, how log positions are shown,
// and what a lost replication connection leaves behind (a log line, a metric, the status page).

let source: ThrowawayPostgres;
let maria: ThrowawayMariadb;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-source-conn-'));
  [source, maria] = await Promise.all([startPostgres({ useEnv: false }), startMariadb({ useEnv: false })]);
  await sql(source.url, [
    'CREATE TABLE public.items (id int PRIMARY KEY, note text)',
    "INSERT INTO public.items SELECT g, 'n' FROM generate_series(1, 100) g",
  ]);
  await onMaria([
    'CREATE DATABASE shop',
    'CREATE TABLE shop.items (id int PRIMARY KEY, note text)',
    "INSERT INTO shop.items SELECT seq, 'n' FROM seq_1_to_100",
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), maria?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Runs statements on the MariaDB source, one connection; returns the last one's rows. */
async function onMaria(statements: readonly string[]): Promise<unknown[]> {
  const connection = await mysql.createConnection({ uri: maria.url });
  try {
    let rows: unknown = [];
    for (const statement of statements) [rows] = await connection.query(statement);
    return Array.isArray(rows) ? rows : [];
  } finally {
    await connection.end();
  }
}

async function startPipeline(
  name: string,
  from: 'postgres' | 'mariadb' = 'postgres',
): Promise<{ run: RunningPipeline; out: string }> {
  const port = await pickFreePort();
  const out = join(dir, `${name}.jsonl`);
  const file = await writePipeline(join(dir, `${name}.yaml`), {
    name,
    source: [
      `  adapter: ${from === 'postgres' ? 'postgres' : 'mysql'}`,
      `  connection: ${from === 'postgres' ? source.url : maria.url}`,
      `  tables: { include: ['${from === 'postgres' ? 'public' : 'shop'}.items'] }`,
    ],
    sink: ['  type: file', `  path: ${out}`],
    extra: [`metrics: { host: 127.0.0.1, port: ${port} }`],
  });
  const run = new RunningPipeline(file, port);
  await until('the snapshot stored', async () => run.output.includes('snapshot stored'), { pipeline: run });
  return { run, out };
}

/** Waits until a change written now is in the file sink's output: the replication stream is live. */
async function changeArrives(
  run: RunningPipeline,
  out: string,
  id: number,
  from: 'postgres' | 'mariadb' = 'postgres',
): Promise<void> {
  if (from === 'postgres') await sql(source.url, [`UPDATE public.items SET note = 'seen ${id}' WHERE id = ${id}`]);
  else await onMaria([`UPDATE shop.items SET note = 'seen ${id}' WHERE id = ${id}`]);
  await until(`change ${id}`, async () => (await readFile(out, 'utf8')).includes(`"seen ${id}"`), { pipeline: run });
}

it('SIGTERM ends the replication connection cleanly: the server logs no unexpected EOF', async () => {
  const { run, out } = await startPipeline('goodbye');
  await changeArrives(run, out, 1);
  expect((await run.kill('SIGTERM')).code, run.tail()).toBe(0);
  // The walsender logs the EOF as it exits, right after the client is gone: wait for its exit.
  await until('the walsender gone', async () => {
    const rows = await sql<{ n: string }>(source.url, [
      "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'walsender'",
    ]);
    return rows[0]?.n === '0';
  });
  expect(await source.readLog()).not.toContain('unexpected EOF on standby connection');
}, 120_000);

it('/api/status shows log positions as Postgres prints them (0/16B3748), not as decimals', async () => {
  const { run, out } = await startPipeline('lsn_text');
  try {
    await changeArrives(run, out, 2);
    const status = (await (await fetch(`http://127.0.0.1:${run.metricsPort}/api/status`)).json()) as {
      stream: { log: Record<string, unknown> };
    };
    expect(status.stream.log.confirmedFlushLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(status.stream.log.serverWalEndLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(typeof status.stream.log.slotLagBytes).toBe('number');
  } finally {
    expect((await run.kill('SIGTERM')).code, run.tail()).toBe(0);
  }
  // `highwater status` (no running process needed) words positions the same way.
  const status = await highwater(['status', join(dir, 'lsn_text.yaml')]);
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toMatch(/stream position: .*"commitLsn":"[0-9A-F]+\/[0-9A-F]+"/);
  expect(status.stdout).toMatch(/confirmed up to [0-9A-F]+\/[0-9A-F]+/);
  expect(status.stdout).not.toMatch(/\d{7,}/);
}, 120_000);

/** The reconnect the pipeline logged, its metric and the status page's count, after `kill` cut its log connection. */
async function expectOneReconnect(from: 'postgres' | 'mariadb', kill: () => Promise<unknown>): Promise<void> {
  const { run, out } = await startPipeline(`reconnects_${from}`, from);
  try {
    await changeArrives(run, out, 3, from);
    await kill();
    await until('the reconnect logged', async () => /reconnecting/.test(run.output), { pipeline: run });
    const line = run.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; reader?: string; code?: string })
      .find((l) => /reconnecting/.test(l.msg));
    expect(line).toMatchObject({ level: 'warn', reader: 'log', code: 'HW_CONNECTION_LOST' });
    expect(line?.msg).toMatch(
      /^the source's log reader lost its connection \(.+\); reconnecting in \d+ ms \(attempt 1 of \d+\)$/,
    );
    const samples = await run.metrics();
    expect(metricValue(samples ?? [], 'highwater_source_reconnects_total')).toBe(1);
    const status = (await (await fetch(`http://127.0.0.1:${run.metricsPort}/api/status`)).json()) as {
      reconnects: number;
    };
    expect(status.reconnects).toBe(1);
    await changeArrives(run, out, 4, from);
  } finally {
    expect((await run.kill('SIGTERM')).code, run.tail()).toBe(0);
  }
}

it('a Postgres walsender terminated on the server: a log line, highwater_source_reconnects_total, the status page, no change lost', async () => {
  await expectOneReconnect('postgres', () =>
    sql(source.url, ["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'walsender'"]),
  );
}, 120_000);

it('a MariaDB binlog dump thread killed on the server: the same', async () => {
  await expectOneReconnect('mariadb', async () => {
    const dumps = (await onMaria([
      "SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'",
    ])) as { id: number }[];
    expect(dumps).toHaveLength(1);
    await onMaria([`KILL ${dumps[0]!.id}`]);
  });
}, 120_000);
