import type { ChangeEvent, Row, SourceEvent } from '@highwater/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLineEncoder } from '../../src/sinks/event-lines.js';

// The native line format is `JSON.stringify(event)` with values JSON cannot hold written as Debezium
// shows them (bigint as its decimal string, bytes as base64, NaN/±Infinity as strings). The encoder
// writes change events in one pass instead; this is the format's definition it must match exactly.
function reference(event: SourceEvent): string {
  return `${JSON.stringify(event, function (this: Record<string, unknown>, key: string, value: unknown) {
    if (typeof value === 'bigint') return value.toString();
    const original = this[key];
    if (original instanceof Uint8Array) return Buffer.from(original).toString('base64');
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    return value;
  })}\n`;
}

const json = fc.jsonValue({ maxDepth: 2 });
const value = fc.oneof(
  fc.string(),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
  fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.bigInt()), { maxLength: 3 }),
  json,
);
const columnName = fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('1', '10', 'id', '"q"', 'é'));
const row: fc.Arbitrary<Row> = fc.dictionary(columnName, value, { maxKeys: 6 }) as fc.Arbitrary<Row>;
const source = fc.record({
  connector: fc.constantFrom('postgres', 'mysql'),
  table: fc.string(),
  tableId: fc.record({ schema: fc.string(), name: fc.string() }),
  opTs: fc.oneof(fc.integer(), fc.constant(null)),
  offset: json,
  txId: fc.oneof(fc.string(), fc.constant(null)),
  snapshot: fc.boolean(),
});
const change = fc.record({
  kind: fc.constant('change' as const),
  op: fc.constantFrom('r' as const, 'c' as const, 'u' as const, 'd' as const),
  key: row,
  before: fc.oneof(row, fc.constant(null)),
  after: fc.oneof(row, fc.constant(null)),
  beforeImage: fc.constantFrom('full' as const, 'key' as const, 'none' as const),
  unknownColumns: fc.array(fc.string(), { maxLength: 2 }),
  source,
}) as unknown as fc.Arbitrary<ChangeEvent>;

describe('EventLineEncoder (native)', () => {
  it('writes change events exactly as JSON.stringify with the plain-value forms', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 4 }), (events) => {
        const encoder = new EventLineEncoder('native');
        expect(encoder.encode(events)).toBe(events.map(reference).join(''));
      }),
      { numRuns: 300 },
    );
  });

  it('writes events sharing one source object (a snapshot chunk) each with that source', () => {
    const shared = {
      connector: 'postgres',
      table: 't',
      tableId: { name: 't' },
      opTs: 1,
      offset: 'a',
      txId: null,
      snapshot: true,
    };
    const events: ChangeEvent[] = [1, 2].map((id) => ({
      kind: 'change',
      op: 'r',
      key: { id },
      before: null,
      after: { id, v: `${id}` },
      beforeImage: 'none',
      unknownColumns: [],
      source: shared,
    }));
    const encoder = new EventLineEncoder('native');
    expect(encoder.encode(events)).toBe(events.map(reference).join(''));
    const moved = { ...events[0]!, source: { ...shared, offset: 'b' } };
    expect(encoder.encode([moved])).toBe(reference(moved));
  });
});
