import type { Value } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareKeys, compareValues } from '../src/index.js';

const sign = (n: number) => Math.sign(n);

describe('compareValues', () => {
  it('orders kinds: null, booleans, numbers, strings, bytes, arrays, objects', () => {
    const ordered: Value[] = [null, false, true, -1, 0, 2n, 'a', new Uint8Array([0]), [1], { a: 1 }];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(sign(compareValues(ordered[i] as Value, ordered[j] as Value)), `${i} vs ${j}`).toBe(sign(i - j));
      }
    }
  });

  it('compares numbers and bigints numerically with each other', () => {
    expect(compareValues(1, 1n)).toBe(0);
    expect(compareValues(1.5, 1n)).toBeGreaterThan(0);
    expect(compareValues(2n ** 64n, Number.MAX_SAFE_INTEGER)).toBeGreaterThan(0);
    expect(compareValues(-(2n ** 63n), -1)).toBeLessThan(0);
    expect(compareValues(-0, 0)).toBe(0);
  });

  it('puts NaN after every other number and equal to itself', () => {
    expect(compareValues(Number.NaN, Number.POSITIVE_INFINITY)).toBeGreaterThan(0);
    expect(compareValues(Number.NaN, 10n ** 30n)).toBeGreaterThan(0);
    expect(compareValues(5n, Number.NaN)).toBeLessThan(0);
    expect(compareValues(Number.NaN, Number.NaN)).toBe(0);
  });

  it('compares strings by UTF-16 code unit, not by locale', () => {
    expect(compareValues('B', 'a')).toBeLessThan(0); // 'B' is 0x42, 'a' is 0x61
    expect(compareValues('a', 'ab')).toBeLessThan(0);
    // U+FF5E (one code unit) sorts after U+1F600 (surrogates 0xD83D…): code units, not code points.
    expect(compareValues('\u{1F600}', '\uFF5E')).toBeLessThan(0);
  });

  it('compares bytes bytewise, a prefix first', () => {
    expect(compareValues(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBeLessThan(0);
    expect(compareValues(new Uint8Array([1]), new Uint8Array([1, 0]))).toBeLessThan(0);
    expect(compareValues(new Uint8Array([255]), new Uint8Array([1, 0]))).toBeGreaterThan(0);
    expect(compareValues(new Uint8Array([7, 7]), new Uint8Array([7, 7]))).toBe(0);
  });

  it('compares arrays and keys lexicographically', () => {
    expect(compareKeys([1, 'b'], [1, 'c'])).toBeLessThan(0);
    expect(compareKeys([2], [1, 'z'])).toBeGreaterThan(0);
    expect(compareKeys([1], [1, null])).toBeLessThan(0);
    expect(compareKeys([null, 5], [0, 0])).toBeLessThan(0);
    expect(compareValues([1, [2, 3]], [1, [2, 4]])).toBeLessThan(0);
  });

  it('compares booleans false before true', () => {
    expect(compareValues(false, true)).toBeLessThan(0);
    expect(compareValues(true, true)).toBe(0);
  });
});
