import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, highwater, writePipeline } from './cli.js';
import { sql } from './target-db.js';

// `verify` compares what the sink has stored. A pipeline whose stored checkpoint is still in the
// snapshot phase has rows missing from the target by design: verify says so first and exits 3.
// And `--tables` takes names separated by commas (as docs/verify.md shows) or spaces.

let source: ThrowawayPostgres;
let target: ThrowawayPostgres;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-verify-phase-'));
  [source, target] = await Promise.all([startPostgres({ useEnv: false }), startPostgres({ useEnv: false })]);
  await sql(source.url, [
    'CREATE SCHEMA shop',
    'CREATE TABLE shop.orders (id int PRIMARY KEY, note text)',
    "INSERT INTO shop.orders SELECT g, CASE WHEN g = 1500 THEN 'poison' ELSE 'order ' || g END FROM generate_series(1, 2000) g",
    'CREATE TABLE shop.a (id int PRIMARY KEY)',
    'INSERT INTO shop.a SELECT generate_series(1, 10)',
    'CREATE TABLE shop.b (id int PRIMARY KEY)',
    'INSERT INTO shop.b SELECT generate_series(1, 20)',
  ]);
  // The target refuses one row, so the snapshot stops half stored, deterministically.
  await sql(target.url, ["CREATE TABLE public.orders (id int PRIMARY KEY, note text CHECK (note <> 'poison'))"]);
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function pipelineFile(name: string, tables: string, extra: string[] = []): Promise<string> {
  return writePipeline(join(dir, `${name}.yaml`), {
    name,
    source: ['  adapter: postgres', `  connection: ${source.url}`, `  tables: { include: [${tables}] }`, ...extra],
    sink: ['  type: postgres', `  connection: ${target.url}`],
  });
}

it('verify on a pipeline stopped mid-snapshot says so first and exits 3', async () => {
  const file = await pipelineFile('half', "'shop.orders'", [
    '  chunkSize: 100',
    '  batchSize: 100',
    '  parallelism: 1',
  ]);
  const run = await highwater(['run', file, '--log-format=json', '--progress=off'], {}, 180_000);
  expect(run.code, run.stderr).toBe(1);
  const status = await highwater(['status', file], {}, 180_000);
  expect(status.stdout).toContain('phase: snapshot');

  const verified = await highwater(['verify', file], {}, 180_000);
  expect(verified.code, `${verified.stdout}${verified.stderr}`).toBe(3);
  expect(verified.stderr).toMatch(
    /^highwater verify: pipeline half has not stored its whole snapshot yet \(still snapshotting: shop\.orders\)/,
  );
  const json = JSON.parse((await highwater(['verify', file, '--json'], {}, 180_000)).stdout) as {
    midSnapshot?: { tables: string[] };
  };
  expect(json.midSnapshot?.tables).toEqual(['shop.orders']);
}, 600_000);

it('verify --tables takes names separated by commas as well as spaces', async () => {
  const file = await pipelineFile('ab', "'shop.a', 'shop.b'", ['  startup: snapshot']);
  const run = await highwater(['run', file, '--log-format=json', '--progress=off'], {}, 180_000);
  expect(run.code, run.stderr).toBe(0);
  for (const args of [
    ['--tables', 'shop.a,shop.b'],
    ['--tables', 'shop.a', 'shop.b'],
    ['--tables', 'shop.a, shop.b'],
  ]) {
    const verified = await highwater(['verify', file, '--json', ...args], {}, 180_000);
    expect(verified.code, `${args.join(' ')}: ${verified.stdout}${verified.stderr}`).toBe(0);
    const report = JSON.parse(verified.stdout) as { tables: { table?: string; source?: string }[] };
    expect(report.tables).toHaveLength(2);
  }
}, 600_000);
