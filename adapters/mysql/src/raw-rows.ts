import type mysql from 'mysql2';

/** What the raw reader needs of mysql2's packet object: the bytes of one row packet. */
interface RowPacket {
  readonly buffer: Buffer;
  /** Start of the payload (after the 4-byte header). */
  readonly offset: number;
  readonly end: number;
  isEOF(): boolean;
}

type State = (this: mysql.Query, packet: RowPacket, connection: unknown) => unknown;

/**
 * Has `query` hand every row packet of its result to `onRow` as bytes, instead of parsing it into
 * an object and emitting `result`. mysql2 offers no public way to get a row unparsed; its `Query`
 * command is a state machine whose state for the rows of a result is the method `row`, looked up
 * on the command (`fieldsEOF` returns `this.row`). An own `row` takes its place; the end of the
 * result still goes through mysql2's own `row`. Throws when mysql2 no longer has that shape, so an
 * upgrade that changes it fails the adapter's tests instead of reading nothing.
 */
export function captureRowPackets(
  query: mysql.Query,
  onRow: (bytes: Buffer, start: number, end: number) => void,
): void {
  const own = query as unknown as { row: State };
  const original = Object.getPrototypeOf(query) as { row?: unknown; fieldsEOF?: unknown };
  if (typeof original.row !== 'function' || typeof original.fieldsEOF !== 'function') {
    throw new Error('mysql2 changed: its Query has no row/fieldsEOF states to read rows unparsed');
  }
  const mysqlRow = original.row as State;
  own.row = function (this: mysql.Query, packet: RowPacket, connection: unknown) {
    if (packet.isEOF()) return mysqlRow.call(this, packet, connection);
    onRow(packet.buffer, packet.offset, packet.end);
    return own.row;
  };
}

/**
 * Row packets of the text protocol copied one after another into one buffer: a batch of rows costs
 * two objects (outside the JavaScript heap for the bytes) whatever its size.
 */
export class RowPacketBatch {
  private bytes: Buffer;
  private used = 0;
  private ends: Uint32Array;
  count = 0;

  constructor(expectedRows: number) {
    this.bytes = Buffer.allocUnsafe(Math.max(4096, expectedRows * 64));
    this.ends = new Uint32Array(Math.max(16, expectedRows));
  }

  add(source: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.used + length > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + length));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    source.copy(this.bytes, this.used, start, end);
    this.used += length;
    if (this.count === this.ends.length) {
      const grown = new Uint32Array(this.ends.length * 2);
      grown.set(this.ends);
      this.ends = grown;
    }
    this.ends[this.count++] = this.used;
  }

  /** Calls `row` with each row's bytes, in order. */
  forEach(row: (bytes: Buffer, start: number, end: number) => void): void {
    let start = 0;
    for (let i = 0; i < this.count; i++) {
      const end = this.ends[i] as number;
      row(this.bytes, start, end);
      start = end;
    }
  }
}

/**
 * How a column's bytes become what the column's decoder takes (as mysql2 would give them): UTF-8
 * text, ASCII text (numbers, dates), an integer (a number up to 15 digits, else its text), or a
 * copy of the bytes.
 */
export type FieldReading = 'text' | 'ascii' | 'integer' | 'bytes';

const NULL_VALUE = 0xfb;

/**
 * `Buffer#latin1Slice` and `#utf8Slice`: what `toString(encoding, start, end)` calls after checking
 * its arguments and looking the encoding up, which cost more than the slicing for short fields.
 */
type Slicing = Buffer & {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
};
const direct =
  typeof (Buffer.prototype as Partial<Slicing>).latin1Slice === 'function' &&
  typeof (Buffer.prototype as Partial<Slicing>).utf8Slice === 'function';
const latin1: (bytes: Buffer, start: number, end: number) => string = direct
  ? (bytes, start, end) => (bytes as Slicing).latin1Slice(start, end)
  : (bytes, start, end) => bytes.toString('latin1', start, end);
const utf8: (bytes: Buffer, start: number, end: number) => string = direct
  ? (bytes, start, end) => (bytes as Slicing).utf8Slice(start, end)
  : (bytes, start, end) => bytes.toString('utf8', start, end);

/**
 * Reads the fields of one text-protocol row (`bytes[start, end)`): each a length-encoded string,
 * or 0xFB for NULL. `reading[i]` says whether field `i` becomes UTF-8 text, ASCII text (numbers,
 * dates: read byte for byte) or a copy of its bytes; `out[i]` receives it.
 */
export function readTextRow(
  bytes: Buffer,
  start: number,
  end: number,
  reading: readonly FieldReading[],
  out: (string | number | Buffer | null)[],
): void {
  let at = start;
  for (let i = 0; i < reading.length; i++) {
    if (at >= end) throw new Error(`row packet ends before field ${i + 1} of ${reading.length}`);
    const first = bytes[at] as number;
    if (first === NULL_VALUE) {
      out[i] = null;
      at++;
      continue;
    }
    let length: number;
    if (first < 0xfb) {
      length = first;
      at++;
    } else if (first === 0xfc) {
      length = bytes.readUInt16LE(at + 1);
      at += 3;
    } else if (first === 0xfd) {
      length = bytes.readUIntLE(at + 1, 3);
      at += 4;
    } else if (first === 0xfe) {
      length = Number(bytes.readBigUInt64LE(at + 1));
      at += 9;
    } else {
      throw new Error(`row packet: field ${i + 1} starts with 0x${first.toString(16)}`);
    }
    const fieldEnd = at + length;
    if (fieldEnd > end) throw new Error(`row packet: field ${i + 1} runs past the end of the row`);
    const how = reading[i];
    out[i] =
      how === 'integer'
        ? integerAt(bytes, at, fieldEnd)
        : how === 'ascii'
          ? latin1(bytes, at, fieldEnd)
          : how === 'text'
            ? utf8(bytes, at, fieldEnd)
            : Buffer.from(bytes.subarray(at, fieldEnd));
    at = fieldEnd;
  }
  if (at !== end) throw new Error(`row packet has ${end - at} bytes after its ${reading.length} fields`);
}

const MINUS = 0x2d;
const ZERO = 0x30;

/**
 * An integer's ASCII digits as a number, read from the bytes without a string; up to 15 digits
 * (always a safe integer). Longer or unexpected text comes back as text, for the decoder.
 */
function integerAt(bytes: Buffer, start: number, end: number): number | string {
  let i = start;
  const negative = bytes[i] === MINUS;
  if (negative) i++;
  if (end - i < 1 || end - i > 15) return latin1(bytes, start, end);
  let n = 0;
  for (; i < end; i++) {
    const d = (bytes[i] as number) - ZERO;
    if (d < 0 || d > 9) return latin1(bytes, start, end);
    n = n * 10 + d;
  }
  return negative ? -n : n;
}
