import { describe, expect, it } from 'vitest';
import { captureRowPackets, type FieldReading, MAX_SHARED_TEXT, readTextRow, RowPacketBatch } from '../src/raw-rows.js';

/** A length-encoded string as the text protocol sends it (or 0xFB for null). */
function field(value: Buffer | null): Buffer {
  if (value === null) return Buffer.from([0xfb]);
  const n = value.length;
  let head: Buffer;
  if (n < 0xfb) head = Buffer.from([n]);
  else if (n < 2 ** 16) {
    head = Buffer.alloc(3);
    head[0] = 0xfc;
    head.writeUInt16LE(n, 1);
  } else if (n < 2 ** 24) {
    head = Buffer.alloc(4);
    head[0] = 0xfd;
    head.writeUIntLE(n, 1, 3);
  } else {
    head = Buffer.alloc(9);
    head[0] = 0xfe;
    head.writeBigUInt64LE(BigInt(n), 1);
  }
  return Buffer.concat([head, value]);
}

function read(row: Buffer, reading: FieldReading[]): (string | Buffer | null)[] {
  const out: (string | Buffer | null)[] = new Array(reading.length).fill(null);
  // Inside a larger buffer, as packets are.
  const framed = Buffer.concat([Buffer.from('head'), row, Buffer.from('tail')]);
  readTextRow(framed, 4, 4 + row.length, reading, out);
  return out;
}

describe('text-protocol rows read from their bytes', () => {
  it('reads ASCII, UTF-8, bytes and NULL fields of every length encoding', () => {
    const long = 'ü'.repeat(40_000); // 80,000 bytes: a 3-byte length
    const mid = 'x'.repeat(300); // a 2-byte length
    const bytes = Buffer.from([0, 1, 2, 255]);
    const row = Buffer.concat([
      field(Buffer.from('-12.50')),
      field(Buffer.from('é😀')),
      field(null),
      field(bytes),
      field(Buffer.from(mid)),
      field(Buffer.from(long)),
      field(Buffer.from('')),
    ]);
    const out = read(row, ['ascii', 'text', 'text', 'bytes', 'text', 'text', 'text']);
    expect(out.slice(0, 3)).toEqual(['-12.50', 'é😀', null]);
    expect(out[3]).toEqual(bytes);
    expect(out.slice(4)).toEqual([mid, long, '']);
  });

  it('copies bytes fields out of the packet', () => {
    const row = field(Buffer.from([7, 8]));
    const framed = Buffer.concat([row]);
    const out: (string | Buffer | null)[] = [null];
    readTextRow(framed, 0, framed.length, ['bytes'], out);
    framed.fill(0);
    expect(out[0]).toEqual(Buffer.from([7, 8]));
  });

  it('reads an 8-byte length', () => {
    const big = Buffer.alloc(2 ** 24 + 3, 0x61);
    const out = read(field(big), ['ascii']);
    expect((out[0] as string).length).toBe(2 ** 24 + 3);
  });

  it('rejects rows that do not match their column count', () => {
    const two = Buffer.concat([field(Buffer.from('1')), field(Buffer.from('2'))]);
    expect(() => read(two, ['ascii'])).toThrow(/1 bytes after its 1 fields|2 bytes after/);
    expect(() => read(two, ['ascii', 'ascii', 'ascii'])).toThrow(/ends before field 3 of 3/);
    expect(() => read(Buffer.from([5, 0x61]), ['ascii'])).toThrow(/runs past the end/);
    expect(() => read(Buffer.from([0xff]), ['ascii'])).toThrow(/starts with 0xff/);
  });
});

