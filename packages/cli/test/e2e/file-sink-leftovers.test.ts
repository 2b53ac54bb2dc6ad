import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, RunningPipeline, until, writePipeline } from './cli.js';
import { sql } from './target-db.js';

// A SIGKILL between writing the file sink's checkpoint to its temporary file and renaming it over
// the checkpoint leaves `.<name>.checkpoint.json.<16 hex>.tmp` beside it (writeFileAtomically's
// pattern). The next run removes such leftovers of its own checkpoint file, and nothing else.

let source: ThrowawayPostgres;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-leftovers-'));
  source = await startPostgres({ useEnv: false });
  await sql(source.url, [
    'CREATE TABLE public.items (id int PRIMARY KEY)',
    'INSERT INTO public.items SELECT generate_series(1, 50)',
  ]);
}, 120_000);

afterAll(async () => {
  await source?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function runUntil(file: string, line: string): Promise<RunningPipeline> {
  const run = new RunningPipeline(file, 0);
  await until(line, async () => run.output.includes(line), { pipeline: run });
  return run;
}

it('the next run removes temporary checkpoint files a killed run left, and only those', async () => {
  const file = await writePipeline(join(dir, 'items.yaml'), {
    name: 'items',
    source: ['  adapter: postgres', `  connection: ${source.url}`, "  tables: { include: ['public.items'] }"],
    sink: ['  type: file', `  path: ${join(dir, 'items.jsonl')}`],
  });
  const first = await runUntil(file, 'snapshot stored');
  expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');
  // What a kill between the write and the rename leaves (the name pattern of writeFileAtomically),
  // and files that only look alike: another file's temporary file, a user's backup.
  const leftover = '.items.jsonl.checkpoint.json.0123456789abcdef.tmp';
  const unrelated = ['.other.jsonl.checkpoint.json.0123456789abcdef.tmp', 'items.jsonl.checkpoint.json.bak'];
  for (const name of [leftover, ...unrelated]) await writeFile(join(dir, name), '{"half":');

  const second = await runUntil(file, 'source started');
  expect((await second.kill('SIGTERM')).code, second.tail()).toBe(0);
  const names = await readdir(dir);
  expect(names).not.toContain(leftover);
  for (const name of unrelated) expect(names).toContain(name);
  expect(second.output).toContain('removed temporary checkpoint files left by a run that was killed');
}, 120_000);
