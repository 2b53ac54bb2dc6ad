import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SplitterState } from '../../src/checkpoint/checkpoint.js';
import { DEFAULT_EVEN_DISTRIBUTION } from '../../src/chunking/even-split.js';
import type { TableSchema } from '../../src/schema/table-schema.js';
import type { Key } from '../../src/values/value.js';
import { compareKeys, fakeBoundaries, inRange, rowsPerSplit, splitAll, tableOf } from './fake-boundaries.js';

/**
 * For any key set, chunk size and row estimate: every key — in the table, or inserted later anywhere —
 * lies in exactly one split; a walked chunk holds exactly `chunkSize` rows (the last at most that), an
 * even one at most `upper * chunkSize`; and resuming from any intermediate state yields the rest of
 * the same sequence.
 */
async function checkSplitting(
  table: TableSchema,
  keys: readonly Key[],
  probes: readonly Key[],
  chunkSize: number,
  estimateScale: number,
  resumeAt: number,
): Promise<void> {
  const estimate = Math.round(keys.length * estimateScale);
  const fake = fakeBoundaries(keys, { estimate });
  const { splits, states } = await splitAll(fake, { table, chunkSize });

  expect(splits[0]?.range.start).toBeNull();
  expect(splits[splits.length - 1]?.range.end).toBeNull();
  splits.forEach((s, i) => {
    expect(s.index).toBe(i);
    if (i > 0) expect(compareKeys(s.range.start as Key, splits[i - 1]?.range.end as Key)).toBe(0);
  });
  for (const key of [...fake.keys, ...probes]) {
    expect(splits.filter((s) => inRange(s.range, key))).toHaveLength(1);
  }

  const rows = rowsPerSplit(splits, fake.keys);
  const strategy = states[1]?.strategy.kind;
  if (strategy === 'walk') {
    expect(rows.slice(0, -1).every((n) => n === chunkSize)).toBe(true);
    expect(splits).toHaveLength(Math.max(1, Math.ceil(keys.length / chunkSize)));
  } else {
    expect(strategy).toBe('even');
    for (const n of rows) expect(n).toBeLessThanOrEqual(Math.ceil(DEFAULT_EVEN_DISTRIBUTION.upper * chunkSize));
    expect(fake.calls.nextChunkBoundary).toBe(0);
    // The step is never below chunkSize, so the key span bounds the number of splits.
    const min = BigInt(fake.keys[0]?.[0] as number | bigint);
    const max = BigInt(fake.keys[fake.keys.length - 1]?.[0] as number | bigint);
    expect(splits.length).toBeLessThanOrEqual(Number((max - min) / BigInt(chunkSize)) + 1);
  }

  const k = Math.min(resumeAt, states.length - 1);
  const resumed = await splitAll(fakeBoundaries(keys, { estimate }), {
    table,
    chunkSize,
    resume: states[k] as SplitterState,
  });
  expect([...splits.slice(0, k), ...resumed.splits]).toEqual(splits);
}

const chunkSize = fc.integer({ min: 1, max: 40 });
const estimateScale = fc.oneof(fc.constant(1), fc.double({ min: 0.2, max: 3, noNaN: true }));
const resumeAt = fc.nat({ max: 400 });

/** Integer keys from dense runs with holes to scattered values, so both strategies are exercised. */
const integerKeys = fc.oneof(
  fc
    .record({
      start: fc.integer({ min: -1_000_000, max: 1_000_000 }),
      length: fc.integer({ min: 0, max: 400 }),
      holes: fc.double({ min: 0, max: 0.7, noNaN: true }),
      seed: fc.integer(),
    })
    .map(({ start, length, holes, seed }) => {
      const keys: Key[] = [];
      let x = seed;
      for (let i = 0; i < length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) | 0;
        if (((x >>> 8) & 0xffff) / 0x10000 >= holes) keys.push([start + i]);
      }
      return keys;
    }),
  fc.uniqueArray(fc.integer({ min: -5000, max: 5000 }), { maxLength: 300 }).map((ks) => ks.map((k) => [k] as Key)),
);

describe('splitting properties', () => {
  it('integer keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        integerKeys,
        fc.array(fc.integer({ min: -2_000_000, max: 2_000_000 }), { maxLength: 20 }),
        chunkSize,
        estimateScale,
        resumeAt,
        async (keys, probes, size, scale, at) => {
          const table = tableOf(['id', 'int32']);
          await checkSplitting(
            table,
            keys,
            probes.map((p) => [p]),
            size,
            scale,
            at,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('bigint keys near 2^63', async () => {
    const near = fc.bigInt({ min: 2n ** 63n - 5000n, max: 2n ** 63n - 1n });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uniqueArray(near, { maxLength: 200 }),
          fc.integer({ min: 0, max: 300 }).map((n) => Array.from({ length: n }, (_, i) => 2n ** 63n - 1n - BigInt(i))),
        ),
        fc.array(fc.bigInt({ min: 2n ** 63n - 6000n, max: 2n ** 63n - 1n }), { maxLength: 10 }),
        chunkSize,
        estimateScale,
        resumeAt,
        async (keys, probes, size, scale, at) => {
          await checkSplitting(
            tableOf(['id', 'int64']),
            keys.map((k) => [k]),
            probes.map((p) => [p]),
            size,
            scale,
            at,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('string keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ maxLength: 6 }), { maxLength: 200 }),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 10 }),
        chunkSize,
        estimateScale,
        resumeAt,
        async (keys, probes, size, scale, at) => {
          await checkSplitting(
            tableOf(['code', 'string']),
            keys.map((k) => [k]),
            probes.map((p) => [p]),
            size,
            scale,
            at,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('bytes keys', async () => {
    const bytes = fc.uint8Array({ maxLength: 4 });
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(bytes, { maxLength: 150, selector: hex }),
        fc.array(bytes, { maxLength: 10 }),
        chunkSize,
        resumeAt,
        async (keys, probes, size, at) => {
          await checkSplitting(
            tableOf(['b', 'bytes']),
            keys.map((k) => [k]),
            probes.map((p) => [p]),
            size,
            1,
            at,
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('composite keys', async () => {
    const pair = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.string({ maxLength: 3 }));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(pair, { maxLength: 200, selector: ([a, b]) => `${a}|${b}` }),
        fc.array(pair, { maxLength: 10 }),
        chunkSize,
        resumeAt,
        async (keys, probes, size, at) => {
          await checkSplitting(tableOf(['a', 'int32'], ['b', 'string']), keys, probes, size, 1, at);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('even plan', () => {
  it('is chosen for dense enough integer keys with an accurate estimate, and splits within the target', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 50 }),
        async (n, every, size) => {
          const keys = Array.from({ length: n }, (_, i) => [i * every] as Key);
          const fake = fakeBoundaries(keys);
          const { splits, states } = await splitAll(fake, { table: tableOf(['id', 'int64']), chunkSize: size });
          const spanFactor = ((n - 1) * every + 1) / n;
          expect(states[1]?.strategy.kind).toBe(spanFactor <= DEFAULT_EVEN_DISTRIBUTION.upper ? 'even' : 'walk');
          const rows = rowsPerSplit(splits, fake.keys);
          for (const r of rows) expect(r).toBeLessThanOrEqual(size);
          expect(splits.length).toBeLessThanOrEqual(Math.ceil(n / size) + 1);
          expect(fake.calls.keyRange + fake.calls.estimateRowCount).toBe(2);
        },
      ),
      { numRuns: 200 },
    );
  });
});
