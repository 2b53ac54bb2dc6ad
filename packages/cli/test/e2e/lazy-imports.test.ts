import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickFreePort } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, highwater } from './cli.js';

let dir = '';

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'highwater-lazy-imports-'));
  // Preloaded into the command (NODE_OPTIONS=--require): at exit, writes the packages whose
  // CommonJS files were compiled. The drivers of every adapter and sink are CommonJS.
  await writeFile(
    join(dir, 'record-packages.cjs'),
    `const Module = require('node:module');
const seen = new Set();
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(filename);
  if (m) seen.add(m[1]);
  return compile.call(this, content, filename);
};
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'packages.json'))}, JSON.stringify([...seen])));
`,
  );
});

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('highwater run imports what its pipeline uses', () => {
  it('a Postgres → file pipeline loads pg, and no other adapter or sink driver', async () => {
    const port = await pickFreePort(); // nothing listens there: the run fails connecting, after loading all it needs
    const file = join(dir, 'pg-file.yaml');
    await writeFile(
      file,
      [
        'name: lazy',
        'source:',
        '  adapter: postgres',
        `  connection: postgres://nobody@127.0.0.1:${port}/none`,
        "  tables: { include: ['public.t'] }",
        `sink: { type: file, path: ${JSON.stringify(join(dir, 'out.jsonl'))} }`,
        'restart: { attempts: 0 }',
        '',
      ].join('\n'),
    );
    const run = await highwater(['run', file, '--log-format=json', '--progress=off'], {
      NODE_OPTIONS: `--require ${join(dir, 'record-packages.cjs')}`,
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/ECONNREFUSED|connect/i);
    const loaded = JSON.parse(await readFile(join(dir, 'packages.json'), 'utf8')) as string[];
    expect(loaded).toContain('pg');
    const others = loaded.filter(
      (p) => p === 'mysql2' || p === 'mongodb' || p === 'oracledb' || p === 'zongji' || p.startsWith('@nats-io/'),
    );
    expect(others).toEqual([]);
  });
});
