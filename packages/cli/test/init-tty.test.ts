import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN } from './e2e/cli.js';
import { loadPipeline } from '../src/pipeline/load-pipeline.js';

// `highwater init` on a real terminal asks for what the flags leave out. `script` (util-linux) gives
// the command a pseudo-terminal; each answer is typed once its question is on the screen.
// Skipped where util-linux `script` is missing (macOS's BSD `script` takes other options): nothing
// else here can give the command a terminal without a native module (node-pty).
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true;

let dir: string;
beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-init-tty-'));
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

describe('highwater init on a terminal', () => {
  it.skipIf(!hasScript)(
    'asks for the source, its URL, the tables and the sink, and writes a file the loader accepts',
    async () => {
      const file = join(dir, 'asked.yaml');
      const command = `exec ${sh(process.execPath)} ${sh(BIN)} init ${sh(file)} --no-check`;
      const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      // [question on the screen, how many times it must be there (a refused answer is asked again), answer]
      const script: [string, number, string][] = [
        ['Source database (postgres/mysql)', 1, 'mysql'],
        ['Source URL', 1, 'mysql://cdc@db.internal:3306/shop'],
        ['Tables to capture', 1, ''],
        ['Sink (file/stdout/postgres/mysql)', 1, 'kafka'],
        ['Sink (file/stdout/postgres/mysql)', 2, 'stdout'],
      ];
      let output = '';
      let answered = 0;
      const onData = (c: Buffer) => {
        output += c.toString();
        const next = script[answered];
        if (next !== undefined && output.split(next[0]).length - 1 >= next[1]) {
          answered++;
          child.stdin.write(`${next[2]}\n`);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      clearTimeout(timer);
      expect(code, output).toBe(0);
      expect(answered, output).toBe(script.length);
      expect(output).toContain('Tables to capture (patterns, comma-separated) [shop.*]');
      expect(output).toContain('please answer one of file, stdout, postgres, mysql');
      const pipeline = await loadPipeline(file, {});
      expect(pipeline.config.source).toMatchObject({ adapter: 'mysql', tables: { include: ['shop.*'] } });
      expect(pipeline.config.sink.type).toBe('stdout');
      expect(await readFile(file, 'utf8')).toContain('written by `highwater init`');
    },
    90_000,
  );
});
