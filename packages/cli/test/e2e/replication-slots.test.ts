import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickFreePort, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, highwater, RunningPipeline, until, writePipeline } from './cli.js';
import { sql } from './target-db.js';

// A Postgres replication slot makes the server keep WAL for as long as it exists, read or not. What
// a run creates in the source (slot and publication) must go when nothing will resume from it: a
// run that fails before it stored a checkpoint, a `startup: snapshot` run that finished. A run that
// stored a checkpoint keeps its slot (the next run resumes from it). Idle slots are reported, and
// `highwater slots` lists and drops them.

let source: ThrowawayPostgres;
let dir: string;
let counter = 0;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-slots-'));
  // Few slots, so the "all in use" case is cheap to reach.
  source = await startPostgres({ useEnv: false, settings: { max_replication_slots: 4 } });
  await sql(source.url, [
    'CREATE SCHEMA shop',
    'CREATE TABLE shop.orders (id int PRIMARY KEY, note text)',
    "INSERT INTO shop.orders SELECT g, 'order ' || g FROM generate_series(1, 200) g",
    'CREATE TABLE shop.keyless (a int, b text)',
    "INSERT INTO shop.keyless VALUES (1, 'one')",
  ]);
}, 120_000);

afterAll(async () => {
  await source?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

beforeEach(async () => {
  // Each case starts with no slot and no publication.
  await sql(source.url, ['SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots']);
  for (const { pubname } of await sql<{ pubname: string }>(source.url, ['SELECT pubname FROM pg_publication'])) {
    await sql(source.url, [`DROP PUBLICATION "${pubname}"`]);
  }
});

async function pipeline(lines: { tables: string; startup?: string; extra?: string[]; options?: string[] }): Promise<{
  file: string;
  name: string;
}> {
  const name = `slots${++counter}`;
  const file = await writePipeline(join(dir, `${name}.yaml`), {
    name,
    source: [
      '  adapter: postgres',
      `  connection: ${source.url}`,
      `  tables: { include: [${lines.tables}] }`,
      ...(lines.startup === undefined ? [] : [`  startup: ${lines.startup}`]),
      ...(lines.options === undefined ? [] : ['  options:', ...lines.options.map((o) => `    ${o}`)]),
      ...(lines.extra ?? []),
    ],
    sink: ['  type: file', `  path: ${join(dir, `${name}.jsonl`)}`],
  });
  return { file, name };
}

const slots = async () =>
  (await sql<{ slot_name: string }>(source.url, ['SELECT slot_name FROM pg_replication_slots ORDER BY 1'])).map(
    (r) => r.slot_name,
  );
const publications = async () =>
  (await sql<{ pubname: string }>(source.url, ['SELECT pubname FROM pg_publication ORDER BY 1'])).map((r) => r.pubname);

describe('what a run creates in the source', () => {
  it('is dropped when the first run fails before storing a checkpoint (a keyless table)', async () => {
    const { file } = await pipeline({ tables: "'shop.*'", extra: ['  keylessTables: fail'] });
    const result = await highwater(['run', file, '--log-format=json', '--progress=off']);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toContain('shop.keyless');
    expect(result.stderr).toMatch(/no checkpoint was stored: dropped replication slot highwater_slots\d+/);
    expect(await slots()).toEqual([]);
    expect(await publications()).toEqual([]);
  }, 60_000);

  it('is dropped when a startup: snapshot run finishes', async () => {
    const { file, name } = await pipeline({ tables: "'shop.orders'", startup: 'snapshot' });
    const result = await highwater(['run', file, '--log-format=json', '--progress=off']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`snapshot finished: dropped replication slot highwater_${name}`);
    expect(await slots()).toEqual([]);
    expect(await publications()).toEqual([]);
    // Run again: the stored checkpoint says complete; nothing is left behind either.
    const again = await highwater(['run', file, '--log-format=json', '--progress=off']);
    expect(again.code, again.stderr).toBe(0);
    expect(await slots()).toEqual([]);
  }, 60_000);

  it('is kept when the run stored a checkpoint, and the next run resumes from it', async () => {
    const { file, name } = await pipeline({ tables: "'shop.orders'" });
    const run = new RunningPipeline(file, 0);
    await until('the snapshot', async () => /snapshot (finished|stored)/.test(run.output), { pipeline: run });
    expect((await run.kill('SIGTERM')).code).toBe(0);
    expect(await slots()).toEqual([`highwater_${name}`]);
    expect(await publications()).toEqual([`highwater_${name}`]);
  }, 60_000);

  it('names the slots that exist, and how to drop one, when all are in use', async () => {
    await sql(source.url, [
      "SELECT pg_create_logical_replication_slot('forgotten_' || g, 'pgoutput') FROM generate_series(1, 4) g",
    ]);
    const { file, name } = await pipeline({ tables: "'shop.orders'" });
    const result = await highwater(['run', file, '--log-format=json', '--progress=off']);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toContain(
      `cannot create replication slot highwater_${name}: all replication slots are in use`,
    );
    for (const g of [1, 2, 3, 4]) expect(result.stderr).toMatch(new RegExp(`forgotten_${g} \\(logical, idle, retains`));
    expect(result.stderr).toContain('highwater slots <pipeline.yaml> --drop forgotten_1');
    // The publication the failed run created is gone again.
    expect(await publications()).toEqual([]);
  }, 60_000);
});

describe('idle slots', () => {
  /** A pipeline that ran once (its slot is kept), and a slot some older pipeline left behind. */
  async function ranOnceBesidesAnOldSlot(): Promise<{ file: string; name: string }> {
    const made = await pipeline({ tables: "'shop.orders'" });
    const run = new RunningPipeline(made.file, 0);
    await until('the snapshot', async () => /snapshot (finished|stored)/.test(run.output), { pipeline: run });
    expect((await run.kill('SIGTERM')).code).toBe(0);
    await sql(source.url, ["SELECT pg_create_logical_replication_slot('highwater_old', 'pgoutput')"]);
    await sql(source.url, ["UPDATE shop.orders SET note = note || '.'"]);
    return made;
  }

  it('highwater slots lists them with the WAL they retain, and drops one on request', async () => {
    const { file, name } = await ranOnceBesidesAnOldSlot();
    const listed = await highwater(['slots', file]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`highwater_${name} \\(this pipeline\\): idle, last checkpoint stored \\d+ s ago, retains \\d+ [kM]?B`),
    );
    expect(listed.stdout).toMatch(/highwater_old: idle, last use unknown .*, retains \d+/);
    const json = JSON.parse((await highwater(['slots', file, '--json'])).stdout) as {
      slots: { name: string; retainedWalBytes: number }[];
    };
    expect(json.slots.map((s) => s.name)).toEqual(['highwater_old', `highwater_${name}`]);
    expect(json.slots.every((s) => s.retainedWalBytes > 0)).toBe(true);

    const status = await highwater(['status', file]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`replication slot highwater_${name} \\(this pipeline\\): idle`));
    expect(status.stdout).toContain("other replication slots of Highwater's on this server");

    const unknown = await highwater(['slots', file, '--drop', 'someone_elses']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no replication slot someone_elses of Highwater's on this server");
    const dropped = await highwater(['slots', file, '--drop', 'highwater_old']);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain('dropped replication slot highwater_old');
    expect(await slots()).toEqual([`highwater_${name}`]);
  }, 90_000);

  it('a running pipeline warns about a slot idle too long and exports the WAL each slot retains', async () => {
    await ranOnceBesidesAnOldSlot();
    const port = await pickFreePort();
    const { file, name } = await pipeline({
      tables: "'shop.orders'",
      options: ['idleSlotWarningSeconds: 1'],
      extra: [`metrics: { port: ${port} }`],
    });
    const run = new RunningPipeline(file, port);
    try {
      await until(
        'the idle-slot warning',
        async () => run.output.includes('replication slot highwater_old has not been read'),
        {
          pipeline: run,
        },
      );
      expect(run.output).toContain(`highwater slots ${file} --drop highwater_old`);
      const samples = await until(
        'the slot metrics',
        async () => {
          const m = await run.metrics();
          return m?.some(
            (s) => s.name === 'highwater_replication_slot_retained_wal_bytes' && s.labels.slot === `highwater_${name}`,
          )
            ? m
            : null;
        },
        { pipeline: run },
      );
      const old = samples.find(
        (s) => s.name === 'highwater_replication_slot_retained_wal_bytes' && s.labels.slot === 'highwater_old',
      );
      expect(old?.value).toBeGreaterThan(0);
      // The pipeline's own slot is in use: not idle, no warning.
      expect(run.output).not.toContain(`replication slot highwater_${name} has not been read`);
    } finally {
      await run.kill('SIGTERM');
    }
  }, 90_000);
});
