import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from './e2e/cli.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

// A cache of its own: npx keeps a link to the package it ran, and a stale one from another checkout
// layout would hide what a first-time user gets. --offline: the command must come from the checkout.
let cache: string;
beforeAll(async () => {
  assertBuilt();
  cache = await mkdtemp(join(tmpdir(), 'hw-npx-cache-'));
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

async function npx(args: readonly string[], cwd: string) {
  const env = { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false' };
  return run('npx', ['--offline', 'highwater', ...args], { cwd, env, timeout: 120_000 });
}

describe('npx highwater in a checkout of the repository', () => {
  it('runs the built command from the repository root, as the docs show', async () => {
    const version = await npx(['--version'], ROOT);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await npx(['--help'], ROOT);
    expect(help.stdout).toContain('Usage: highwater');
    expect(help.stdout).toContain('run [options] <pipeline>');
  }, 180_000);

  it('runs from a directory inside the repository too', async () => {
    const version = await npx(['--version'], join(ROOT, 'docs'));
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  }, 180_000);
});
