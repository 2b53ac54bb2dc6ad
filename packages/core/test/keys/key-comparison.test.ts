import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  columnwiseKeyComparator,
  compareCodePoints,
  compareDecimalStrings,
  compareNumeric,
} from '../../src/keys/key-comparison.js';
import type { TableSchema } from '../../src/schema/table-schema.js';

describe('key comparison helpers', () => {
  it('orders strings by code point, not UTF-16 unit', () => {
    expect(compareCodePoints('\uff5e', '😀')).toBeLessThan(0); // JS's < says the opposite
    expect(compareCodePoints('B', 'a')).toBeLessThan(0);
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const byBytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(compareCodePoints(a, b))).toBe(byBytes);
      }),
    );
  });

  it('orders decimal strings exactly, beyond double precision', () => {
    expect(compareDecimalStrings('12345678901234567890.1', '12345678901234567890.09')).toBeGreaterThan(0);
    expect(compareDecimalStrings('-10.50', '2')).toBeLessThan(0);
    expect(compareDecimalStrings('1.10', '1.1')).toBe(0);
    expect(compareDecimalStrings('-0.0', '0')).toBe(0);
    expect(compareDecimalStrings('-1.50', '-1.5')).toBe(0); // 0, not -0
    expect(compareDecimalStrings('NaN', 'Infinity')).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (a, b) => {
        expect(Math.sign(compareDecimalStrings((a / 100).toFixed(2), (b / 100).toFixed(2)))).toBe(Math.sign(a - b));
      }),
    );
  });

  it('compares keys column by column, with nulls where the database puts them', () => {
    const table: TableSchema = {
      id: { name: 't' },
      columns: [
        { name: 'a', type: { kind: 'string' }, nativeType: 'text', nullable: false },
        { name: 'b', type: { kind: 'int64' }, nativeType: 'bigint', nullable: true },
      ],
      primaryKey: ['a', 'b'],
      chunkKey: ['a', 'b'],
    };
    const text = (x: unknown, y: unknown) => compareCodePoints(x as string, y as string);
    const first = columnwiseKeyComparator((c) => (c?.type.kind === 'string' ? text : compareNumeric), 'first');
    const last = columnwiseKeyComparator((c) => (c?.type.kind === 'string' ? text : compareNumeric), 'last');
    expect(first(table, ['a', 2], ['a', 10n])).toBeLessThan(0);
    expect(first(table, ['b', 0], ['a', 10])).toBeGreaterThan(0);
    expect(first(table, ['a', null], ['a', 1])).toBeLessThan(0);
    expect(last(table, ['a', null], ['a', 1])).toBeGreaterThan(0);
    expect(first(table, ['a', 1], ['a', 1])).toBe(0);
  });
});
