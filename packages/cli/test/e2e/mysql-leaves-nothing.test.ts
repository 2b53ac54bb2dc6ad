import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMariadb, type ThrowawayMariadb } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, highwater } from './cli.js';

// A MySQL source reads the binlog from a position its checkpoint holds: it keeps no slot, no table,
// no user and no connection on the server once a run is over. The same cases that leak a Postgres
// slot when handled badly (a failed first start, a finished `startup: snapshot` run) leave the
// server exactly as they found it.

let source: ThrowawayMariadb;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-mysql-leaks-'));
  source = await startMariadb({ useEnv: false });
  await query([
    'CREATE DATABASE shop',
    'CREATE TABLE shop.orders (id int PRIMARY KEY, note text)',
    "INSERT INTO shop.orders SELECT seq, CONCAT('order ', seq) FROM seq_1_to_200",
    'CREATE TABLE shop.keyless (a int, b text)',
  ]);
}, 120_000);

afterAll(async () => {
  await source?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Runs statements on one connection; returns the last one's rows, or every statement's with `all`. */
async function query(statements: readonly string[], all = false): Promise<unknown[]> {
  const connection = await mysql.createConnection({ uri: source.url });
  try {
    const rows: unknown[] = [];
    for (const statement of statements) rows.push((await connection.query(statement))[0]);
    return all ? rows : ((rows.at(-1) as unknown[] | undefined) ?? []);
  } finally {
    await connection.end();
  }
}

/** What a run could leave behind: schemas and tables, users, and sessions other than the one asking. */
async function serverState(): Promise<string> {
  // One connection for the three reads: it does not see itself in the process list.
  const [tables, users, sessions] = (await query(
    [
      'SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2',
      'SELECT user, host FROM mysql.user ORDER BY 1, 2',
      "SELECT user, command FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND command <> 'Daemon'",
    ],
    true,
  )) as unknown[][];
  return JSON.stringify({ tables, users, sessions });
}

async function pipeline(name: string, tables: string, startup?: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      `name: ${name}`,
      'source:',
      '  adapter: mysql',
      `  connection: ${source.url}`,
      `  tables: { include: [${tables}] }`,
      ...(startup === undefined ? [] : [`  startup: ${startup}`]),
      'sink:',
      '  type: file',
      `  path: ${join(dir, `${name}.jsonl`)}`,
      '',
    ].join('\n'),
  );
  return file;
}

it('a failed first start and a finished snapshot run leave the MySQL server as they found it', async () => {
  const before = await serverState();

  // A keyless table named literally (not through a pattern, which would skip it) refuses the start.
  const failed = await highwater([
    'run',
    await pipeline('fails', "'shop.orders', 'shop.keyless'"),
    '--log-format=json',
    '--progress=off',
  ]);
  expect(failed.code, failed.stderr).not.toBe(0);
  expect(failed.stderr).toContain('shop.keyless');
  expect(await serverState()).toBe(before);

  const file = await pipeline('once', "'shop.orders'", 'snapshot');
  const finished = await highwater(['run', file, '--log-format=json', '--progress=off']);
  expect(finished.code, finished.stderr).toBe(0);
  expect(await serverState()).toBe(before);

  const slots = await highwater(['slots', file]);
  expect(slots.code, slots.stderr).toBe(0);
  expect(slots.stdout).toContain('a mysql source keeps no replication slot on the server');
}, 120_000);