describe('row packet batches', () => {
  it('keeps every row in order, growing past their first size', () => {
    const batch = new RowPacketBatch(2);
    const rows = Array.from({ length: 500 }, (_, i) => Buffer.from(`row ${i} ${'z'.repeat(i)}`));
    for (const r of rows) {
      const framed = Buffer.concat([Buffer.from('hdr!'), r, Buffer.from('next')]);
      batch.add(framed, 4, 4 + r.length);
    }
    expect(batch.count).toBe(500);
    const seen: string[] = [];
    batch.forEach((bytes, start, end) => {
      seen.push(bytes.toString('utf8', start, end));
    });
    expect(seen).toEqual(rows.map((r) => r.toString()));
  });

  it('reads rows of several packets per buffer from one latin1 text per buffer, as from their bytes', () => {
    const values = (i: number): Buffer[] => [
      Buffer.from(String(i * 7)),
      Buffer.from(i % 3 === 0 ? `naïve ${i} ✓` : `plain ${i}`),
      Buffer.from('x'.repeat(i % 5 === 0 ? 300 : 20)), // a 2-byte length now and then
      Buffer.from([i & 0xff, 0xfe, 0x80]),
      Buffer.from(`2026-01-0${1 + (i % 9)} 10:00:00.000001`),
    ];
    const reading: FieldReading[] = ['integer', 'text', 'text', 'bytes', 'ascii'];
    // Three "socket reads", each holding a header, several row packets and a tail.
    const packets = Array.from({ length: 30 }, (_, i) => Buffer.concat(values(i).map((v) => field(v))));
    const batch = new RowPacketBatch(4);
    for (let read = 0; read < 3; read++) {
      const pieces: Buffer[] = [Buffer.from('hdr!')];
      const bounds: [number, number][] = [];
      let at = 4;
      for (const packet of packets.slice(read * 10, read * 10 + 10)) {
        pieces.push(packet, Buffer.from([0xe9, 0, 0, 0])); // a non-ASCII byte between packets
        bounds.push([at, at + packet.length]);
        at += packet.length + 4;
      }
      const buffer = Buffer.concat(pieces);
      for (const [start, end] of bounds) batch.add(buffer, start, end);
    }
    const fromText: unknown[][] = [];
    const fromBytes: unknown[][] = [];
    batch.forEach((bytes, start, end, text, textStart) => {
      if (text === null) throw new Error('small reads share their text');
      for (let i = start; i < end; i++) expect(text.charCodeAt(i - textStart)).toBe(bytes[i]);
      const a: (string | number | Buffer | null)[] = new Array(5).fill(null);
      const b: (string | number | Buffer | null)[] = new Array(5).fill(null);
      readTextRow(bytes, start, end, reading, a, text, textStart);
      readTextRow(bytes, start, end, reading, b);
      fromText.push(a);
      fromBytes.push(b);
    });
    expect(fromText).toHaveLength(30);
    expect(fromText).toEqual(fromBytes);
    expect(fromText[3]).toEqual([
      21,
      'naïve 3 ✓',
      'x'.repeat(20),
      Buffer.from([3, 0xfe, 0x80]),
      '2026-01-04 10:00:00.000001',
    ]);
  });

  it('reads the rows of a buffer larger than the shared text from their bytes (no string of a large blob)', () => {
    const blob = Buffer.alloc(MAX_SHARED_TEXT + 10, 0xe9);
    const big = Buffer.concat([field(Buffer.from('1')), field(blob), field(Buffer.from('naïve'))]);
    const small = Buffer.concat([field(Buffer.from('2')), field(null), field(Buffer.from('plain'))]);
    const buffer = Buffer.concat([Buffer.from('hdr!'), big, small]);
    const batch = new RowPacketBatch(2);
    batch.add(buffer, 4, 4 + big.length);
    batch.add(buffer, 4 + big.length, buffer.length);
    const reading: FieldReading[] = ['integer', 'bytes', 'text'];
    const got: unknown[][] = [];
    batch.forEach((bytes, start, end, text, textStart) => {
      expect(text).toBeNull();
      const out: (string | number | Buffer | null)[] = [null, null, null];
      readTextRow(bytes, start, end, reading, out, text, textStart);
      got.push(out);
    });
    expect(got).toEqual([
      [1, blob, 'naïve'],
      [2, null, 'plain'],
    ]);
  });
});

/**
 * A stand-in for mysql2's `Query` command: `fieldsEOF` returns the `row` state as mysql2's does, and
 * its own `row` (the end of the result, which the capture leaves to mysql2) hands the packet to `onEnd`.
 */
function fakeQuery<P>(onEnd: (packet: P) => void = () => undefined) {
  class FakeQuery {
    fieldsEOF() {
      return (this as unknown as { row: unknown }).row;
    }
    row(packet: P) {
      onEnd(packet);
      return null;
    }
  }
  const query = new FakeQuery();
  /** The state `fieldsEOF` leads to, called as mysql2 calls it. */
  const rowState = (packet: unknown, connection: unknown) =>
    (query.fieldsEOF() as (p: unknown, c: unknown) => unknown).call(query, packet, connection);
  return { query, rowState };
}

