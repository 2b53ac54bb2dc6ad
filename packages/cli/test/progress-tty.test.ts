import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickFreePort, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built command on a real terminal: `script` (util-linux) runs it under a pseudo-terminal, so
// standard error is a TTY and the progress display is drawn. Build first with `npx tsc -b`.
const BIN = fileURLToPath(new URL('../dist/bin/highwater.js', import.meta.url));

// Skipped where util-linux `script` is missing (e.g. macOS's BSD `script` takes other options):
// nothing else here can give the command a terminal without adding a native module (node-pty).
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true;

let server: ThrowawayPostgres | undefined;
let dir: string;

beforeAll(async () => {
  if (!hasScript) return;
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
  dir = await mkdtemp(join(tmpdir(), 'hw-tty-'));
  server = await startPostgres({ useEnv: false });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL)');
  await client.query("INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 3000) g");
  await client.end();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The text a terminal would show, without colours and cursor movements. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
const plain = (text: string) => text.replace(ANSI, '').replace(/\r/g, '\n');

/** Quotes a word for `sh -c`. */
const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Runs `highwater <args>` under a pseudo-terminal until it exits; returns its exit code and what the terminal showed. */
async function onTerminal(args: readonly string[], timeoutMs = 60_000): Promise<{ code: number | null; text: string }> {
  const command = `exec ${sh(process.execPath)} ${sh(BIN)} ${args.map(sh).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return { code: await exited, text: plain(output) };
  } finally {
    clearTimeout(timer);
  }
}

describe('highwater run on a terminal', () => {
  it.skipIf(!hasScript)(
    'draws per-table snapshot progress, then the stream line',
    async () => {
      const file = join(dir, 'tty.yaml');
      await writeFile(
        file,
        [
          'name: tty',
          'source:',
          '  adapter: postgres',
          `  connection: ${server!.url}`,
          "  tables: { include: ['public.items'] }",
          '  chunkSize: 300',
          '  options: { createPublication: true }',
          'sink: { type: file, path: tty.jsonl }',
          '',
        ].join('\n'),
      );
      const command = `exec ${sh(process.execPath)} ${sh(BIN)} run ${sh(file)}`;
      // stdin ignored: script then leaves the terminal to the command alone.
      const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 60_000;
        while (!/stream \| [\d,]+ events/.test(plain(output))) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no stream line:\n${plain(output)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        // SIGTERM to highwater itself (script's child): a graceful stop.
        const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
        for (const pid of children) process.kill(Number(pid), 'SIGTERM');
        expect(await exited, plain(output)).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      const text = plain(output);
      const table = /public\.items \|[^|\n]*\| 10\/10 chunks \| 3000 rows \| \d+ rows\/s \| ETA (0 s|–)$/m.exec(text);
      expect(table, text).not.toBeNull();
      const stream = /stream \| [\d,]+ events \| [\d,]+ events\/s \| lag [^|\n]+\| idle /.exec(text);
      expect(stream, text).not.toBeNull();
      expect(stream!.index).toBeGreaterThan(table!.index);
      // Pretty log lines, not JSON, on a terminal.
      expect(text).toContain('snapshot stored: every table is in the sink and checkpointed; streaming changes');
      expect(text).not.toMatch(/^\{"level"/m);
    },
    120_000,
  );

  it.skipIf(!hasScript)(
    'a run that fails before anything is drawn still prints its error',
    async () => {
      const port = await pickFreePort();
      const file = join(dir, 'down.yaml');
      await writeFile(
        file,
        [
          'name: down',
          'source:',
          '  adapter: postgres',
          `  connection: postgres://postgres@127.0.0.1:${port}/postgres`,
          "  tables: { include: ['public.items'] }",
          'sink: { type: file, path: down.jsonl }',
          '',
        ].join('\n'),
      );
      const { code, text } = await onTerminal(['run', file]);
      expect(code, text).toBe(1);
      expect(text).toContain(`postgres: cannot connect to 127.0.0.1:${port}: connection refused`);
    },
    60_000,
  );
});
