import type { Key } from '@highwater/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '../src/database/compare.js';
import { SortedMap } from '../src/database/sorted-map.js';

// The sorted map is checked against a model (a sorted array) under random operation sequences, with
// enough entries to split and merge blocks many times.

type Op = { kind: 'set'; k: number; v: number } | { kind: 'delete'; k: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('set' as const), k: fc.integer({ min: 0, max: 3000 }), v: fc.integer() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), k: fc.integer({ min: 0, max: 3000 }) }) },
);

function modelOf(ops: readonly Op[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const o of ops) {
    if (o.kind === 'set') m.set(o.k, o.v);
    else m.delete(o.k);
  }
  return m;
}

describe('SortedMap', () => {
  it('matches a model under random inserts and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 0, maxLength: 4000, size: 'max' }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 700 }),
        (ops, probe, n) => {
          const map = new SortedMap<number>();
          for (const o of ops) {
            if (o.kind === 'set') map.set([o.k], o.v);
            else map.delete([o.k]);
          }
          const model = modelOf(ops);
          const keys = [...model.keys()].sort((a, b) => a - b);
          expect(map.size).toBe(model.size);
          expect([...map.keys()].map((k) => k[0])).toEqual(keys);
          expect([...map.values()]).toEqual(keys.map((k) => model.get(k)));
          expect(map.get([probe])).toBe(model.get(probe));
          expect(map.firstKey()?.[0]).toBe(keys[0]);
          expect(map.lastKey()?.[0]).toBe(keys[keys.length - 1]);
          // keyAfter: the key n entries after the first key >= probe.
          const from = keys.findIndex((k) => k >= probe);
          const expected = from === -1 ? undefined : keys[from + n];
          expect(map.keyAfter([probe], n)?.[0]).toBe(expected);
          expect(map.countRange([probe], [probe + n])).toBe(keys.filter((k) => k >= probe && k < probe + n).length);
          // collect: a bounded range, in two halves resumed by key.
          const out: number[] = [];
          const last = map.collect([probe], true, [probe + 500], 100, out);
          const inRange = keys.filter((k) => k >= probe && k < probe + 500);
          expect(out).toEqual(inRange.slice(0, 100).map((k) => model.get(k)));
          if (last !== null) {
            const rest: number[] = [];
            map.collect(last, false, [probe + 500], 10_000, rest);
            expect(rest).toEqual(inRange.slice(100).map((k) => model.get(k)));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps blocks full when keys arrive in ascending order', () => {
    const map = new SortedMap<number>();
    for (let i = 0; i < 100_000; i++) map.set([i], i);
    expect(map.size).toBe(100_000);
    expect(map.keyAfter(null, 99_999)).toEqual([99_999]);
    expect(map.keyAfter([50_000], 25_000)).toEqual([75_000]);
    expect(map.countRange([10], [20])).toBe(10);
    expect(map.countRange([20], [10])).toBe(0);
  });

  it('finds keys equal under the database order, not by identity', () => {
    const map = new SortedMap<string>();
    const key: Key = [new Uint8Array([1, 2]), 5];
    map.set(key, 'x');
    expect(map.get([new Uint8Array([1, 2]), 5n])).toBe('x');
    expect(compareKeys(map.firstKey() as Key, key)).toBe(0);
  });
});
