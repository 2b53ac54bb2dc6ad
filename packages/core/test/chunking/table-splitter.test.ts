import { describe, expect, it } from 'vitest';
import type { SplitterState } from '../../src/checkpoint/checkpoint.js';
import { initialSplitterState } from '../../src/chunking/splitter-state.js';
import { createTableSplitter, type TableSplitterOptions } from '../../src/chunking/table-splitter.js';
import { AdapterError, CheckpointError, ConfigError, MissingKeyError } from '../../src/errors/errors.js';
import type { SnapshotSplit } from '../../src/split/split.js';
import type { Key } from '../../src/values/value.js';
import {
  compareKeys,
  type FakeBoundaries,
  fakeBoundaries,
  intKeys,
  roundTrip,
  rowsPerSplit,
  splitAll,
  tableOf,
} from './fake-boundaries.js';

const intTable = tableOf(['id', 'int64']);
const stringTable = tableOf(['code', 'string']);

/** Splits cover the key space: the first starts unbounded, each starts where the previous ended, the last ends unbounded. */
function expectContiguous(splits: readonly SnapshotSplit[]): void {
  expect(splits.length).toBeGreaterThan(0);
  expect(splits[0]?.range.start).toBeNull();
  expect(splits[splits.length - 1]?.range.end).toBeNull();
  splits.forEach((s, i) => {
    expect(s).toMatchObject({ kind: 'snapshot', id: `test.t:${i}`, table: 'test.t', index: i });
    if (i > 0) expect(s.range.start).toEqual(splits[i - 1]?.range.end);
    if (s.range.start !== null && s.range.end !== null) expect(compareKeys(s.range.start, s.range.end)).toBeLessThan(0);
  });
}

function options(fake: FakeBoundaries, rest: Partial<TableSplitterOptions> = {}): TableSplitterOptions {
  return { table: intTable, tableName: 'test.t', boundaries: fake.boundaries, compareKeys, chunkSize: 100, ...rest };
}

