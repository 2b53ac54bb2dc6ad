import { describe, expect, it } from 'vitest';
import { HighwaterError } from '../../src/errors/errors.js';
import { toRowKinds } from '../../src/output/row-kinds.js';
import type { Row } from '../../src/values/value.js';
import { change } from './events.js';

const alice: Row = { id: 1, name: 'Alice', email: 'alice@example.com' };
const alice2: Row = { id: 1, name: 'Alice B.', email: 'alice@example.com' };

describe('toRowKinds', () => {
  it('maps a snapshot read to +I with the after-image', () => {
    expect(toRowKinds(change('r', { after: alice }))).toEqual([{ kind: '+I', row: alice }]);
  });

  it('maps an insert to +I with the after-image', () => {
    expect(toRowKinds(change('c', { after: alice }))).toEqual([{ kind: '+I', row: alice }]);
  });

  it('maps an update to -U with the before-image, then +U with the after-image', () => {
    expect(toRowKinds(change('u', { before: alice, after: alice2 }))).toEqual([
      { kind: '-U', row: alice },
      { kind: '+U', row: alice2 },
    ]);
  });

  it('maps a delete to -D with the before-image', () => {
    expect(toRowKinds(change('d', { before: alice }))).toEqual([{ kind: '-D', row: alice }]);
  });

  it('gives -U the key-only row when the before-image holds only the key', () => {
    const event = change('u', { before: { id: 1 }, after: alice2 }, { beforeImage: 'key' });
    const [minus, plus] = toRowKinds(event);
    expect(minus).toEqual({ kind: '-U', row: { id: 1 } });
    expect(Object.keys(minus?.row ?? {})).toEqual(['id']);
    expect(plus).toEqual({ kind: '+U', row: alice2 });
  });

  it('gives -D the key-only row when the before-image holds only the key', () => {
    const event = change('d', { before: { id: 1 } }, { beforeImage: 'key' });
    expect(toRowKinds(event)).toEqual([{ kind: '-D', row: { id: 1 } }]);
  });

  it('falls back to the event key when an update or delete has no before-image', () => {
    const update = change('u', { after: alice2, key: { id: 1 } });
    expect(toRowKinds(update)).toEqual([
      { kind: '-U', row: { id: 1 } },
      { kind: '+U', row: alice2 },
    ]);
    const remove = change('d', { key: { tenant: 'ü', id: 7n } });
    expect(toRowKinds(remove)).toEqual([{ kind: '-D', row: { tenant: 'ü', id: 7n } }]);
  });

  it('hands out the event rows themselves, values untouched: unicode, bigint, bytes, nulls', () => {
    const before: Row = {
      id: 9_007_199_254_740_993n,
      name: 'Zoë 🚀 東京 עברית e\u0301',
      photo: new Uint8Array([0, 255, 128]),
      note: null,
      price: '12345678901234567890.0123456789',
    };
    const after: Row = { ...before, note: 'now set', photo: new Uint8Array([]) };
    const [minus, plus] = toRowKinds(change('u', { before, after }));
    expect(minus?.row).toBe(before);
    expect(plus?.row).toBe(after);
    expect(plus?.row.id).toBe(9_007_199_254_740_993n);
    expect(minus?.row.note).toBeNull();
    expect(minus?.row.photo).toEqual(new Uint8Array([0, 255, 128]));
  });

  it('keeps columns the log did not carry absent from +U, never null', () => {
    const after: Row = { id: 1, name: 'Alice B.' };
    const event = change('u', { before: alice, after }, { unknownColumns: ['email'] });
    expect(toRowKinds(event)[1]?.row).toEqual({ id: 1, name: 'Alice B.' });
    expect('email' in (toRowKinds(event)[1]?.row ?? {})).toBe(false);
  });

  it.each(['r', 'c', 'u'] as const)("refuses a '%s' event without an after-image", (op) => {
    const event = change(op, { before: op === 'u' ? alice : null, key: { id: 1 } });
    expect(() => toRowKinds(event)).toThrow(HighwaterError);
    expect(() => toRowKinds(event)).toThrow(expect.objectContaining({ code: 'HW_INVALID_EVENT', retriable: false }));
    expect(() => toRowKinds(event)).toThrow(`a '${op}' event on shop.public.users has no after-image (key ["id"])`);
  });
});
