import { PgoutputPlugin } from 'pg-logical-replication';
import { describe, expect, it } from 'vitest';
import { parseLsn } from '../src/offsets/lsn.js';
import { RawTextPgoutput, type Tuple } from '../src/pgoutput.js';

/** pgoutput messages built by hand (protocol version 1). */
const int8 = (v: number) => Buffer.from([v & 0xff]);
const int16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const int64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), int8(0)]);
const char = (c: string) => int8(c.charCodeAt(0));

type Value = string | null | 'unchanged';
const tuple = (values: readonly Value[]) =>
  Buffer.concat([
    int16(values.length),
    ...values.map((v) => {
      if (v === null) return char('n');
      if (v === 'unchanged') return char('u');
      const bytes = Buffer.from(v, 'utf8');
      return Buffer.concat([char('t'), int32(bytes.length), bytes]);
    }),
  ]);

const OID = 16_385;
const relation = Buffer.concat([
  char('R'),
  int32(OID),
  cstr('public'),
  cstr('t'),
  char('d'),
  int16(3),
  ...[
    [1, 'id', 20],
    [0, 'name', 25],
    [0, 'big', 25],
  ].flatMap(([flags, name, type]) => [int8(flags as number), cstr(name as string), int32(type as number), int32(-1)]),
]);
const insert = (values: Value[]) => Buffer.concat([char('I'), int32(OID), char('N'), tuple(values)]);
const update = (old: ['K' | 'O', Value[]] | null, values: Value[]) =>
  Buffer.concat([
    char('U'),
    int32(OID),
    ...(old === null ? [] : [char(old[0]), tuple(old[1])]),
    char('N'),
    tuple(values),
  ]);
const del = (kind: 'K' | 'O', values: Value[]) => Buffer.concat([char('D'), int32(OID), char(kind), tuple(values)]);

/** The library's tuple (by column name, values as text) by column position, as RawTextPgoutput gives it. */
function byPosition(record: Record<string, unknown> | null, keyOnly = false): Tuple | null {
  if (record === null) return null;
  return ['id', 'name', 'big'].map((c) => {
    const v = record[c] as string | null | undefined;
    // The library drops the key tuple's non-key columns; they arrive as null.
    return keyOnly && v === undefined ? null : v;
  });
}

describe('RawTextPgoutput', () => {
  const cases: [string, Buffer][] = [
    ['insert', insert(['1', 'héllo ✓', null])],
    ['insert, fewer columns than the relation', insert(['1', 'x'])],
    ['update, key unchanged', update(null, ['1', 'b', 'unchanged'])],
    ['update of the key', update(['K', ['1', null, null]], ['2', 'b', 'unchanged'])],
    ['update, whole old row', update(['O', ['1', 'a', 'big value']], ['1', 'b', 'unchanged'])],
    ['delete by key', del('K', ['1', null, null])],
    ['delete, whole old row', del('O', ['1', 'a', 'unchanged'])],
  ];

  it.each(cases)('parses %s as the library does, by column position', (_name, message) => {
    const library = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
    const ours = new RawTextPgoutput({ protoVersion: 1, publicationNames: ['p'] });
    ours.parseMessage(relation);
    for (const column of (library.parse(relation) as { columns: { parser: unknown }[] }).columns) {
      column.parser = (raw: unknown) => raw;
    }
    const expected = library.parse(message) as unknown as Record<string, unknown>;
    const got = ours.parseMessage(message);
    expect(got.tag).toBe('row');
    if (got.tag !== 'row') return;
    expect(got.op).toBe({ insert: 'c', update: 'u', delete: 'd' }[expected.tag as string]);
    expect(got.relation.relationOid).toBe(OID);
    // A column past the tuple's end reads as undefined, as the library's missing key does.
    const pad = (t: Tuple | null) => (t === null ? null : [t[0], t[1], t[2]]);
    expect(pad(got.new)).toEqual(byPosition((expected.new as Record<string, unknown> | undefined) ?? null));
    expect(pad(got.old)).toEqual(byPosition((expected.old as Record<string, unknown> | undefined) ?? null));
    expect(pad(got.key)).toEqual(byPosition((expected.key as Record<string, unknown> | undefined) ?? null, true));
  });

  it('reads begin and commit as numbers', () => {
    const library = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
    const ours = new RawTextPgoutput({ protoVersion: 1, publicationNames: ['p'] });
    for (const [lsn, time, xid] of [
      [0x16b374d848n, 817_000_123_456_789n, 1234],
      [0n, 0n, -5],
      [0xffffffffffffffffn, 0xfffffffffffffn, 0x7fffffff],
    ] as const) {
      const begin = Buffer.concat([char('B'), int64(lsn), int64(time), int32(xid)]);
      const commit = Buffer.concat([
        char('C'),
        int8(0),
        int64(lsn),
        int64(lsn === 0xffffffffffffffffn ? lsn : lsn + 0x40n),
        int64(time),
      ]);
      const b = library.parse(begin) as unknown as { commitLsn: string | null; commitTime: bigint; xid: number };
      const c = library.parse(commit) as unknown as { commitEndLsn: string | null };
      expect(ours.parseMessage(begin)).toEqual({
        tag: 'begin',
        commitLsn: parseLsn(b.commitLsn ?? '0/0'),
        commitTime: Number(b.commitTime / 1000n),
        // The library reads the xid as signed; transaction ids are unsigned 32-bit (-5 is 2^32 - 5).
        xid: b.xid >>> 0,
      });
      expect(ours.parseMessage(commit)).toEqual({ tag: 'commit', commitEndLsn: parseLsn(c.commitEndLsn ?? '0/0') });
    }
  });

  it('rejects truncated messages and unknown relations', () => {
    const ours = new RawTextPgoutput({ protoVersion: 1, publicationNames: ['p'] });
    expect(() => ours.parseMessage(insert(['1', 'a', 'b']))).toThrow(/missing relation/);
    ours.parseMessage(relation);
    const whole = insert(['1', 'a', 'b']);
    expect(() => ours.parseMessage(whole.subarray(0, whole.length - 1))).toThrow(/unexpected end/);
    expect(() => ours.parseMessage(Buffer.concat([char('B'), int64(1n)]))).toThrow(/unexpected end/);
  });
});