describe('even splitting (dense integer keys)', () => {
  it('computes boundaries arithmetically after one range and one estimate query', async () => {
    const fake = fakeBoundaries(intKeys(1, 1000));
    const { splits, states } = await splitAll(fake, { table: intTable, chunkSize: 100 });
    expectContiguous(splits);
    expect(splits.map((s) => s.range.end)).toEqual([
      [101],
      [201],
      [301],
      [401],
      [501],
      [601],
      [701],
      [801],
      [901],
      null,
    ]);
    expect(rowsPerSplit(splits, fake.keys)).toEqual(Array(10).fill(100));
    expect(fake.calls).toEqual({ keyRange: 1, estimateRowCount: 1, nextChunkBoundary: 0 });
    expect(states[1]?.strategy).toEqual({ kind: 'even', step: '100', max: '1000' });
    expect(states[10]).toEqual({
      nextIndex: 10,
      nextStart: [901],
      done: true,
      strategy: { kind: 'even', step: '100', max: '1000' },
    });
  });

  it('keeps numbers as numbers and handles negative keys', async () => {
    const fake = fakeBoundaries(intKeys(-500, 499));
    const { splits } = await splitAll(fake, { table: intTable, chunkSize: 250 });
    expect(splits.map((s) => s.range.end)).toEqual([[-250], [0], [250], null]);
    for (const s of splits)
      for (const v of [...(s.range.start ?? []), ...(s.range.end ?? [])]) expect(typeof v).toBe('number');
  });

  it('tolerates a somewhat wrong estimate and never makes chunks larger than chunkSize from a high one', async () => {
    const high = fakeBoundaries(intKeys(1, 1000), { estimate: 1300 });
    const a = await splitAll(high, { table: intTable, chunkSize: 100 });
    expect(a.states[1]?.strategy).toEqual({ kind: 'even', step: '100', max: '1000' });
    expect(Math.max(...rowsPerSplit(a.splits, high.keys))).toBe(100);

    const low = fakeBoundaries(intKeys(1, 1000), { estimate: 800 });
    const b = await splitAll(low, { table: intTable, chunkSize: 100 });
    expect(b.states[1]?.strategy).toEqual({ kind: 'even', step: '125', max: '1000' });
    expect(b.splits).toHaveLength(8);
  });

  it('scales the step by the distribution factor for moderately sparse keys', async () => {
    const keys = intKeys(1, 3000).filter(([k]) => (k as number) % 3 !== 0); // 2000 rows over 3000 ids
    const fake = fakeBoundaries(keys);
    const { splits, states } = await splitAll(fake, { table: intTable, chunkSize: 100 });
    expectContiguous(splits);
    expect(states[1]?.strategy).toEqual({ kind: 'even', step: '150', max: '2999' });
    for (const n of rowsPerSplit(splits, fake.keys)) expect(n).toBeLessThanOrEqual(100);
    expect(fake.calls.nextChunkBoundary).toBe(0);
  });

  it('caps every chunk at upper * chunkSize rows even when the keys are skewed within the bounds', async () => {
    // 1000 rows over 2000 ids (factor 2), all packed in two dense runs.
    const keys = [...intKeys(1, 500), ...intKeys(1501, 2000)];
    const fake = fakeBoundaries(keys);
    const { splits, states } = await splitAll(fake, { table: intTable, chunkSize: 100 });
    expect(states[1]?.strategy.kind).toBe('even');
    for (const n of rowsPerSplit(splits, fake.keys)) expect(n).toBeLessThanOrEqual(200);
  });

  it('is exact for bigint keys near 2^63', async () => {
    const top = 2n ** 63n - 1n;
    const keys: Key[] = [];
    for (let k = top - 999n; k <= top; k++) keys.push([k]);
    const fake = fakeBoundaries(keys);
    const { splits, states } = await splitAll(fake, { table: intTable, chunkSize: 100 });
    expectContiguous(splits);
    expect(splits).toHaveLength(10);
    expect(splits[0]?.range.end).toEqual([top - 899n]);
    expect(splits[9]?.range.start).toEqual([top - 99n]);
    for (const s of splits) if (s.range.end !== null) expect(typeof s.range.end[0]).toBe('bigint');
    expect(rowsPerSplit(splits, fake.keys)).toEqual(Array(10).fill(100));
    expect(states[1]?.strategy).toEqual({ kind: 'even', step: '100', max: top.toString() });
    expect(states[1]?.nextStart).toEqual([{ $bigint: (top - 899n).toString() }]);
  });

  it('is exact for unsigned 64-bit keys near 2^64', async () => {
    const top = 2n ** 64n - 1n;
    const keys: Key[] = [];
    for (let k = top - 499n; k <= top; k++) keys.push([k]);
    const fake = fakeBoundaries(keys);
    const { splits } = await splitAll(fake, { table: tableOf(['id', 'uint64']), chunkSize: 50 });
    expect(splits).toHaveLength(10);
    expect(splits.map((s) => s.range.start?.[0] ?? null)).toEqual([
      null,
      ...Array.from({ length: 9 }, (_, i) => top - 449n + BigInt(i) * 50n),
    ]);
    expect(rowsPerSplit(splits, fake.keys)).toEqual(Array(10).fill(50));
  });

  it('produces bigint boundaries when the database gives bigint for the range, across 2^53', async () => {
    const edge = 2n ** 53n;
    const keys: Key[] = [];
    for (let k = edge - 50n; k < edge + 50n; k++) keys.push([k < edge ? Number(k) : k]);
    const fake = fakeBoundaries(keys);
    const { splits } = await splitAll(fake, { table: intTable, chunkSize: 10 });
    expect(splits).toHaveLength(10);
    expect(splits[5]?.range.start).toEqual([edge]);
    for (const s of splits) if (s.range.end !== null) expect(typeof s.range.end[0]).toBe('bigint');
    expect(rowsPerSplit(splits, fake.keys)).toEqual(Array(10).fill(10));
  });
});

