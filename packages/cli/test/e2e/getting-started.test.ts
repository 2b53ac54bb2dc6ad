import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariadb, startPostgres, type ThrowawayMariadb, type ThrowawayPostgres } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, highwater, RunningPipeline, until } from './cli.js';

// What a new user does first, through the command as they run it: `highwater init` against a server,
// the SQL it prints applied by an administrator, and a pipeline run with the file it wrote; and the
// CDC users of docker/compose.yaml, created by its own init SQL on throwaway servers, running a
// pipeline (so the compose files' grants cannot drift from what a pipeline needs).

const INITDB = fileURLToPath(new URL('../../../../docker/initdb/', import.meta.url));
const SUPER_PASSWORD = 'super-secret-pw';

let dir: string;
beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-getting-started-'));
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The statements `highwater init` printed for the administrator. */
function printedSql(stdout: string): string[] {
  const start = stdout.indexOf('Run as an administrator');
  const end = stdout.indexOf('Then run `highwater init` again with --force');
  expect(start, stdout).toBeGreaterThan(0);
  return stdout
    .slice(start, end)
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.endsWith(';'));
}

/** Runs `highwater run` on the file until the events file holds `rows` lines, then stops it with SIGTERM. */
async function runUntilEvents(file: string, events: string, rows: number, env: NodeJS.ProcessEnv): Promise<string[]> {
  const pipeline = new RunningPipeline(file, 0, env);
  try {
    const lines = await until(
      `${rows} events in ${events}`,
      async () => {
        const text = await readFile(events, 'utf8').catch(() => '');
        const got = text.split('\n').filter((l) => l.includes('"op":"r"'));
        return got.length >= rows ? got : null;
      },
      { pipeline, timeoutMs: 120_000 },
    );
    const exit = await pipeline.kill('SIGTERM');
    expect(exit.code, pipeline.tail()).toBe(0);
    return lines;
  } finally {
    if (pipeline.running) await pipeline.kill('SIGKILL');
  }
}

