import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built command, Postgres → Postgres, with the target's connection killed and its server
// restarted mid-run: build first with `npx tsc -b`.
const BIN = fileURLToPath(new URL('../dist/bin/highwater.js', import.meta.url));

let source: ThrowawayPostgres;
let target: ThrowawayPostgres;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
  dir = await mkdtemp(join(tmpdir(), 'hw-restart-'));
  [source, target] = await Promise.all([startPostgres({ useEnv: false }), startPostgres({ useEnv: false })]);
  await sql(source, [
    'CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, note text)',
    "INSERT INTO public.items SELECT g, 0, 'row ' || g FROM generate_series(1, 3000) g",
  ]);
  // The target table exists beforehand (the sink uses it as is), with a trigger that records every
  // row the sink applies: each source version of a row (id, v) must be applied exactly once.
  await sql(target, [
    'CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, note text)',
    'CREATE TABLE public.applied (n bigserial PRIMARY KEY, id int NOT NULL, v int NOT NULL, op text NOT NULL)',
    `CREATE FUNCTION public.record_applied() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' THEN INSERT INTO public.applied (id, v, op) VALUES (OLD.id, OLD.v, TG_OP);
       ELSE INSERT INTO public.applied (id, v, op) VALUES (NEW.id, NEW.v, TG_OP); END IF;
       RETURN NULL;
     END $$`,
    'CREATE TRIGGER record_applied AFTER INSERT OR UPDATE OR DELETE ON public.items FOR EACH ROW EXECUTE FUNCTION public.record_applied()',
  ]);
}, 120_000);

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  server: ThrowawayPostgres,
  statements: string[],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    let rows: T[] = [];
    for (const statement of statements) rows = (await client.query<T>(statement)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

/** Inserts, updates (each bumps `v`) and deletes on the source until stopped. */
function startWriter(): { stop: () => Promise<number> } {
  let running = true;
  let changes = 0;
  const done = (async () => {
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    let nextId = 3001;
    while (running) {
      const pick = Math.random();
      const id = 1 + Math.floor(Math.random() * (nextId - 1));
      if (pick < 0.6) await client.query('UPDATE public.items SET v = v + 1 WHERE id = $1', [id]);
      else if (pick < 0.85) await client.query("INSERT INTO public.items VALUES ($1, 0, 'new')", [nextId++]);
      else await client.query('DELETE FROM public.items WHERE id = $1', [id]);
      changes++;
      await new Promise((r) => setTimeout(r, 2));
    }
    await client.end();
    return changes;
  })();
  return {
    stop: () => {
      running = false;
      return done;
    },
  };
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rowsOf = (server: ThrowawayPostgres) =>
  sql<{ id: number; v: number; note: string }>(server, ['SELECT id, v, note FROM public.items ORDER BY id']);
const appliedCount = async () =>
  Number((await sql<{ n: string }>(target, ['SELECT count(*) AS n FROM public.applied']))[0]!.n);

describe('highwater run keeps going when the target goes away', () => {
  it('restarts after a killed sink connection and a target server restart, applying every change once', async () => {
    const file = join(dir, 'restarts.yaml');
    await writeFile(
      file,
      [
        'name: restarts',
        'source:',
        '  adapter: postgres',
        `  connection: ${source.url}`,
        "  tables: { include: ['public.items'] }",
        '  chunkSize: 300',
        '  batchSize: 100',
        '  options: { createPublication: true }',
        'sink:',
        '  type: postgres',
        `  connection: ${target.url}`,
        'restart: { attempts: 30, initialDelayMs: 100, maxDelayMs: 1000 }',
        '',
      ].join('\n'),
    );
    const writer = startWriter();
    child = spawn(process.execPath, [BIN, 'run', file, '--log-format=json'], { stdio: 'pipe' });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('close', (code) => resolve(code)));
    const logLines = () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; msg: string; attempt?: number });
    const restarts = () =>
      logLines().filter((l) => l.level === 'warn' && /restarting from the stored checkpoint/.test(l.msg));

    try {
      // 1. Kill the sink's connection, found by its application_name.
      await until('the snapshot to be under way', async () => (await appliedCount()) > 300);
      await until('the sink connection to be killed', async () => {
        const killed = await sql<{ pid: number }>(target, [
          "SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE application_name = 'highwater-sink'",
        ]);
        return killed.length > 0;
      });
      await until('a restart', () => restarts().length >= 1);
      const before = await appliedCount();
      await until('progress after the restart', async () => (await appliedCount()) > before + 100);

      // 2. Crash the target server under the running pipeline; the restarts find it down (connection
      //    refused) until it is started again.
      const count = restarts().length;
      await target.kill();
      await until('restarts while the target is down', () =>
        restarts().some((l, i) => i >= count && /connection refused/.test(l.msg)),
      );
      await target.restart();
      const after = await appliedCount();
      await until('progress after the server restart', async () => (await appliedCount()) > after + 100);

      // 3. Let the stream catch up, then stop gracefully.
      const written = await writer.stop();
      expect(written).toBeGreaterThan(0);
      const expected = await rowsOf(source);
      await until('the target to equal the source', async () => {
        const actual = await rowsOf(target);
        return JSON.stringify(actual) === JSON.stringify(expected);
      });
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
    } finally {
      await writer.stop();
      if (child.exitCode === null) child.kill('SIGKILL');
    }

    expect(logLines().filter((l) => l.level === 'error')).toEqual([]);
    expect(restarts().length).toBeGreaterThanOrEqual(3);
    for (const line of restarts()) expect(line.msg).toMatch(/\(attempt \d+ of 30\)$/);
    // Each version of a row was written once, and each row deleted once.
    expect(
      await sql(target, [
        "SELECT id, v, count(*)::int AS n FROM public.applied WHERE op <> 'DELETE' GROUP BY id, v HAVING count(*) > 1",
      ]),
    ).toEqual([]);
    expect(
      await sql(target, [
        "SELECT id, count(*)::int AS n FROM public.applied WHERE op = 'DELETE' GROUP BY id HAVING count(*) > 1",
      ]),
    ).toEqual([]);
  }, 240_000);
});
