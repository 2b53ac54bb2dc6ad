import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from './cli.js';
import { runKillScenario } from './scenario.js';

// Postgres → Postgres through the built `highwater` command, SIGKILLed and restarted under a write
// load. HIGHWATER_E2E_SEED repeats a run's kill moments and writes (timing still varies).
const seed = Number(process.env.HIGHWATER_E2E_SEED ?? Math.floor(Math.random() * 2 ** 31));

let source: ThrowawayPostgres;
let target: ThrowawayPostgres;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-pg-'));
  [source, target] = await Promise.all([startPostgres({ useEnv: false }), startPostgres({ useEnv: false })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('Postgres → Postgres, killed and restarted under load', () => {
  it('ends equal (verify) with every source change applied exactly once', async () => {
    console.log(`pg-to-pg seed ${seed} (HIGHWATER_E2E_SEED=${seed} repeats it)`);
    const result = await runKillScenario({
      name: 'e2e-pg',
      source: { dialect: 'postgres', url: source.url },
      targetUrl: target.url,
      dir,
      seed,
      size: { items: 20_000, tags: 10_000, orders: 10_000 },
      kills: { snapshot: 2, stream: 2 },
      log: (line) => console.log(line),
    });
    const context = `seed ${seed}`;
    expect(result.kills.map((k) => k.exit)).toEqual(result.kills.map(() => 'SIGKILL'));
    expect(
      result.kills.some((k) => k.observed === 'snapshot'),
      `${context}: a kill during the snapshot`,
    ).toBe(true);
    expect(
      result.kills.some((k) => k.observed === 'stream'),
      `${context}: a kill while streaming`,
    ).toBe(true);
    expect(result.finalExit, context).toEqual({ code: 0, signal: null });
    expect(result.verify.code, `${context}\n${result.verify.stdout}${result.verify.stderr}`).toBe(0);
    expect(result.exactlyOnce.problems, context).toEqual([]);
    expect(result.sourceWrites).toBeGreaterThan(100);
  }, 180_000);
});