describe('Postgres', () => {
  let server: ThrowawayPostgres;
  const superUrl = (database: string) => {
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const sql = async (database: string, statements: string | readonly string[]) => {
    const client = new pg.Client({ connectionString: superUrl(database) });
    await client.connect();
    try {
      for (const s of typeof statements === 'string' ? [statements] : statements) await client.query(s);
    } finally {
      await client.end();
    }
  };
  const hostPort = () => `127.0.0.1:${server.port}`;

  beforeAll(async () => {
    server = await startPostgres({ useEnv: false, password: SUPER_PASSWORD });
    await sql('postgres', 'CREATE DATABASE highwater'); // compose.yaml: POSTGRES_DB
    await sql('highwater', await readFile(join(INITDB, 'postgres/10-highwater-user.sql'), 'utf8'));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  it("compose's CDC user runs a pipeline over the sample table; init finds nothing missing", async () => {
    const file = join(dir, 'compose-pg.yaml');
    const init = await highwater(
      [
        'init',
        file,
        '--source=postgres',
        `--connection=postgres://highwater@${hostPort()}/highwater`,
        '--tables=shop.*',
        '--sink=file',
      ],
      { HIGHWATER_SOURCE_PASSWORD: 'highwater' },
    );
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain('1 table matches shop.* (shop.orders)');
    expect(init.stdout).toContain('The source is ready for change data capture.');
    const events = await runUntilEvents(file, join(dir, 'compose-pg.events.jsonl'), 100, {
      HIGHWATER_SOURCE_PASSWORD: 'highwater',
    });
    expect(events).toHaveLength(100);
  }, 240_000);

  it("init checks that a SQL sink's target answers", async () => {
    const args = (database: string) => [
      'init',
      join(dir, `to-${database}.yaml`),
      '--source=postgres',
      `--connection=postgres://highwater@${hostPort()}/highwater`,
      '--tables=shop.*',
      '--sink=postgres',
      `--sink-connection=postgres://postgres@${hostPort()}/${database}`,
      '--sink-schema=copy',
    ];
    const env = { HIGHWATER_SOURCE_PASSWORD: 'highwater', HIGHWATER_TARGET_PASSWORD: SUPER_PASSWORD };
    const missing = await highwater(args('nosuchdb'), env);
    expect(missing.code, missing.stdout + missing.stderr).toBe(1);
    expect(missing.stdout).toContain('  - the target: postgres: database "nosuchdb" does not exist on 127.0.0.1:');
    expect(missing.stdout + missing.stderr).not.toContain(SUPER_PASSWORD);
    const fine = await highwater(args('postgres'), env);
    expect(fine.code, fine.stdout + fine.stderr).toBe(0);
    expect(fine.stdout).toContain('The source is ready for change data capture and the target answers.');
    const written = await readFile(join(dir, 'to-postgres.yaml'), 'utf8');
    expect(written).toContain('schema: copy');
    expect(written).not.toContain(SUPER_PASSWORD);
  }, 120_000);

  it('init prints the exact SQL a user lacks (replication, CREATE, SELECT, ownership); after it the pipeline runs', async () => {
    await sql('highwater', [
      "CREATE ROLE cdc WITH LOGIN PASSWORD 'cdc-pw-1234'",
      'CREATE TABLE public.accounts (id int PRIMARY KEY, name text)',
      'CREATE TABLE public.audit (at timestamptz, what text)',
      "INSERT INTO public.accounts SELECT n, 'a' || n FROM generate_series(1, 20) n",
    ]);
    const file = join(dir, 'accounts.yaml');
    const args = [
      'init',
      file,
      '--source',
      'postgres',
      '--connection',
      `postgres://cdc@${hostPort()}/highwater`,
      '--sink',
      'file',
    ];
    const env = { HIGHWATER_SOURCE_PASSWORD: 'cdc-pw-1234' };
    const first = await highwater(args, env);
    expect(first.code, first.stdout + first.stderr).toBe(4);
    expect(first.stdout).toContain('2 tables match public.* (public.accounts, public.audit)');
    const statements = printedSql(first.stdout);
    expect(statements).toEqual([
      'ALTER ROLE "cdc" WITH REPLICATION;',
      'GRANT CREATE ON DATABASE "highwater" TO "cdc";',
      'GRANT SELECT ON "public"."accounts", "public"."audit" TO "cdc";',
      'ALTER TABLE "public"."accounts" OWNER TO "cdc";',
      'ALTER TABLE "public"."audit" OWNER TO "cdc";',
      'ALTER TABLE "public"."audit" REPLICA IDENTITY FULL;',
    ]);
    expect(first.stdout).toContain('public.audit has no primary key: a pattern leaves it out (keylessTables: skip)');
    expect(first.stdout).toContain('ownership of public.accounts (owned by postgres)');
    const written = await readFile(file, 'utf8');
    expect(written).not.toContain('cdc-pw-1234');
    expect(written).toContain(`password: $${'{'}HIGHWATER_SOURCE_PASSWORD}`);
    expect(first.stdout + first.stderr).not.toContain('cdc-pw-1234');

    // Without --force the file is kept.
    const again = await highwater(args, env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists already');

    await sql('highwater', statements);
    const second = await highwater([...args, '--force'], env);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('The source is ready for change data capture.');
    const events = await runUntilEvents(file, join(dir, 'accounts.events.jsonl'), 20, env);
    expect(events).toHaveLength(20);
  }, 240_000);
});

it('init on a server without wal_level=logical says what to set and that a restart follows', async () => {
  const server = await startPostgres({ useEnv: false, settings: { wal_level: 'replica' } });
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query('CREATE TABLE public.t (id int PRIMARY KEY)');
    await client.end();
    const result = await highwater([
      'init',
      join(dir, 'replica-level.yaml'),
      '--source=postgres',
      `--connection=${server.url}`,
      '--sink=stdout',
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(4);
    expect(result.stdout).toContain(
      "  - wal_level is 'replica', logical replication needs 'logical' (then restart the server)",
    );
    expect(printedSql(result.stdout)).toEqual(['ALTER SYSTEM SET wal_level = logical;']);
  } finally {
    await server.stop();
  }
}, 120_000);

describe('MariaDB', () => {
  let server: ThrowawayMariadb;
  const sql = async (statements: string | readonly string[]) => {
    const connection = await mysql.createConnection({ uri: server.url, multipleStatements: true });
    try {
      for (const s of typeof statements === 'string' ? [statements] : statements) await connection.query(s);
    } finally {
      await connection.end();
    }
  };
  const hostPort = () => `127.0.0.1:${server.port}`;
  /** What the mysql/mariadb images' entrypoint does with MYSQL_USER / MYSQL_DATABASE, then the compose file's script. */
  const composeUser = async (script: string) => {
    await sql([
      "CREATE USER 'highwater'@'%' IDENTIFIED BY 'highwater'",
      "GRANT ALL ON `highwater`.* TO 'highwater'@'%'",
      script,
    ]);
  };

  beforeAll(async () => {
    server = await startMariadb({ useEnv: false });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  for (const image of ['mariadb', 'mysql'] as const) {
    it(`compose's ${image} CDC user runs a pipeline over the sample table`, async () => {
      let script = await readFile(join(INITDB, `${image}/10-highwater-user.sql`), 'utf8');
      if (image === 'mysql') {
        // The last statement switches the user to mysql_native_password in MySQL 8.4's syntax, which MariaDB
        // (the only server these tests can start) does not parse; the grants before it are what is tested.
        expect(script).toMatch(/ALTER USER 'highwater'@'%' IDENTIFIED WITH mysql_native_password BY 'highwater';\s*$/);
        script = script.replace(/ALTER USER [^;]*;\s*$/, '');
      }
      await composeUser(script);
      try {
        const file = join(dir, `compose-${image}.yaml`);
        const init = await highwater(
          ['init', file, '--source=mysql', `--connection=mysql://highwater@${hostPort()}/highwater`, '--sink=file'],
          { HIGHWATER_SOURCE_PASSWORD: 'highwater' },
        );
        expect(init.code, init.stdout + init.stderr).toBe(0);
        expect(init.stdout).toContain('1 table matches highwater.* (highwater.orders)');
        const events = await runUntilEvents(file, join(dir, `compose-${image}.events.jsonl`), 100, {
          HIGHWATER_SOURCE_PASSWORD: 'highwater',
        });
        expect(events).toHaveLength(100);
      } finally {
        await sql(["DROP USER IF EXISTS 'highwater'@'%'", 'DROP TABLE IF EXISTS highwater.orders']);
      }
    }, 240_000);
  }

  it('a user lacking several privileges: run names all of them at once, init prints one GRANT, then it runs', async () => {
    await sql([
      'CREATE TABLE highwater.items (id int PRIMARY KEY, note text)',
      "INSERT INTO highwater.items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_30",
      "CREATE USER 'cdc'@'%' IDENTIFIED BY 'cdc-pw-1234'",
      "GRANT SELECT ON `highwater`.* TO 'cdc'@'%'",
    ]);
    const file = join(dir, 'items.yaml');
    const env = { HIGHWATER_SOURCE_PASSWORD: 'cdc-pw-1234' };
    const args = ['init', file, '--source=mysql', `--connection=mysql://cdc@${hostPort()}/highwater`, '--sink=file'];
    const first = await highwater(args, env);
    expect(first.code, first.stdout + first.stderr).toBe(4);
    expect(printedSql(first.stdout)).toEqual([
      "GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'cdc'@'%';",
    ]);

    // The run refuses with every missing privilege in one message, not one per run.
    const run = await highwater(['run', file, '--log-format=json', '--progress=off'], env);
    expect(run.code).not.toBe(0);
    const output = run.stdout + run.stderr;
    for (const privilege of ['REPLICATION SLAVE, to', 'REPLICATION CLIENT, to', 'PROCESS, to']) {
      expect(output).toContain(privilege);
    }
    expect(output).toContain("GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'cdc'@'%';");
    expect(output).not.toContain('cdc-pw-1234');

    await sql(printedSql(first.stdout));
    const second = await highwater([...args, '--force'], env);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const events = await runUntilEvents(file, join(dir, 'items.events.jsonl'), 30, env);
    expect(events).toHaveLength(30);
  }, 240_000);

  it('exits 2 naming the flag when a required answer is missing and no terminal can ask', async () => {
    const result = await highwater(['init', join(dir, 'nothing.yaml'), '--source=mysql']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--connection is missing');
  });
});
