import { createSourceVariant } from '@highwater/core/testing';
import type { MemoryAdapterOptions } from '@highwater/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConformanceCase,
  type ConformanceConfig,
  ConformanceFailure,
  concurrentWritesCase,
  runConformanceCase,
  visibilityLagCase,
} from '../src/index.js';
import { MemoryHarness } from './memory-harness.js';

// Fixed seeds plus the run's own, so the detection is shown not to depend on the random choices:
// it rests on the write each case stages, under its write lock, in the first chunk.
const envSeed = Number(process.env.HIGHWATER_SEED);
const SEEDS = [1, 2, 3, 4, 20240229, ...(Number.isSafeInteger(envSeed) ? [envSeed] : [])];
const quiet = () => undefined;

const naiveLowWatermark = { adapterOptions: { unsafeNaiveLowWatermark: true } } as const;
const gateAtHighWatermark = {
  createSource: ((options) =>
    createSourceVariant(options, { releaseHighWatermarkEqualAsAfter: true })) as ConformanceConfig['createSource'],
};
// A lost change shows as a missing row, or as a later change finding its key in the wrong state;
// a duplicated one as an offset not after the previous event on its key, or the same wrong states.
const LOST = /missing \[|the key is not there|already there/;
const DUPLICATED = /emitted twice|the key is already there|the key is not there/;

async function failureOf(
  c: ConformanceCase,
  config: Omit<ConformanceConfig<number, MemoryAdapterOptions>, 'harness'>,
): Promise<ConformanceFailure> {
  try {
    await runConformanceCase(c, { harness: new MemoryHarness(), log: quiet, ...config });
  } catch (error) {
    if (error instanceof ConformanceFailure) return error;
    throw error;
  }
  throw new Error(`${c.id} passed, but it should have caught the broken variant`);
}

describe('the suite catches a broken algorithm', () => {
  for (const seed of SEEDS) {
    it(`a naive low watermark (the log end) under visibility lag loses rows: snapshot-visibility-lag fails (seed ${seed})`, async () => {
      const failure = await failureOf(visibilityLagCase, { ...naiveLowWatermark, seed });
      expect(failure.message).toMatch(LOST);
    });

    it(`a gate that emits a change exactly at the high watermark duplicates it: snapshot-concurrent-writes fails (seed ${seed})`, async () => {
      const failure = await failureOf(concurrentWritesCase, { ...gateAtHighWatermark, seed });
      expect(failure.message).toMatch(DUPLICATED);
    });

    it(`the correct algorithm passes both cases with the same seed (seed ${seed})`, async () => {
      for (const c of [visibilityLagCase, concurrentWritesCase]) {
        await expect(runConformanceCase(c, { harness: new MemoryHarness(), log: quiet, seed })).resolves.toEqual({
          status: 'passed',
        });
      }
    });
  }

  const fcSeed = process.env.FC_SEED === undefined ? Date.now() % 2_147_483_647 : Number(process.env.FC_SEED);
  it(`both broken variants fail for every one of 20 random seeds (fast-check seed ${fcSeed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        expect((await failureOf(visibilityLagCase, { ...naiveLowWatermark, seed })).message).toMatch(LOST);
        expect((await failureOf(concurrentWritesCase, { ...gateAtHighWatermark, seed })).message).toMatch(DUPLICATED);
      }),
      { seed: fcSeed, numRuns: 20 },
    );
  });
});
