import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, highwater, RunningPipeline, until } from './cli.js';

// A target table that already holds rows at a pipeline's first start was filled by something else:
// the snapshot would overwrite the rows whose keys the source has, silently. The SQL sinks refuse
// (sink.existingRows: fail, the default) or go ahead with one warning per table (overwrite).

let server: ThrowawayPostgres;
let dir: string;

async function sql(statements: readonly string[]): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of statements) rows = (await client.query(s)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

function pipelineFile(name: string, existingRows?: string): string {
  return [
    `name: ${name}`,
    'source:',
    '  adapter: postgres',
    `  connection: ${server.url}`,
    '  tables: { include: ["shop.*"] }',
    'sink:',
    '  type: postgres',
    `  connection: ${server.url}`,
    '  schema: copy',
    ...(existingRows === undefined ? [] : [`  existingRows: ${existingRows}`]),
    '',
  ].join('\n');
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-existing-rows-'));
  server = await startPostgres({ useEnv: false });
  await sql([
    'CREATE SCHEMA shop',
    'CREATE TABLE shop.orders (id int PRIMARY KEY, note text)',
    "INSERT INTO shop.orders SELECT n, 'order ' || n FROM generate_series(1, 50) n",
    'CREATE TABLE shop.empty_here (id int PRIMARY KEY)',
    'CREATE SCHEMA copy',
    'CREATE TABLE copy.orders (id int PRIMARY KEY, note text)',
    "INSERT INTO copy.orders VALUES (1, 'written by someone else'), (999, 'a row the source lacks')",
    'CREATE TABLE copy.empty_here (id int PRIMARY KEY)',
  ]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('a target table holding rows at the first start', () => {
  it('is refused by default, naming the table and the setting, and nothing is written', async () => {
    const file = join(dir, 'refused.yaml');
    await writeFile(file, pipelineFile('refused'));
    const result = await highwater(['run', file, '--log-format=json', '--progress=off']);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(2);
    expect(output).toMatch(
      /"code":"HW_CONFIG","msg":"postgres sink: target table \\"copy\\"\.\\"orders\\" already holds rows this pipeline did not write/,
    );
    expect(output).toContain('sink.existingRows: overwrite');
    expect(output).not.toContain('empty_here" already');
    expect(await sql(['SELECT id, note FROM copy.orders ORDER BY id'])).toEqual([
      { id: 1, note: 'written by someone else' },
      { id: 999, note: 'a row the source lacks' },
    ]);
  }, 120_000);

  it('with existingRows: overwrite, is overwritten with one warning for that table only', async () => {
    const file = join(dir, 'overwrite.yaml');
    await writeFile(file, pipelineFile('overwrite', 'overwrite'));
    const pipeline = new RunningPipeline(file, 0);
    try {
      await until(
        'the snapshot in copy.orders',
        async () => {
          const rows = await sql(["SELECT count(*)::int AS n FROM copy.orders WHERE note LIKE 'order %'"]);
          return rows[0]?.n === 50;
        },
        { pipeline, timeoutMs: 120_000 },
      );
      expect((await pipeline.kill('SIGTERM')).code, pipeline.tail()).toBe(0);
    } finally {
      if (pipeline.running) await pipeline.kill('SIGKILL');
    }
    const warnings = pipeline.output
      .split('\n')
      .filter((l) => l.includes('already holds rows this pipeline did not write'));
    expect(warnings, pipeline.output).toHaveLength(1);
    expect(warnings[0]).toContain('"level":"warn"');
    expect(warnings[0]).toContain('copy');
    expect(await sql(['SELECT note FROM copy.orders WHERE id IN (1, 999) ORDER BY id'])).toEqual([
      { note: 'order 1' },
      { note: 'a row the source lacks' },
    ]);

    // A restart has a stored checkpoint: no second warning, and the default setting does not refuse it.
    await writeFile(file, pipelineFile('overwrite'));
    const again = new RunningPipeline(file, 0);
    try {
      await until('the restart to start its source', async () => again.output.includes('source started') || null, {
        pipeline: again,
        timeoutMs: 60_000,
      });
      expect((await again.kill('SIGTERM')).code, again.tail()).toBe(0);
    } finally {
      if (again.running) await again.kill('SIGKILL');
    }
    expect(again.output).not.toContain('already holds rows');
  }, 240_000);
});
