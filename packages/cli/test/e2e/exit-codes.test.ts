import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, highwater, writePipeline } from './cli.js';
import { sql } from './target-db.js';

// One rule for the exit code of a pipeline that cannot start (docs/operations.md): 2 when the
// command line or the pipeline file is wrong in itself, 4 when a database is not set up as the
// pipeline needs (whatever the database and whichever check finds it), 1 for a failure while running.

let source: ThrowawayPostgres;
let replicaOnly: ThrowawayPostgres;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-exit-'));
  [source, replicaOnly] = await Promise.all([
    startPostgres({ useEnv: false }),
    startPostgres({ useEnv: false, settings: { wal_level: 'replica' } }),
  ]);
  await sql(source.url, [
    'CREATE SCHEMA shop',
    'CREATE TABLE shop.orders (id int PRIMARY KEY)',
    'CREATE TABLE shop.keyless (a int, b text)',
    'CREATE TABLE shop.coded (code text NOT NULL, note text)',
    'CREATE UNIQUE INDEX coded_code ON shop.coded (code)',
  ]);
  await sql(replicaOnly.url, ['CREATE TABLE orders (id int PRIMARY KEY)']);
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), replicaOnly?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function run(name: string, url: string, sourceLines: string[]) {
  const file = await writePipeline(join(dir, `${name}.yaml`), {
    name,
    source: ['  adapter: postgres', `  connection: ${url}`, ...sourceLines],
    sink: ['  type: file', `  path: ${join(dir, `${name}.jsonl`)}`],
  });
  return highwater(['run', file, '--log-format=json', '--progress=off']);
}

describe('a database not set up as the pipeline needs: exit 4, the message says what to run', () => {
  it('wal_level=replica', async () => {
    const result = await run('wal', replicaOnly.url, ["  tables: { include: ['public.orders'] }"]);
    expect(result.stderr).toContain('ALTER SYSTEM SET wal_level = logical');
    expect(result.code, result.stderr).toBe(4);
  }, 60_000);

  it('a table named literally that has no primary key', async () => {
    const result = await run('nokey', source.url, ["  tables: { include: ['shop.keyless'] }"]);
    expect(result.stderr).toContain('shop.keyless');
    expect(result.code, result.stderr).toBe(4);
  }, 60_000);

  it('a chunkKeys table without a replica identity on its key', async () => {
    const result = await run('noidentity', source.url, [
      "  tables: { include: ['shop.coded'] }",
      "  chunkKeys: { 'shop.coded': [code] }",
    ]);
    expect(result.stderr).toContain('REPLICA IDENTITY');
    expect(result.code, result.stderr).toBe(4);
  }, 60_000);

  it('a table that does not exist', async () => {
    const result = await run('missing', source.url, ["  tables: { include: ['shop.nothere'] }"]);
    expect(result.stderr).toContain('shop.nothere');
    expect(result.code, result.stderr).toBe(4);
  }, 60_000);
});

it('a pipeline file that is wrong in itself: exit 2', async () => {
  const result = await run('badfile', source.url, ["  tables: { include: ['shop.orders'] }", '  chunkSize: -1']);
  expect(result.code, result.stderr).toBe(2);
}, 60_000);
