import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concurrentWritesCase, crashResumeCase, runConformanceCase, visibilityLagCase } from '../src/index.js';
import { MemoryHarness } from './memory-harness.js';

// The algorithm cases draw their write patterns, crash points and keys from the seed. Each must
// pass for any seed on the reference adapter, with full and with key-only before-images, and with
// rows decoded as they are read or only when their chunk is emitted.
// Replay a failure with FC_SEED=<seed printed below> (fast-check also prints the failing case).
const fcSeed = process.env.FC_SEED === undefined ? Date.now() % 2_147_483_647 : Number(process.env.FC_SEED);
const RUNS = Number(process.env.HIGHWATER_SEED_RUNS ?? 20);
const quiet = () => undefined;

describe('the algorithm cases pass for any seed on the memory adapter', () => {
  for (const c of [concurrentWritesCase, visibilityLagCase, crashResumeCase]) {
    it(`${c.id}: ${RUNS} random seeds (fast-check seed ${fcSeed})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.boolean(),
          fc.boolean(),
          async (seed, keyOnly, deferDecoding) => {
            const harness = new MemoryHarness({ adapter: { beforeImage: keyOnly ? 'key' : 'full', deferDecoding } });
            await expect(runConformanceCase(c, { harness, seed, log: quiet })).resolves.toEqual({ status: 'passed' });
          },
        ),
        { seed: fcSeed, numRuns: RUNS },
      );
    });
  }
});
