import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { until } from './cli.js';

// The README's "Use" example, as its instructions say to run it: @highwater/core and
// @highwater/postgres packed with `npm pack` in this checkout, installed into an empty project
// outside it, the example compiled with tsc and run with node against a throwaway Postgres.
// Offline: the packages' own dependencies (pg, …) are packed from this checkout's node_modules too,
// and npm installs from the tarballs only, with a cache of its own.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKED = ['@highwater/core', '@highwater/postgres'];

let dir: string;
let server: ThrowawayPostgres;
let child: ChildProcess | null = null;

beforeAll(async () => {
  for (const p of ['packages/core/dist/index.js', 'adapters/postgres/dist/index.js']) {
    if (!existsSync(join(ROOT, p))) throw new Error(`${p} is missing: build with npx tsc -b first`);
  }
  dir = await mkdtemp(join(tmpdir(), 'hw-readme-'));
  server = await startPostgres({ useEnv: false });
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The first ```ts block of the README's "## Use" section. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Use\n'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README.md has no ```ts block under ## Use');
  return block;
}

/** Directories of the third-party packages `packageDir` depends on, transitively, as installed in the checkout. */
function dependencyDirs(packageDir: string, into = new Set<string>()): Set<string> {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
  for (const name of names) {
    if (name.startsWith('@highwater/')) continue;
    let found: string | null = null;
    for (let d = packageDir; found === null; d = dirname(d)) {
      const candidate = join(d, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) found = realpathSync(candidate);
      if (d === dirname(d)) break;
    }
    if (found === null) {
      if (manifest.dependencies?.[name] !== undefined) throw new Error(`${name} is not installed in the checkout`);
      continue;
    }
    if (into.has(found)) continue;
    into.add(found);
    dependencyDirs(found, into);
  }
  return into;
}

it("runs the README's example from packed tarballs in a project of its own", async () => {
  const tarballs = join(dir, 'tarballs');
  await mkdir(tarballs);
  const npmEnv = { ...process.env, npm_config_cache: join(dir, 'npm-cache'), npm_config_update_notifier: 'false' };
  await run('npm', ['pack', ...PACKED.flatMap((p) => ['-w', p]), '--pack-destination', tarballs], {
    cwd: ROOT,
    env: npmEnv,
  });
  const thirdParty = [...dependencyDirs(join(ROOT, 'adapters/postgres'))];
  await run('npm', ['pack', ...thirdParty, '--pack-destination', tarballs], { cwd: ROOT, env: npmEnv });
  const packed = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz'));
  expect(packed).toContain('highwater-core-0.1.0.tgz');
  expect(packed).toContain('highwater-postgres-0.1.0.tgz');

  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', ...packed.map((f) => join(tarballs, f))],
    { cwd: app, env: npmEnv, timeout: 300_000 },
  );
  // The installed packages, not the checkout's: the project lies outside it.
  expect(realpathSync(join(app, 'node_modules/@highwater/core'))).toBe(
    join(realpathSync(app), 'node_modules/@highwater/core'),
  );

  await writeFile(join(app, 'use.ts'), readmeExample());
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  await run(
    process.execPath,
    [
      tsc,
      'use.ts',
      '--module',
      'nodenext',
      '--target',
      'es2022',
      '--strict',
      // @types/node comes with @types/pg, a dependency of @highwater/postgres (its types use pg's).
      '--types',
      'node',
    ],
    { cwd: app },
  ).catch((error: { stdout?: string }) => {
    throw new Error(`the README's example does not compile against the installed packages:\n${error.stdout ?? error}`);
  });

  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE SCHEMA shop');
  await client.query('CREATE TABLE shop.orders (id int PRIMARY KEY, note text)');
  await client.query("INSERT INTO shop.orders SELECT n, 'order ' || n FROM generate_series(1, 5) n");
  await client.end();

  let output = '';
  const started = spawn(process.execPath, ['use.js'], {
    cwd: app,
    env: { ...process.env, DATABASE_URL: server.url },
    stdio: 'pipe',
  });
  child = started;
  started.stdout.on('data', (c: Buffer) => (output += c.toString()));
  started.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await until('the five snapshot rows on standard output', async () => {
    if (started.exitCode !== null) throw new Error(`the example exited with ${started.exitCode}:\n${output}`);
    return (output.match(/op: 'r'/g) ?? []).length >= 5 || null;
  });
  expect(output).toContain("after: { id: 5, note: 'order 5' }");
  started.kill('SIGKILL');
  expect(await readFile(join(app, 'use.js'), 'utf8')).toContain("from '@highwater/postgres'");
}, 600_000);
