import type { ColumnSchema, TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareCodePoints, compareDecimalStrings as compareDecimals } from '@highwater/core';
import { comparePgKeys } from '../src/compare-keys.js';
import { CopyLineSplitter, splitCopyLine, unescapeCopyField } from '../src/copy-text.js';

const table = (columns: ColumnSchema[]): TableSchema => ({
  id: { schema: 'public', name: 't' },
  columns,
  primaryKey: columns.map((c) => c.name),
  chunkKey: columns.map((c) => c.name),
});

describe('compareKeys', () => {
  it('code-point order (COLLATE "C"), not UTF-16 order', () => {
    // U+FF5E (BMP, above the surrogate range) sorts before U+1F600 in code points; UTF-16 says the opposite.
    expect(compareCodePoints('\uff5e', '😀')).toBeLessThan(0);
    expect('\uff5e' < '😀').toBe(false);
    expect(compareCodePoints('B', 'a')).toBeLessThan(0);
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('', 'a')).toBeLessThan(0);
  });

  it('exact decimals', () => {
    const sorted = [
      '-Infinity',
      '-10.5',
      '-2',
      '-0.001',
      '0',
      '0.0',
      '0.0001',
      '1',
      '1.10',
      '9.99',
      '10',
      'Infinity',
      'NaN',
    ];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareDecimals).map((x) => x)).toEqual(expect.arrayContaining(sorted));
    for (let i = 1; i < sorted.length; i++) {
      expect(compareDecimals(sorted[i - 1] as string, sorted[i] as string)).toBeLessThanOrEqual(0);
    }
    expect(compareDecimals('0', '0.0')).toBe(0);
    expect(compareDecimals('1.10', '1.1')).toBe(0);
    expect(compareDecimals('12345678901234567890.1', '12345678901234567890.09')).toBeGreaterThan(0);
  });

  it('typed composite keys', () => {
    const t = table([
      { name: 'at', type: { kind: 'timestamptz' }, nativeType: 'timestamp with time zone', nullable: false },
      { name: 'n', type: { kind: 'int64' }, nativeType: 'bigint', nullable: false },
      { name: 'b', type: { kind: 'bytes' }, nativeType: 'bytea', nullable: false },
    ]);
    const k = (at: string, n: number | bigint, b: number[]) => [at, n, new Uint8Array(b)];
    expect(comparePgKeys(t, k('2024-01-01T00:00:00Z', 1, [1]), k('2024-01-01T00:00:00.5Z', 0, [0]))).toBeLessThan(0);
    expect(comparePgKeys(t, k('-0043-01-01T00:00:00Z', 1, [1]), k('0001-01-01T00:00:00Z', 0, [0]))).toBeLessThan(0);
    expect(comparePgKeys(t, k('infinity', 1, [1]), k('294276-01-01T00:00:00Z', 0, [0]))).toBeGreaterThan(0);
    expect(
      comparePgKeys(t, k('2024-01-01T00:00:00Z', 9007199254740993n, [1]), k('2024-01-01T00:00:00Z', 2, [0])),
    ).toBeGreaterThan(0);
    expect(comparePgKeys(t, k('2024-01-01T00:00:00Z', 2, [0, 1]), k('2024-01-01T00:00:00Z', 2, [1]))).toBeLessThan(0);
    expect(comparePgKeys(t, k('2024-01-01T00:00:00Z', 2, [1]), k('2024-01-01T00:00:00Z', 2, [1]))).toBe(0);
  });

  it('char(n) ignores trailing blanks; enums follow declaration order', () => {
    const c = table([{ name: 'c', type: { kind: 'string', length: 4 }, nativeType: 'character(4)', nullable: false }]);
    expect(comparePgKeys(c, ['a   '], ['a'])).toBe(0);
    const e = table([
      { name: 'e', type: { kind: 'enum', values: ['zzz', 'aaa'] }, nativeType: 'mood', nullable: false },
    ]);
    expect(comparePgKeys(e, ['zzz'], ['aaa'])).toBeLessThan(0);
  });
});

describe('COPY text format', () => {
  it('unescapes every escape COPY writes', () => {
    expect(unescapeCopyField('a\\tb\\nc\\\\d\\re\\bf\\fg\\vh')).toBe('a\tb\nc\\d\re\bf\fg\vh');
    expect(unescapeCopyField('\\101\\x41\\q')).toBe('AAq');
    expect(unescapeCopyField('plain')).toBe('plain');
    expect(splitCopyLine('1\t\\N\tx\\ty\t')).toEqual(['1', null, 'x\ty', '']);
  });

  it('splits lines across chunk borders, even inside a UTF-8 sequence', () => {
    const text = Buffer.from('1\té😀\n2\tb\n', 'utf8');
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new CopyLineSplitter();
      const lines = [...s.push(text.subarray(0, cut)), ...s.push(text.subarray(cut))];
      s.end();
      expect(lines).toEqual(['1\té😀', '2\tb']);
    }
    const s = new CopyLineSplitter();
    s.push(Buffer.from('1\tpartial'));
    expect(() => s.end()).toThrow();
  });
});
