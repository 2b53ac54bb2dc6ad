import { Double, Int32, Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { applyUpdate } from '../src/mongodb/update.js';

// Update operators of the MongoDB simulator and the update descriptions its change events carry.
describe('MongoDB simulator update operators', () => {
  const base = () => ({ _id: 1, n: new Int32(2), tags: ['a', 'b', 'c'], nested: { x: 1, y: 2 }, gone: true });

  it('reports $set on a dotted path, $unset and $rename by path', () => {
    const result = applyUpdate(base(), {
      $set: { 'nested.x': 5 },
      $unset: { gone: '' },
      $rename: { 'nested.y': 'moved' },
    });
    expect(result).toEqual({
      kind: 'update',
      after: { _id: 1, n: new Int32(2), tags: ['a', 'b', 'c'], nested: { x: 5 }, moved: 2 },
      description: {
        updatedFields: { 'nested.x': 5, moved: 2 },
        removedFields: ['gone', 'nested.y'],
        truncatedArrays: [],
      },
    });
  });

  it('keeps Int32 arithmetic Int32, widens to Int64 on overflow and to Double with a double operand', () => {
    expect(applyUpdate(base(), { $inc: { n: new Int32(3) } })?.after.n).toEqual(new Int32(5));
    expect(applyUpdate(base(), { $inc: { n: new Int32(2147483647) } })?.after.n).toEqual(Long.fromNumber(2147483649));
    expect(applyUpdate(base(), { $mul: { n: new Double(1.5) } })?.after.n).toEqual(new Double(3));
    expect(() => applyUpdate(base(), { $inc: { tags: new Int32(1) } })).toThrow(/non-numeric/);
  });

  it('reports appended elements by index, and shrunk arrays whole', () => {
    expect(applyUpdate(base(), { $push: { tags: { $each: ['d', 'e'] } } })).toMatchObject({
      description: { updatedFields: { 'tags.3': 'd', 'tags.4': 'e' } },
    });
    expect(applyUpdate(base(), { $addToSet: { tags: 'a' } })).toBeUndefined(); // nothing changed
    expect(applyUpdate(base(), { $pull: { tags: 'b' } })).toMatchObject({
      description: { updatedFields: { tags: ['a', 'c'] } },
    });
    expect(applyUpdate(base(), { $pop: { tags: -1 } })).toMatchObject({ after: { tags: ['b', 'c'] } });
  });

  it('applies $min and $max only when they move the value', () => {
    expect(applyUpdate(base(), { $min: { n: new Int32(5) } })).toBeUndefined();
    expect(applyUpdate(base(), { $max: { n: new Int32(5) } })?.after.n).toEqual(new Int32(5));
  });

  it('describes a pipeline update by diff, with truncated arrays', () => {
    const result = applyUpdate(base(), [{ $set: { tags: { $slice: ['$tags', 1] }, 'nested.z': { $literal: '$x' } } }]);
    expect(result).toMatchObject({
      description: {
        updatedFields: { 'nested.z': '$x' },
        removedFields: [],
        truncatedArrays: [{ field: 'tags', newSize: 1 }],
      },
    });
  });

  it('refuses to change _id', () => {
    expect(() => applyUpdate(base(), { $set: { _id: 2 } })).toThrow(/immutable field '_id'/);
    expect(() => applyUpdate(base(), { _id: 2, v: 1 })).toThrow(/_id field cannot be changed/);
    expect(applyUpdate(base(), { v: 1 })).toEqual({ kind: 'replace', after: { _id: 1, v: 1 } });
  });
});
