import { describe, expect, it } from 'vitest';
import { createRowBuilder, decodedBatches, primaryKeyRowOf } from '../../src/index.js';

describe('createRowBuilder', () => {
  it('builds rows with the columns in order', () => {
    const build = createRowBuilder(['id', 'name', 'at']);
    expect(build([1, 'a', null])).toEqual({ id: 1, name: 'a', at: null });
    expect(Object.keys(build([2, 'b', 'c']))).toEqual(['id', 'name', 'at']);
  });

  it('builds plain objects', () => {
    const row = createRowBuilder(['id', 'name'])([1, 'a']);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(row.constructor).toBe(Object);
    expect(structuredClone(row)).toStrictEqual(row);
    expect(JSON.stringify(row)).toBe('{"id":1,"name":"a"}');
  });

  it('gives every row its own object', () => {
    const build = createRowBuilder(['id']);
    const a = build([1]);
    const b = build([2]);
    expect(a).not.toBe(b);
    expect([a, b]).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('takes any column name as a plain key, never as code', () => {
    const names = ['a b', 'x"}; throw new Error("injected"); ({"', '1', 'constructor', '', 'ü\n'];
    const row = createRowBuilder(names)([1, 2, 3, 4, 5, 6]);
    expect(Object.entries(row)).toEqual([
      ['1', 3],
      ['a b', 1],
      ['x"}; throw new Error("injected"); ({"', 2],
      ['constructor', 4],
      ['', 5],
      ['ü\n', 6],
    ]);
  });

  it('stores __proto__ as an own column, not as the prototype', () => {
    const polluted = createRowBuilder(['__proto__'])([{ polluted: true } as never]);
    expect(Object.getPrototypeOf(polluted)).toBe(Object.prototype);
    const row = createRowBuilder(['id', '__proto__'])([1, 'p']);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.hasOwn(row, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('p');
    expect(Object.keys(row)).toEqual(['id', '__proto__']);
  });

  it('keeps the last value of a repeated name', () => {
    expect(createRowBuilder(['id', 'id'])([1, 2])).toEqual({ id: 2 });
  });

  it('an empty column list gives empty rows', () => {
    expect(createRowBuilder([])([])).toEqual({});
  });
});

describe('primaryKeyRowOf', () => {
  const table = (primaryKey: string[]) => ({
    id: { name: 't' },
    columns: [],
    primaryKey,
    chunkKey: primaryKey,
  });

  it('gives the key columns of a row, in key order, null for missing ones, as a plain object', () => {
    const schema = table(['b', 'a', '__proto__', 'z']);
    const key = primaryKeyRowOf(schema, { a: 1, b: 'x', c: 3, ['__proto__']: 'p' } as never);
    expect(Object.entries(key)).toEqual([
      ['b', 'x'],
      ['a', 1],
      ['__proto__', 'p'],
      ['z', null],
    ]);
    expect(Object.getPrototypeOf(key)).toBe(Object.prototype);
    const again = primaryKeyRowOf(schema, { a: 2, b: 'y' });
    expect(again).not.toBe(key);
    expect(Object.entries(key)[1]).toEqual(['a', 1]);
  });
});

describe('decodedBatches', () => {
  it('decodes undecoded rows into batches of the size asked for, in order', async () => {
    async function* undecoded() {
      for (const n of [3, 0, 5, 1]) {
        const base = n * 100;
        yield { count: n, decode: () => Array.from({ length: n }, (_, i) => ({ id: base + i })) };
      }
    }
    const batches: number[][] = [];
    for await (const b of decodedBatches(undecoded(), 4)) batches.push(b.map((r) => r.id as number));
    expect(batches.map((b) => b.length)).toEqual([4, 4, 1]);
    expect(batches.flat()).toEqual([300, 301, 302, 500, 501, 502, 503, 504, 100]);
  });
});
