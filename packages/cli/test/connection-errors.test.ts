import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, highwater } from './e2e/cli.js';

// The built command against throwaway servers that check passwords: build first with `npx tsc -b`.
/** Distinctive, so a leak anywhere in the output is found. */
const SOURCE_PASSWORD = 'Src-Pw-7d1fQx';
const TARGET_PASSWORD = 'Tgt-Pw-4k9mZr';
const MARIA_PASSWORD = 'Maria-Pw-2h6vWn';
const WRONG_PASSWORD = 'Wrong-Pw-8c3jLp';
const ALL_PASSWORDS = [SOURCE_PASSWORD, TARGET_PASSWORD, MARIA_PASSWORD, WRONG_PASSWORD];

/** `${NAME}`, the pipeline file's environment reference. */
const ref = (name: string) => `$${'{'}${name}}`;

let source: ThrowawayPostgres;
let target: ThrowawayPostgres;
let maria: ThrowawayMariadb;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-conn-errors-'));
  [source, target, maria] = await Promise.all([
    startPostgres({ useEnv: false, password: SOURCE_PASSWORD }),
    startPostgres({ useEnv: false, password: TARGET_PASSWORD }),
    startMariadb({ useEnv: false }),
  ]);
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  await client.query('CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL)');
  await client.query("INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 50) g");
  await client.end();
  // The throwaway MariaDB's root has an empty password: a user with one, to get it wrong.
  const my = await mysql.createConnection({ uri: maria.url });
  await my.query('CREATE TABLE items (id int PRIMARY KEY, name varchar(50) NOT NULL)');
  await my.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
  await my.query(`CREATE USER 'hw_cdc'@'%' IDENTIFIED BY '${MARIA_PASSWORD}'`);
  await my.query(
    `GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'hw_cdc'@'%'`,
  );
  await my.end();
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop(), maria?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

/** Where a server listens (its `port` is a getter: spreading the handle would lose it). */
function endpoint(server: ThrowawayPostgres | ThrowawayMariadb, change: Partial<Endpoint> = {}): Endpoint {
  return { host: server.host, port: server.port, user: server.user, database: server.database, ...change };
}

/** A pipeline file whose passwords come from `SOURCE_PW` and `TARGET_PW`. */
async function pipelineFile(
  name: string,
  from: { adapter: 'postgres' | 'mysql'; at: Endpoint; table: string; options?: string },
  to: Endpoint,
): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const connection = (at: Endpoint, variable: string) =>
    `{ host: '${at.host}', port: ${at.port}, user: ${at.user}, password: '${ref(variable)}', database: ${at.database} }`;
  await writeFile(
    file,
    [
      `name: ${name}`,
      'source:',
      `  adapter: ${from.adapter}`,
      `  connection: ${connection(from.at, 'SOURCE_PW')}`,
      `  tables: { include: ['${from.table}'] }`,
      ...(from.adapter === 'postgres' ? [`  options: ${from.options ?? '{ createPublication: true }'}`] : []),
      'sink:',
      '  type: postgres',
      `  connection: ${connection(to, 'TARGET_PW')}`,
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * Runs the pipeline and checks what every failure to connect must do; returns the one error message.
 * Exit code 1 for a database that cannot be reached, 4 (`EXIT_SETUP`) for one that refuses the
 * login or a privilege: it must be set up differently before a retry can help.
 */
async function failsClearly(
  file: string,
  env: { SOURCE_PW: string; TARGET_PW: string },
  exitCode: 1 | 4 = 4,
): Promise<string> {
  const { code, stdout, stderr } = await highwater(['run', file, '--log-format=json'], env);
  const output = `${stdout}\n${stderr}`;
  expect(code, output).toBe(exitCode);
  for (const password of ALL_PASSWORDS) expect(output).not.toContain(password);
  // No stack trace anywhere (a frame prints as "    at f (file:line:col)").
  expect(output).not.toMatch(/\bat .+:\d+:\d+\)?/);
  const lines = stderr
    .trim()
    .split('\n')
    .map((l) => parseLine(l, stderr) as { level: string; msg: string; code?: string; err?: unknown });
  const errors = lines.filter((l) => l.level === 'error' || l.level === 'fatal');
  expect(errors, stderr).toHaveLength(1);
  expect(errors[0]!.err).toBeUndefined();
  expect(errors[0]!.msg).not.toContain('\n');
  expect(await targetTables()).toEqual([]);
  return errors[0]!.msg;
}

function parseLine(line: string, all: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`not a JSON log line: ${line}\n${all}`);
  }
}