describe('capturing row packets from mysql2', () => {
  it('refuses a Query without the states it replaces, instead of reading nothing', () => {
    const notAQuery = Object.create({ fieldsEOF() {} });
    expect(() => captureRowPackets(notAQuery, () => undefined)).toThrow(/mysql2 changed/);
  });

  it('hands row packets over and leaves the end of the result to mysql2', () => {
    const ends: unknown[] = [];
    const { query } = fakeQuery<unknown>((packet) => ends.push(packet));
    const rows: string[] = [];
    captureRowPackets(query as never, (bytes, start, end) => rows.push(bytes.toString('utf8', start, end)));
    const state = query.fieldsEOF() as (p: unknown, c: unknown) => unknown;
    const packet = (text: string, eof = false) => ({
      buffer: Buffer.from(`....${text}`),
      offset: 4,
      end: 4 + text.length,
      isEOF: () => eof,
    });
    const next = state.call(query, packet('a'), null);
    expect(next).toBe(state);
    state.call(query, packet('b'), null);
    expect(state.call(query, packet('', true), null)).toBeNull();
    expect(rows).toEqual(['a', 'b']);
    expect(ends).toHaveLength(1);
  });

  it("takes rows from the connection's packet parser after the first, until the result ends", () => {
    const ends: string[] = [];
    const { query, rowState } = fakeQuery<{ buffer: Buffer; offset: number; end: number }>((packet) =>
      ends.push(packet.buffer.toString('latin1', packet.offset, packet.end)),
    );
    const packet = (payload: Buffer, numPackets = 1) => ({
      buffer: Buffer.concat([Buffer.from('....'), payload]),
      offset: 4,
      end: 4 + payload.length,
      numPackets,
      isEOF: () => payload[0] === 0xfe && payload.length < 13,
    });
    type Packet = ReturnType<typeof packet>;
    const dispatched: string[] = [];
    const connection = {
      sequenceId: 3,
      packetParser: {
        packetHeaderLength: 4,
        onPacket: (p: Packet) => {
          dispatched.push(p.buffer.toString('latin1', p.offset, p.end));
        },
      },
      _bumpSequenceId(n: number) {
        this.sequenceId = (this.sequenceId + n) % 256;
      },
    };
    const mysqlDispatch = connection.packetParser.onPacket;
    const rows: string[] = [];
    captureRowPackets(query as never, (bytes, start, end) => rows.push(bytes.toString('latin1', start, end)));
    // The first row comes through the state (mysql2 counted it); the rest straight from the parser.
    rowState(packet(Buffer.from('\x01a')), connection);
    expect(connection.packetParser.onPacket).not.toBe(mysqlDispatch);
    connection.packetParser.onPacket(packet(Buffer.from('\x01b')));
    connection.packetParser.onPacket(packet(Buffer.from('\x01c'), 2)); // a row joined from two packets
    expect(rows).toEqual(['\x01a', '\x01b', '\x01c']);
    expect(connection.sequenceId).toBe(3 + 1 + 2);
    expect(dispatched).toEqual([]);
    // The end of the result goes to mysql2, and so does everything after it.
    const eof = Buffer.from([0xfe, 0, 0, 2, 0]);
    connection.packetParser.onPacket(packet(eof));
    expect(connection.packetParser.onPacket).toBe(mysqlDispatch);
    expect(dispatched).toEqual([eof.toString('latin1')]);
    expect(connection.sequenceId).toBe(6); // counted by mysql2 itself, not twice
    expect(rows).toHaveLength(3);
  });

  it('with the compressed protocol, takes rows from the parser of the inflated packets, never the frames', () => {
    const frames = { packetHeaderLength: 7, onPacket: () => undefined };
    const inflated = { packetHeaderLength: 4, onPacket: () => undefined };
    const connection = { packetParser: frames, _inflatedPacketsParser: inflated, _bumpSequenceId() {} };
    const [frameDispatch, inflatedDispatch] = [frames.onPacket, inflated.onPacket];
    const { query, rowState } = fakeQuery();
    captureRowPackets(query as never, () => undefined);
    const packet = { buffer: Buffer.from([0, 0, 0, 0, 1, 0x41]), offset: 4, end: 6, numPackets: 1, isEOF: () => false };
    rowState(packet, connection);
    expect(frames.onPacket).toBe(frameDispatch);
    expect(inflated.onPacket).not.toBe(inflatedDispatch);

    // A parser of other frames only (no inflated parser): rows stay on the command's state.
    const alone = { packetParser: { packetHeaderLength: 7, onPacket: frameDispatch }, _bumpSequenceId() {} };
    const other = fakeQuery();
    captureRowPackets(other.query as never, () => undefined);
    other.rowState(packet, alone);
    expect(alone.packetParser.onPacket).toBe(frameDispatch);
  });

  it('hands an error packet in the middle of the rows back to mysql2', () => {
    const dispatched: number[] = [];
    const connection = {
      packetParser: {
        packetHeaderLength: 4,
        onPacket: (p: { buffer: Buffer; offset: number }) => dispatched.push(p.buffer[p.offset] as number),
      },
      _bumpSequenceId() {},
    };
    const mysqlDispatch = connection.packetParser.onPacket;
    const packet = (first: number) => ({
      buffer: Buffer.from([0, 0, 0, 0, first, 0x41]),
      offset: 4,
      end: 6,
      numPackets: 1,
      isEOF: () => false,
    });
    const { query, rowState } = fakeQuery();
    const rows: number[] = [];
    captureRowPackets(query as never, (bytes, start) => rows.push(bytes[start] as number));
    rowState(packet(1), connection);
    connection.packetParser.onPacket(packet(0xff));
    expect(rows).toEqual([1]);
    expect(dispatched).toEqual([0xff]);
    expect(connection.packetParser.onPacket).toBe(mysqlDispatch);
  });
});
