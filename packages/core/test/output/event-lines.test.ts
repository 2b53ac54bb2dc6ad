import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../src/events/source-event.js';
import { JsonText } from '../../src/values/json-text.js';
import { EventLineEncoder, toEventJson } from '../../src/output/event-lines.js';

const event = (after: Record<string, unknown>): ChangeEvent =>
  ({
    kind: 'change',
    op: 'c',
    key: { id: 1 },
    before: null,
    after,
    beforeImage: 'none',
    unknownColumns: [],
    source: {
      connector: 'memory',
      table: 's.t',
      tableId: { schema: 's', name: 't' },
      opTs: 1,
      offset: 7,
      txId: null,
      snapshot: false,
    },
  }) as ChangeEvent;

const line = (after: Record<string, unknown>) =>
  JSON.parse(new EventLineEncoder('native').encode([event(after)])) as { after: unknown };

describe('EventLineEncoder (native)', () => {
  it('writes values JSON cannot hold as strings also deep inside arrays and objects', () => {
    expect(
      line({ id: 1, tags: [1n, new Uint8Array([255])], doc: { n: Number.POSITIVE_INFINITY, list: [[2n]] } }).after,
    ).toEqual({ id: 1, tags: ['1', '/w=='], doc: { n: 'Infinity', list: [['2']] } });
  });

  it('writes plain rows as JSON.stringify does, JsonText and dates by their own toJSON', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const after = { id: 1, name: 'x', ok: true, none: null, arr: [1, 'a'], doc: new JsonText('{"a": 1}'), at };
    expect(new EventLineEncoder('native').encode([event(after)])).toBe(`${JSON.stringify(event(after))}\n`);
    expect(line(after).after).toMatchObject({ doc: '{"a": 1}', at: '2026-01-02T03:04:05.000Z' });
  });

  it('encodes a key for a header the same way', () => {
    expect(toEventJson({ id: 12345678901234567890n })).toBe('{"id":"12345678901234567890"}');
    expect(toEventJson({ id: 3, code: 'a' })).toBe('{"id":3,"code":"a"}');
  });
});
