import { Decimal128 } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { applyUpdate } from '../src/normalize/apply-update.js';

describe('applyUpdate', () => {
  const before = Object.freeze({
    _id: 1,
    name: 'a',
    nested: Object.freeze({ x: 1, y: Object.freeze({ z: 2 }) }),
    items: Object.freeze([1, 2, 3, 4]),
    docs: Object.freeze([Object.freeze({ q: 1 }), Object.freeze({ q: 2 })]),
    gone: true,
  });

  it('sets top-level and dotted fields, creating documents on the way, without touching the before image', () => {
    const after = applyUpdate(before, {
      updatedFields: { name: 'b', 'nested.y.z': 3, 'fresh.deep.k': Decimal128.fromString('1.5') },
    });
    expect(after).toEqual({
      ...before,
      name: 'b',
      nested: { x: 1, y: { z: 3 } },
      fresh: { deep: { k: Decimal128.fromString('1.5') } },
    });
    expect(before.nested.y.z).toBe(2);
  });

  it('indexes arrays with numeric components, pads past the end with nulls, and names fields of documents with them', () => {
    const after = applyUpdate(before, {
      updatedFields: { 'items.1': 20, 'items.6': 7, 'docs.1.q': 9, 'nested.0': 'field named 0' },
    });
    expect(after.items).toEqual([1, 20, 3, 4, null, null, 7]);
    expect(after.docs).toEqual([{ q: 1 }, { q: 9 }]);
    expect(after.nested).toEqual({ x: 1, y: { z: 2 }, 0: 'field named 0' });
  });

  it('removes fields (array elements become null, as $unset makes them)', () => {
    const after = applyUpdate(before, { removedFields: ['gone', 'nested.y', 'items.0', 'missing.path'] });
    expect(after).toEqual({ _id: 1, name: 'a', nested: { x: 1 }, items: [null, 2, 3, 4], docs: before.docs });
  });

  it('truncates arrays before setting elements', () => {
    const after = applyUpdate(before, {
      truncatedArrays: [{ field: 'items', newSize: 2 }],
      updatedFields: { 'items.2': 'new' },
    });
    expect(after.items).toEqual([1, 2, 'new']);
  });

  it('follows disambiguatedPaths for field names with dots or digits', () => {
    const doc = { _id: 1, 'a.b': { c: 1 }, arr: { '0': 'x' } };
    const after = applyUpdate(doc, {
      updatedFields: { 'a.b.c': 2, 'arr.0': 'y' },
      disambiguatedPaths: { 'a.b.c': ['a.b', 'c'], 'arr.0': ['arr', '0'] },
    });
    expect(after).toEqual({ _id: 1, 'a.b': { c: 2 }, arr: { '0': 'y' } });
  });
});