/** Every table in the target outside the system schemas. */
async function targetTables(): Promise<string[]> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(
      `SELECT schemaname || '.' || tablename AS t FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

const pgSource = (change: Partial<Endpoint> = {}) => ({
  adapter: 'postgres' as const,
  at: endpoint(source, change),
  table: 'public.items',
});
const rightPasswords = { SOURCE_PW: SOURCE_PASSWORD, TARGET_PW: TARGET_PASSWORD };

describe('highwater run cannot connect', () => {
  it('a wrong password for a Postgres source names the user and the password to check', async () => {
    const file = await pipelineFile('pg-source-pw', pgSource(), endpoint(target));
    const message = await failsClearly(file, { ...rightPasswords, SOURCE_PW: WRONG_PASSWORD });
    expect(message).toBe(
      `postgres: authentication failed for user "postgres" at 127.0.0.1:${source.port}: check the user name and password of the connection`,
    );
  }, 60_000);

  it('a wrong password for a MariaDB source names the user and the password to check', async () => {
    const file = await pipelineFile(
      'maria-source-pw',
      { adapter: 'mysql', at: endpoint(maria, { user: 'hw_cdc' }), table: `${maria.database}.items` },
      endpoint(target),
    );
    const message = await failsClearly(file, { ...rightPasswords, SOURCE_PW: WRONG_PASSWORD });
    expect(message).toBe(
      `mysql: authentication failed for user "hw_cdc" at ${maria.host}:${maria.port}: check the user name and password of the connection`,
    );
  }, 60_000);

  it('a wrong password for a Postgres target names the user and the password to check', async () => {
    const file = await pipelineFile('pg-target-pw', pgSource(), endpoint(target));
    const message = await failsClearly(file, { ...rightPasswords, TARGET_PW: WRONG_PASSWORD });
    expect(message).toBe(
      `postgres sink: authentication failed for user "postgres" at 127.0.0.1:${target.port}: check sink.connection's user and password`,
    );
  }, 60_000);

  it('an unreachable source names host and port', async () => {
    const port = await pickFreePort();
    const file = await pipelineFile('source-down', pgSource({ port }), endpoint(target));
    const message = await failsClearly(file, rightPasswords, 1);
    expect(message).toBe(
      `postgres: cannot connect to 127.0.0.1:${port}: connection refused: check that the server is running and that host and port are right`,
    );
  }, 60_000);

  it('an unreachable MariaDB source names host and port', async () => {
    const port = await pickFreePort();
    const file = await pipelineFile(
      'maria-source-down',
      { adapter: 'mysql', at: endpoint(maria, { user: 'hw_cdc', port }), table: `${maria.database}.items` },
      endpoint(target),
    );
    const message = await failsClearly(file, { ...rightPasswords, SOURCE_PW: MARIA_PASSWORD }, 1);
    expect(message).toBe(
      `mysql: cannot connect to ${maria.host}:${port}: connection refused: check that the server is running and that host and port are right`,
    );
  }, 60_000);

  it('an unreachable target names host and port', async () => {
    const port = await pickFreePort();
    const file = await pipelineFile('target-down', pgSource(), endpoint(target, { port }));
    const message = await failsClearly(file, rightPasswords, 1);
    expect(message).toBe(
      `postgres sink: cannot connect to 127.0.0.1:${port}: connection refused: check that the server is running and sink.connection's host and port`,
    );
  }, 60_000);
});

describe('highwater run lacks a privilege on the source', () => {
  beforeAll(async () => {
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    await client.query(`CREATE ROLE hw_norepl LOGIN PASSWORD '${SOURCE_PASSWORD}'`);
    await client.query(`CREATE ROLE hw_repl LOGIN REPLICATION PASSWORD '${SOURCE_PASSWORD}'`);
    await client.query('CREATE TABLE public.secret (id int PRIMARY KEY)');
    await client.query('GRANT SELECT ON public.items TO hw_norepl, hw_repl');
    // The owner publishes the table the user may not read, so the user gets as far as reading it.
    await client.query('CREATE PUBLICATION highwater_no_select FOR TABLE public.secret');
    await client.end();
  });

  it('without REPLICATION, says which ALTER ROLE to run', async () => {
    const file = await pipelineFile('no-replication', pgSource({ user: 'hw_norepl' }), endpoint(target));
    const message = await failsClearly(file, rightPasswords);
    expect(message).toContain('ALTER ROLE "hw_norepl" WITH REPLICATION');
  }, 60_000);

  it('without CREATE on the database for the publication, says what to GRANT', async () => {
    const file = await pipelineFile('no-create', pgSource({ user: 'hw_repl' }), endpoint(target));
    const message = await failsClearly(file, rightPasswords);
    expect(message).toMatch(
      /^postgres: .*permission denied for database postgres: .*GRANT CREATE ON DATABASE postgres TO/,
    );
  }, 60_000);

  it('without SELECT on a captured table, says what to GRANT', async () => {
    const file = await pipelineFile(
      'no-select',
      { ...pgSource({ user: 'hw_repl' }), table: 'public.secret', options: '{ createPublication: false }' },
      endpoint(target),
    );
    const message = await failsClearly(file, rightPasswords);
    expect(message).toMatch(/permission denied for table secret: run `GRANT SELECT ON "?public"?\."?secret"? TO/);
  }, 60_000);
});
