import { JsonText, type Value } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { exactJsonText, jsonText } from '../src/value-text.js';

describe('exactJsonText (JSON column values, MongoDB _id keys)', () => {
  it('keeps apart values whose jsonText was the same string', () => {
    const pairs: [Value, Value][] = [
      [9007199254740993n, '9007199254740993'],
      [new Uint8Array([1, 2]), '\\x0102'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
      [2 ** 60 + 256, 1152921504606847200n],
    ];
    for (const [a, b] of pairs) expect(exactJsonText(a)).not.toBe(exactJsonText(b));
    // What jsonText (the form of array columns) does with them: a string each, equal to the other's.
    expect(jsonText(9007199254740993n)).toBe(jsonText('9007199254740993'));
  });

  it('writes exact digits, Extended JSON tags, and field order jsonb cannot lose', () => {
    expect(exactJsonText(9007199254740993n)).toBe('9007199254740993');
    expect(exactJsonText(2 ** 60 + 256)).toBe('1152921504606847232');
    expect(exactJsonText(new Uint8Array([1, 2]))).toBe('{"$binary":{"base64":"AQI=","subType":"00"}}');
    expect(exactJsonText(Number.NaN)).toBe('{"$numberDouble":"NaN"}');
    expect(exactJsonText({ a: 1, b: 2 })).toBe('{"a":1,"b":2}');
    expect(exactJsonText({ b: 2, a: 1 })).toBe('{"$fields":[["b",2],["a",1]]}');
    expect(exactJsonText({ region: 'eu', seq: 1 })).toBe('{"$fields":[["region","eu"],["seq",1]]}');
    expect(exactJsonText([{ $oid: '65a1b2c3d4e5f60718293a4b' }, 'x', null, true])).toBe(
      '[{"$oid":"65a1b2c3d4e5f60718293a4b"},"x",null,true]',
    );
    expect(exactJsonText(new JsonText('{"b": 1.10, "a": 2}'))).toBe('{"b": 1.10, "a": 2}');
  });

  it('gives numbers equal to the server one text', () => {
    expect(exactJsonText(2 ** 60)).toBe(exactJsonText(2n ** 60n));
    expect(exactJsonText(-0)).toBe(exactJsonText(0));
    expect(exactJsonText(1.5)).toBe('1.5');
  });
});
