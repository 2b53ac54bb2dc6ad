import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built command against a throwaway Postgres: build first with `npx tsc -b`.
const BIN = fileURLToPath(new URL('../dist/bin/highwater.js', import.meta.url));

let server: ThrowawayPostgres;
let dir: string;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
  server = await startPostgres({ useEnv: false });
  dir = await mkdtemp(join(tmpdir(), 'hw-pg-run-'));
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL)');
  await client.query("INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 500) g");
  await client.query("CREATE ROLE cdc LOGIN REPLICATION PASSWORD 'right-pw'");
  await client.query('GRANT SELECT ON public.items TO cdc');
  await client.end();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function pipelineFile(name: string, user: 'cdc' | 'owner'): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const url =
    user === 'cdc' ? `postgres://cdc:\${PG_PASSWORD}@${server.host}:${server.port}/${server.database}` : server.url;
  return writeFile(
    file,
    `name: ${name}\nsource:\n  adapter: postgres\n  connection: ${url}\n  tables: { include: ['public.items'] }\n` +
      `  chunkSize: 100\n  options: { createPublication: true }\nsink: { type: file, path: ${name}.jsonl }\n`,
  ).then(() => file);
}

function start(
  file: string,
  password: string,
): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'run', file, '--log-format=json'], {
    env: { ...process.env, PG_PASSWORD: password },
    stdio: 'pipe',
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return { child, done };
}

async function ids(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as { op: string; key: { id: number } })
    .map((e) => `${e.op}:${e.key.id}`);
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 50));
}

describe('highwater run against Postgres', () => {
  it('fails in one line without the password, exit 4 (a database to set up), writing nothing, for a missing privilege', async () => {
    // The role may not create the publication (no CREATE on the database).
    const file = await pipelineFile('wrongpw', 'cdc');
    const { done } = start(file, 'wrong-pw-123');
    const { code, stderr } = await done;
    expect(code).toBe(4);
    expect(stderr).not.toContain('wrong-pw-123');
    const errors = stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toMatch(/permission denied/i);
    expect(errors[0].code).toBe('HW_PERMISSION_DENIED');
    expect(existsSync(join(dir, 'wrongpw.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'wrongpw.jsonl.checkpoint.json'))).toBe(false);
  }, 60_000);

  it('snapshots, stops on SIGTERM with exit 0, and a restart streams the changes made meanwhile, once', async () => {
    const file = await pipelineFile('items', 'owner');
    const out = join(dir, 'items.jsonl');
    const first = start(file, 'right-pw');
    await until(async () => (await ids(out)).length >= 500);
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(0);

    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query("INSERT INTO public.items VALUES (501, 'new')");
    await client.query("UPDATE public.items SET name = 'changed' WHERE id = 7");
    await client.query('DELETE FROM public.items WHERE id = 8');
    await client.end();

    const second = start(file, 'right-pw');
    await until(async () => (await ids(out)).includes('d:8'));
    second.child.kill('SIGINT');
    expect((await second.done).code).toBe(0);
    const seen = await ids(out);
    expect(seen.filter((s) => s.startsWith('r:'))).toHaveLength(500);
    expect(seen.filter((s) => !s.startsWith('r:'))).toEqual(['c:501', 'u:7', 'd:8']);
  }, 120_000);
});
