import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlainChangeEvent } from '../../src/events/change-event.js';
import type { ChangeEvent, SourceEvent, SourceInfo } from '../../src/events/source-event.js';
import { EventLineEncoder } from '../../src/output/event-lines.js';
import { LineBuffer } from '../../src/output/line-buffer.js';
import { NativeLineWriter } from '../../src/output/native-line.js';
import { createRowBuilder } from '../../src/values/row-builder.js';
import { JsonText } from '../../src/values/json-text.js';
import type { Row } from '../../src/values/value.js';
import { snapshotSource, streamSource, usersDropped } from './events.js';

/**
 * The `native` encoding as it was before the line writer: the whole event through JSON.stringify,
 * with a replacer for bigints, bytes and non-finite numbers when a row holds one. The writer must
 * give these bytes for every event, or throw where this throws.
 */
function referenceLine(event: SourceEvent): string {
  const plain = event.kind === 'change' && isNative(event.key) && isNative(event.before) && isNative(event.after);
  return plain ? JSON.stringify(event) : JSON.stringify(event, replacer);
}

function isNative(value: unknown): boolean {
  if (typeof value === 'bigint') return false;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  if (value instanceof Uint8Array) return false;
  if (Array.isArray(value)) return value.every(isNative);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  return Object.values(value).every(isNative);
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  const original = this[key];
  if (original instanceof Uint8Array) return Buffer.from(original).toString('base64');
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

function referenceText(events: readonly SourceEvent[]): string {
  return events
    .filter((e) => e.kind !== 'heartbeat')
    .map((e) => `${referenceLine(e)}\n`)
    .join('');
}

/** What `f` returns, or the error's class and message when it throws. */
function outcome(f: () => string): string {
  try {
    return f();
  } catch (error) {
    return `threw ${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

// Every kind of value a row can hold, including what JSON cannot (bigint, bytes, NaN, ±Infinity, -0)
// and what has its own toJSON (JsonText, Date, Buffer).
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
  fc.bigInt(),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
  fc.string().map((t) => new JsonText(t)),
  fc.integer({ min: 0, max: 4e12 }).map((ms) => new Date(ms)),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }), tie('o')),
  o: fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 3 }),
})).v;
const columnName = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'toJSON', 'id', '0', 'kind'));
const columns = fc.uniqueArray(columnName, { minLength: 1, maxLength: 5 });

/** A row as adapters build them: by the table's row constructor, so also with a `__proto__` column. */
const row = columns.chain((names) =>
  fc.array(value, { minLength: names.length, maxLength: names.length }).map((values) => {
    return createRowBuilder(names)(values as never) as Row;
  }),
);

const source: fc.Arbitrary<SourceInfo> = fc.oneof(
  fc.constantFrom(snapshotSource, streamSource),
  fc.record({
    connector: fc.constantFrom('postgres', 'mysql', 'mongo"db'),
    table: fc.string({ unit: 'binary', maxLength: 8 }),
    tableId: fc.oneof(
      fc.constant(snapshotSource.tableId),
      fc.record({ schema: fc.string({ maxLength: 4 }), name: fc.string({ maxLength: 4 }) }),
    ),
    opTs: fc.oneof(fc.constant(null), fc.integer(), fc.double()),
    offset: fc.oneof(fc.constant(null), fc.jsonValue(), value),
    txId: fc.oneof(fc.constant(null), fc.string({ maxLength: 6 }), fc.integer()),
    snapshot: fc.boolean(),
  }) as fc.Arbitrary<SourceInfo>,
);

const op = fc.constantFrom('r', 'c', 'u', 'd') as fc.Arbitrary<ChangeEvent['op']>;
const beforeImage = fc.constantFrom('full', 'key', 'none') as fc.Arbitrary<ChangeEvent['beforeImage']>;
const unknownColumns = fc.oneof(fc.constant([] as string[]), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }));

/** Change events as the core makes them: the shape the writer serialises piece by piece. */
const coreChange = fc
  .tuple(op, row, fc.option(row), fc.option(row), beforeImage, unknownColumns, source)
  .map(
    ([o, key, before, after, image, unknown, s]) =>
      new PlainChangeEvent(o, key, before, after, image, unknown, s) as SourceEvent,
  );

/** An object whose `toJSON` is a class method: not enumerable, so no key shows it. */
class Custom {
  toJSON(): unknown {
    return { custom: true };
  }
}

/** Change events of other shapes: properties reordered, missing, extra or odd; they take the general way. */
const oddChange = fc.tuple(coreChange, fc.integer({ min: 0, max: 8 }), value).map(([event, how, extra]) => {
  const e = { ...(event as ChangeEvent) } as Record<string, unknown>;
  switch (how) {
    case 0:
      return Object.fromEntries(Object.entries(e).reverse()) as unknown as SourceEvent;
    case 1:
      e.extra = extra;
      return e as unknown as SourceEvent;
    case 2:
      e.before = undefined;
      return e as unknown as SourceEvent;
    case 3:
      e.op = extra;
      return e as unknown as SourceEvent;
    case 4:
      e.key = extra;
      return e as unknown as SourceEvent;
    case 5:
      e.unknownColumns = [extra];
      return e as unknown as SourceEvent;
    case 6:
      return Object.assign(new Custom(), e) as unknown as SourceEvent;
    case 7:
      e.source = Object.assign(new Custom(), e.source);
      return e as unknown as SourceEvent;
    default:
      return Object.assign(Object.create({ inherited: 1 }), e) as SourceEvent;
  }
});

const otherEvent: fc.Arbitrary<SourceEvent> = fc.oneof(
  source.map((s) => ({ kind: 'truncate', table: s.table, source: s }) as SourceEvent),
  fc.constant({ kind: 'heartbeat', offset: { lsn: '0/1' }, at: 1 } as SourceEvent),
  source.map((s) => usersDropped(s) as SourceEvent),
);

/** Runs of events, some sharing one source object as a snapshot chunk's events do. */
const batch = fc
  .array(fc.oneof({ weight: 6, arbitrary: coreChange }, { weight: 2, arbitrary: oddChange }, otherEvent), {
    maxLength: 12,
  })
  .chain((events) =>
    fc.array(fc.boolean(), { minLength: events.length, maxLength: events.length }).map((share) =>
      events.map((e, i) => {
        const previous = events[i - 1];
        if (!share[i] || i === 0 || e.kind !== 'change' || previous === undefined || previous.kind === 'heartbeat')
          return e;
        return { ...e, source: previous.source } as SourceEvent;
      }),
    ),
  );

describe('NativeLineWriter', () => {
  it('writes every event byte for byte as JSON.stringify of the whole event does (property)', () => {
    fc.assert(
      fc.property(fc.array(batch, { minLength: 1, maxLength: 3 }), (batches) => {
        // One encoder across batches: the cached source of one batch meets the next.
        const encoder = new EventLineEncoder('native');
        const intoEncoder = new EventLineEncoder('native');
        const out = new LineBuffer();
        for (const events of batches) {
          const want = outcome(() => referenceText(events));
          expect(outcome(() => encoder.encode(events))).toBe(want);
          out.clear();
          expect(
            outcome(() => {
              intoEncoder.encodeInto(events, out);
              return out.bytes().toString('utf8');
            }),
          ).toBe(want);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('writes a pgbench-like snapshot chunk, its events sharing one source, as the reference does', () => {
    const build = createRowBuilder(['aid', 'bid', 'abalance', 'filler']);
    const source: SourceInfo = { ...snapshotSource, offset: { commitLsn: '0/F323F60', lsn: '0/0', seq: -1 } };
    const events: SourceEvent[] = [];
    for (let aid = 1; aid <= 500; aid++) {
      const after = build([aid, 1, aid % 1000, String(aid).padEnd(84, 'x')]);
      events.push(new PlainChangeEvent('r', { aid }, null, after, 'none', [], source));
    }
    const out = new LineBuffer();
    new EventLineEncoder('native').encodeInto(events, out);
    expect(out.bytes().toString('utf8')).toBe(referenceText(events));
    expect(out.bytes().toString('utf8').split('\n')[0]).toBe(
      `{"kind":"change","op":"r","key":{"aid":1},"before":null,"after":{"aid":1,"bid":1,"abalance":1,"filler":"1${'x'.repeat(83)}"},"beforeImage":"none","unknownColumns":[],"source":{"connector":"postgres","table":"shop.public.users","tableId":{"database":"shop","schema":"public","name":"users"},"opTs":1717243100000,"offset":{"commitLsn":"0/F323F60","lsn":"0/0","seq":-1},"txId":null,"snapshot":true}}`,
    );
  });

  it('writes text outside ASCII as UTF-8, also past the buffer it started with', () => {
    const writer = new NativeLineWriter();
    const out = new LineBuffer();
    const events = Array.from(
      { length: 3000 },
      (_, i) =>
        new PlainChangeEvent('c', { id: i }, null, { id: i, name: `é😀\u{10FFFF}${i}` }, 'none', [], streamSource),
    );
    for (const e of events) writer.writeLine(e, out);
    expect(out.bytes().toString('utf8')).toBe(referenceText(events));
    out.clear();
    expect(out.length).toBe(0);
  });

  it('throws where JSON.stringify of the whole event throws (a bigint in the source)', () => {
    const event = new PlainChangeEvent('c', { id: 1 }, null, { id: 1 }, 'none', [], {
      ...streamSource,
      offset: 5n as never,
    });
    expect(() => new NativeLineWriter().line(event)).toThrow(TypeError);
  });
});
