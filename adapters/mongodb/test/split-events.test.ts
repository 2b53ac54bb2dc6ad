import { describe, expect, it } from 'vitest';
import { joinFragments, splitOf } from '../src/log/split-events.js';

describe('split change events', () => {
  it('joins fragments into the whole event, with the last fragment token', () => {
    const fragments = [
      { _id: { _data: 'a' }, splitEvent: { fragment: 1, of: 2 }, operationType: 'update', fullDocument: { x: 1 } },
      { _id: { _data: 'b' }, splitEvent: { fragment: 2, of: 2 }, fullDocumentBeforeChange: { x: 0 } },
    ];
    expect(splitOf(fragments[0] as never)).toEqual({ fragment: 1, of: 2 });
    expect(splitOf({ _id: {} })).toBeNull();
    expect(joinFragments(fragments)).toEqual({
      _id: { _data: 'b' },
      operationType: 'update',
      fullDocument: { x: 1 },
      fullDocumentBeforeChange: { x: 0 },
    });
  });

  it('refuses fragments out of order', () => {
    expect(() =>
      joinFragments([
        { _id: {}, splitEvent: { fragment: 2, of: 2 } },
        { _id: {}, splitEvent: { fragment: 1, of: 2 } },
      ]),
    ).toThrow(/out of order/);
  });
});