describe('walking', () => {
  async function expectWalked(keys: readonly Key[], table = intTable, chunkSize = 100, estimate?: number) {
    const fake = fakeBoundaries(keys, estimate === undefined ? {} : { estimate });
    const { splits, states } = await splitAll(fake, { table, chunkSize });
    expectContiguous(splits);
    expect(states[1]?.strategy).toEqual({ kind: 'walk' });
    const rows = rowsPerSplit(splits, fake.keys);
    expect(rows.slice(0, -1).every((n) => n === chunkSize)).toBe(true);
    expect(rows[rows.length - 1]).toBeGreaterThan(0);
    expect(rows[rows.length - 1]).toBeLessThanOrEqual(chunkSize);
    expect(splits).toHaveLength(Math.ceil(keys.length / chunkSize));
    expect(fake.calls.nextChunkBoundary).toBe(splits.length);
    return { fake, splits };
  }

  it('walks sparse integer keys', async () => {
    await expectWalked(intKeys(0, 99_990, 10));
  });

  it('walks skewed integer keys', async () => {
    await expectWalked([...intKeys(1, 950), ...intKeys(1_000_000_000, 1_000_000_049)]);
  });

  it('walks when the estimate is far too high (stale statistics) or unknown', async () => {
    await expectWalked(intKeys(1, 1000), intTable, 100, 5000);
    await expectWalked(intKeys(1, 1000), intTable, 100, 0);
    await expectWalked(intKeys(1, 1000), intTable, 100, -1);
  });

  it('walks string keys without asking for the key range', async () => {
    const keys = Array.from({ length: 1234 }, (_, i) => [`key-${(i * 7919) % 100_000}`] as Key);
    const { fake } = await expectWalked(keys, stringTable, 100);
    expect(fake.calls.keyRange).toBe(0);
  });

  it('walks UUID keys', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => [
      `${(i * 2654435761).toString(16).padStart(8, '0').slice(-8)}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    ]);
    await expectWalked(keys, tableOf(['id', 'uuid']), 64);
  });

  it('walks bytes keys', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => [new Uint8Array([i % 7, i >> 4, i & 15])] as Key);
    const { splits } = await expectWalked(keys, tableOf(['b', 'bytes']), 32);
    expect(splits[1]?.range.start?.[0]).toBeInstanceOf(Uint8Array);
  });

  it('walks composite keys', async () => {
    const keys: Key[] = [];
    for (let tenant = 1; tenant <= 5; tenant++) for (let i = 0; i < 99; i++) keys.push([tenant, `item-${i}`]);
    const { fake } = await expectWalked(keys, tableOf(['tenant', 'int32'], ['item', 'string']), 40);
    expect(fake.calls.keyRange).toBe(0);
  });

  it('walks an integer-valued key whose column is not an integer type', async () => {
    await expectWalked(intKeys(1, 1000), tableOf(['id', 'float64']));
    await expectWalked(intKeys(1, 1000), tableOf(['id', 'decimal']));
  });
});

describe('small tables', () => {
  it('gives an empty table exactly one unbounded split', async () => {
    for (const table of [intTable, stringTable]) {
      const fake = fakeBoundaries([]);
      const { splits, states } = await splitAll(fake, { table, chunkSize: 100 });
      expect(splits).toEqual([
        { kind: 'snapshot', id: 'test.t:0', table: 'test.t', index: 0, range: { start: null, end: null } },
      ]);
      expect(states[1]).toMatchObject({ nextIndex: 1, nextStart: null, done: true });
      expect(fake.calls.keyRange + fake.calls.nextChunkBoundary).toBe(1);
    }
  });

  it('gives a single row one unbounded split', async () => {
    for (const [table, key] of [
      [intTable, [42]],
      [stringTable, ['only']],
    ] as const) {
      const { splits } = await splitAll(fakeBoundaries([key]), { table, chunkSize: 100 });
      expect(splits.map((s) => s.range)).toEqual([{ start: null, end: null }]);
    }
  });

  it('covers rows inserted below the minimum and above the maximum', async () => {
    const { splits } = await splitAll(fakeBoundaries(intKeys(100, 199)), { table: intTable, chunkSize: 10 });
    expect(splits[0]?.range.start).toBeNull();
    expect(splits[splits.length - 1]?.range.end).toBeNull();
  });
});

describe('resuming', () => {
  const cases: [string, Key[], TableSplitterOptions['table'], number][] = [
    ['even', intKeys(1, 1000), intTable, 70],
    ['even bigint', intKeys(1, 300).map(([k]) => [2n ** 62n + BigInt(k as number)]), intTable, 32],
    [
      'even across 2^53',
      intKeys(-50, 49).map(([k]) => {
        const n = 2n ** 53n + BigInt(k as number);
        return [n < 2n ** 53n ? Number(n) : n];
      }),
      intTable,
      10,
    ],
    ['walk integers', intKeys(0, 9990, 10), intTable, 64],
    ['walk strings', intKeys(1, 500).map(([k]) => [`s${k}`]), stringTable, 33],
    [
      'walk composite',
      intKeys(1, 300).map(([k]) => [(k as number) % 4, `x${k}`]),
      tableOf(['a', 'int32'], ['b', 'string']),
      17,
    ],
    ['empty', [], intTable, 10],
  ];

  it.each(cases)('continues exactly after every intermediate state (%s)', async (_name, keys, table, chunkSize) => {
    const whole = await splitAll(fakeBoundaries(keys), { table, chunkSize });
    for (let k = 0; k < whole.states.length; k++) {
      const fake = fakeBoundaries(keys);
      const resumed = await splitAll(fake, { table, chunkSize, resume: whole.states[k] as SplitterState });
      expect([...whole.splits.slice(0, k), ...resumed.splits]).toEqual(whole.splits);
      expect(resumed.states).toEqual(whole.states.slice(k));
      if (k > 0 && whole.states[k]?.strategy.kind === 'even') {
        expect(fake.calls).toEqual({ keyRange: 0, estimateRowCount: 0, nextChunkBoundary: 0 });
      }
    }
  });

  it('starts from a fresh initial state like from no state', async () => {
    const keys = intKeys(1, 1000);
    const a = await splitAll(fakeBoundaries(keys), { table: intTable, chunkSize: 100 });
    const b = await splitAll(fakeBoundaries(keys), { table: intTable, chunkSize: 100, resume: initialSplitterState() });
    expect(b.splits).toEqual(a.splits);
  });

  it('keeps returning null once done, without queries', async () => {
    const fake = fakeBoundaries(intKeys(1, 10));
    const splitter = createTableSplitter(options(fake));
    expect(await splitter.next()).not.toBeNull();
    const state = splitter.state();
    const calls = { ...fake.calls };
    expect(await splitter.next()).toBeNull();
    expect(await splitter.next()).toBeNull();
    expect(splitter.state()).toEqual(state);
    expect(fake.calls).toEqual(calls);
  });

  it('does not depend on the caller keeping the resume state unchanged', async () => {
    const fake = fakeBoundaries(intKeys(0, 990, 10));
    const whole = await splitAll(fake, { table: intTable, chunkSize: 10 });
    const resume = roundTrip(whole.states[3] as SplitterState);
    const splitter = createTableSplitter(options(fakeBoundaries(intKeys(0, 990, 10)), { chunkSize: 10, resume }));
    (resume.nextStart as unknown[])[0] = 0;
    expect(await splitter.next()).toEqual(whole.splits[3]);
  });
});

describe('estimatedTotal', () => {
  it('is unknown before the first split, exact for even splitting, and exact once done', async () => {
    const splitter = createTableSplitter(options(fakeBoundaries(intKeys(1, 1000))));
    expect(splitter.estimatedTotal()).toBeNull();
    const totals: (number | null)[] = [];
    while ((await splitter.next()) !== null) totals.push(splitter.estimatedTotal());
    expect(totals).toEqual(Array(10).fill(10));
  });

  it('is exact for a resumed even state without any query', async () => {
    const whole = await splitAll(fakeBoundaries(intKeys(1, 1000)), { table: intTable, chunkSize: 30 });
    const fake = fakeBoundaries(intKeys(1, 1000));
    const splitter = createTableSplitter(options(fake, { chunkSize: 30, resume: whole.states[5] as SplitterState }));
    expect(splitter.estimatedTotal()).toBe(whole.splits.length);
    expect(fake.calls).toEqual({ keyRange: 0, estimateRowCount: 0, nextChunkBoundary: 0 });
  });

  it('is refined while walking', async () => {
    // The statistics say 300 rows; there are 1000.
    const splitter = createTableSplitter(
      options(
        fakeBoundaries(
          intKeys(1, 1000).map(([k]) => [`k${k}`]),
          { estimate: 300 },
        ),
        { table: stringTable },
      ),
    );
    const totals: (number | null)[] = [];
    while ((await splitter.next()) !== null) totals.push(splitter.estimatedTotal());
    expect(totals).toEqual([3, 3, 4, 5, 6, 7, 8, 9, 10, 10]);
  });
});

describe('validation and failures', () => {
  const fake = () => fakeBoundaries(intKeys(1, 10));

  it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number])(
    'rejects chunkSize %s',
    (chunkSize) => {
      expect(() => createTableSplitter(options(fake(), { chunkSize }))).toThrow(ConfigError);
      expect(() => createTableSplitter(options(fake(), { chunkSize }))).toThrow(/chunkSize/);
    },
  );

  it('rejects contradictory evenDistribution bounds', () => {
    for (const evenDistribution of [
      { lower: 2, upper: 1 },
      { lower: -1, upper: 1 },
      { lower: Number.NaN, upper: 2 },
    ]) {
      expect(() => createTableSplitter(options(fake(), { evenDistribution }))).toThrow(/evenDistribution/);
    }
  });

  it('honours custom evenDistribution bounds', async () => {
    const keys = intKeys(0, 9990, 10); // factor 10
    const walked = await splitAll(fakeBoundaries(keys), { table: intTable, chunkSize: 100 });
    expect(walked.states[1]?.strategy.kind).toBe('walk');
    const even = await splitAll(fakeBoundaries(keys), {
      table: intTable,
      chunkSize: 100,
      evenDistribution: { lower: 1, upper: 20 },
    });
    expect(even.states[1]?.strategy).toEqual({ kind: 'even', step: '1000', max: '9990' });
  });

  it('rejects a table without chunk key', () => {
    expect(() => createTableSplitter(options(fake(), { table: { ...intTable, chunkKey: [] } }))).toThrow(
      MissingKeyError,
    );
  });

  const badStates: [string, unknown][] = [
    ['not an object', 'nope'],
    ['negative index', { ...initialSplitterState(), nextIndex: -1 }],
    ['fractional index', { nextIndex: 1.5, nextStart: [3], done: false, strategy: { kind: 'walk' } }],
    ['no done flag', { nextIndex: 1, nextStart: [3], strategy: { kind: 'walk' } }],
    ['unknown strategy', { nextIndex: 1, nextStart: [3], done: false, strategy: { kind: 'random' } }],
    ['bad step', { nextIndex: 1, nextStart: [3], done: false, strategy: { kind: 'even', step: '1e3', max: '9' } }],
    ['zero step', { nextIndex: 1, nextStart: [3], done: false, strategy: { kind: 'even', step: '0', max: '9' } }],
    ['bad max', { nextIndex: 1, nextStart: [3], done: false, strategy: { kind: 'even', step: '2', max: 9 } }],
    [
      'non-integer even start',
      { nextIndex: 1, nextStart: ['a'], done: false, strategy: { kind: 'even', step: '2', max: '9' } },
    ],
    ['key of wrong length', { nextIndex: 1, nextStart: [3, 4], done: false, strategy: { kind: 'walk' } }],
    ['key not an array', { nextIndex: 1, nextStart: 3, done: false, strategy: { kind: 'walk' } }],
    ['undecodable key', { nextIndex: 1, nextStart: [{ $mystery: 1 }], done: false, strategy: { kind: 'walk' } }],
    ['missing start', { nextIndex: 2, nextStart: null, done: false, strategy: { kind: 'walk' } }],
    ['undecided after splits', { nextIndex: 3, nextStart: null, done: false, strategy: { kind: 'undecided' } }],
    ['decided before splits', { nextIndex: 0, nextStart: null, done: false, strategy: { kind: 'walk' } }],
  ];

  it.each(badStates)('rejects a resume state with %s, naming the table', (_name, resume) => {
    const create = () =>
      createTableSplitter(options(fake(), { tableName: 'shop.orders', resume: resume as SplitterState }));
    expect(create).toThrow(CheckpointError);
    expect(create).toThrow(/shop\.orders/);
  });

  it('rejects a boundary that does not advance', async () => {
    const real = fakeBoundaries(intKeys(1, 1000).map(([k]) => [`k${k}`]));
    let call = 0;
    const boundaries: TableSplitterOptions['boundaries'] = {
      ...real.boundaries,
      nextChunkBoundary: async (table, from, n) =>
        ++call === 2 ? from : real.boundaries.nextChunkBoundary(table, from, n),
    };
    const splitter = createTableSplitter({ ...options(real, { table: stringTable }), boundaries });
    await splitter.next();
    await expect(splitter.next()).rejects.toThrow(AdapterError);
  });

  it('leaves the state unchanged when a query fails, so the call can be retried', async () => {
    const keys = intKeys(1, 500).map(([k]) => [`k${String(k).padStart(4, '0')}`] as Key);
    const real = fakeBoundaries(keys);
    let fail = false;
    const boundaries: TableSplitterOptions['boundaries'] = {
      ...real.boundaries,
      nextChunkBoundary: async (table, from, n) => {
        if (fail) throw new Error('connection reset');
        return real.boundaries.nextChunkBoundary(table, from, n);
      },
    };
    const splitter = createTableSplitter({ ...options(real, { table: stringTable }), boundaries });
    const first = await splitter.next();
    const state = splitter.state();
    fail = true;
    await expect(splitter.next()).rejects.toThrow('connection reset');
    expect(splitter.state()).toBe(state);
    fail = false;
    const whole = await splitAll(fakeBoundaries(keys), { table: stringTable, chunkSize: 100 });
    expect([first, await splitter.next()]).toEqual(whole.splits.slice(0, 2));
  });

  it('serialises overlapping calls', async () => {
    const keys = intKeys(1, 1000).map(([k]) => [`k${String(k).padStart(4, '0')}`] as Key);
    const splitter = createTableSplitter(options(fakeBoundaries(keys), { table: stringTable }));
    const together = await Promise.all(Array.from({ length: 12 }, () => splitter.next()));
    const whole = await splitAll(fakeBoundaries(keys), { table: stringTable, chunkSize: 100 });
    expect(together).toEqual([...whole.splits, null, null]);
  });
});

describe('laziness', () => {
  const chunks = 1_000_000;
  const chunkSize = 100;
  const rows = chunks * chunkSize;

  it('starts a million-chunk even table at once and keeps the state constant-sized', async () => {
    const calls = { keyRange: 0, estimateRowCount: 0, nextChunkBoundary: 0 };
    const boundaries: TableSplitterOptions['boundaries'] = {
      keyRange: async () => {
        calls.keyRange++;
        return { min: [1], max: [rows] };
      },
      estimateRowCount: async () => {
        calls.estimateRowCount++;
        return rows;
      },
      nextChunkBoundary: async () => {
        calls.nextChunkBoundary++;
        throw new Error('not expected');
      },
    };
    const splitter = createTableSplitter({ table: intTable, tableName: 'test.t', boundaries, compareKeys, chunkSize });
    expect(await splitter.next()).toMatchObject({ index: 0, range: { start: null, end: [101] } });
    expect(calls).toEqual({ keyRange: 1, estimateRowCount: 1, nextChunkBoundary: 0 });
    expect(splitter.estimatedTotal()).toBe(chunks);
    for (let i = 1; i < 10_000; i++) await splitter.next();
    expect(JSON.stringify(splitter.state()).length).toBeLessThan(120);

    // Jump to the end by resuming and check the tail.
    const near: SplitterState = { ...splitter.state(), nextIndex: chunks - 2, nextStart: [rows - 199] };
    const tail = createTableSplitter({
      table: intTable,
      tableName: 'test.t',
      boundaries,
      compareKeys,
      chunkSize,
      resume: near,
    });
    expect(await tail.next()).toMatchObject({ index: chunks - 2, range: { start: [rows - 199], end: [rows - 99] } });
    expect(await tail.next()).toMatchObject({ id: `test.t:${chunks - 1}`, range: { start: [rows - 99], end: null } });
    expect(await tail.next()).toBeNull();
  });

  it('starts a million-chunk walked table at once', async () => {
    const name = (i: number) => `row-${String(i).padStart(12, '0')}`;
    const calls = { keyRange: 0, estimateRowCount: 0, nextChunkBoundary: 0 };
    const boundaries: TableSplitterOptions['boundaries'] = {
      keyRange: async () => {
        calls.keyRange++;
        return { min: [name(0)], max: [name(rows - 1)] };
      },
      estimateRowCount: async () => {
        calls.estimateRowCount++;
        return rows;
      },
      nextChunkBoundary: async (_table, from, n) => {
        calls.nextChunkBoundary++;
        const at = from === null ? 0 : Number((from[0] as string).slice(4));
        return at + n < rows ? [name(at + n)] : null;
      },
    };
    const splitter = createTableSplitter({
      table: stringTable,
      tableName: 'test.t',
      boundaries,
      compareKeys,
      chunkSize,
    });
    expect(await splitter.next()).toMatchObject({ range: { start: null, end: [name(100)] } });
    expect(calls.keyRange + calls.estimateRowCount + calls.nextChunkBoundary).toBeLessThanOrEqual(2);
    expect(splitter.estimatedTotal()).toBe(chunks);
    for (let i = 1; i < 1000; i++) await splitter.next();
    expect(calls.nextChunkBoundary).toBe(1000);
    expect(splitter.state()).toEqual({
      nextIndex: 1000,
      nextStart: [name(100_000)],
      done: false,
      strategy: { kind: 'walk' },
    });
  });
});
