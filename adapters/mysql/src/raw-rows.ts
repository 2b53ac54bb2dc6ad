import type mysql from 'mysql2';

/** What the raw reader needs of mysql2's packet object: the bytes of one row packet. */
interface RowPacket {
  readonly buffer: Buffer;
  /** Start of the payload (after the 4-byte header). */
  readonly offset: number;
  readonly end: number;
  /** How many wire packets it was joined from (a payload of 16 MiB or more spans several). */
  readonly numPackets: number;
  isEOF(): boolean;
}

type State = (this: mysql.Query, packet: RowPacket, connection: unknown) => unknown;

/** mysql2's packet parser: it frames packets and hands each to `onPacket`. */
interface PacketParser {
  onPacket?: (packet: RowPacket) => void;
  /** 4 for protocol packets; 7 for the frames of the compressed protocol. */
  readonly packetHeaderLength?: number;
}

/** The parts of mysql2's connection that hand packets over: its packet parsers and sequence counter. */
interface PacketSource {
  readonly packetParser?: PacketParser;
  /** With the compressed protocol: the parser of the protocol packets inflated from the frames. */
  readonly _inflatedPacketsParser?: PacketParser;
  _bumpSequenceId?: (numPackets: number) => void;
}

const ERROR_PACKET = 0xff;

/**
 * Has `query` hand every row packet of its result to `onRow` as bytes, instead of parsing it into
 * an object and emitting `result`. mysql2 offers no public way to get a row unparsed; its `Query`
 * command is a state machine whose state for the rows of a result is the method `row`, looked up
 * on the command (`fieldsEOF` returns `this.row`). An own `row` takes its place; the end of the
 * result still goes through mysql2's own `row`. Throws when mysql2 no longer has that shape, so an
 * upgrade that changes it fails the adapter's tests instead of reading nothing.
 *
 * From the first row on, the rows skip mysql2's dispatch as well: the connection's packet parser
 * hands each packet to the connection, which checks and counts it and passes it to the command,
 * which passes it to its state — most of the cost of a short row. The parser's `onPacket` is
 * replaced until the end of the result: a row packet goes to `onRow` at once, with the sequence
 * counted as mysql2 counts it; the end of the result (EOF or OK) or an error, and everything after
 * it, goes to mysql2 as before. With the compressed protocol it is the parser of the inflated
 * packets. Where the connection lacks those parts, rows keep going through the `row` state.
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
  let bypassed = false;
  own.row = function (this: mysql.Query, packet: RowPacket, connection: unknown) {
    if (packet.isEOF()) return mysqlRow.call(this, packet, connection);
    onRow(packet.buffer, packet.offset, packet.end);
    if (!bypassed) {
      bypassed = true;
      bypassDispatch(connection as PacketSource | null, onRow);
    }
    return own.row;
  };
}

/** See {@link captureRowPackets}: row packets straight from the parser until the result ends. */
function bypassDispatch(
  connection: PacketSource | null,
  onRow: (bytes: Buffer, start: number, end: number) => void,
): void {
  const parser = connection?._inflatedPacketsParser ?? connection?.packetParser;
  const dispatch = parser?.onPacket;
  const count = connection?._bumpSequenceId;
  if (parser === undefined || typeof dispatch !== 'function' || typeof count !== 'function') return;
  if (parser.packetHeaderLength !== 4) return;
  parser.onPacket = (packet: RowPacket) => {
    if (packet.buffer[packet.offset] === ERROR_PACKET || packet.isEOF()) {
      parser.onPacket = dispatch;
      dispatch(packet);
      return;
    }
    count.call(connection, packet.numPackets);
    onRow(packet.buffer, packet.offset, packet.end);
  };
}

/**
 * Row packets of the text protocol, kept where mysql2 received them (its socket reads, which it
 * neither reuses nor changes): per row the buffer and the payload's bounds, no copy of the bytes.
 */
export class RowPacketBatch {
  private readonly buffers: Buffer[] = [];
  private buffer: Uint32Array;
  private starts: Uint32Array;
  private ends: Uint32Array;
  count = 0;

  constructor(expectedRows: number) {
    const size = Math.max(16, expectedRows);
    this.buffer = new Uint32Array(size);
    this.starts = new Uint32Array(size);
    this.ends = new Uint32Array(size);
  }

  add(source: Buffer, start: number, end: number): void {
    if (this.buffers[this.buffers.length - 1] !== source) this.buffers.push(source);
    if (this.count === this.ends.length) {
      this.buffer = grown(this.buffer);
      this.starts = grown(this.starts);
      this.ends = grown(this.ends);
    }
    this.buffer[this.count] = this.buffers.length - 1;
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }

  /**
   * Calls `row` with each row's bytes, in order, and with the bytes of the rows that share a buffer
   * as one latin1 string (`text[i - textStart]` is the character of `bytes[i]`), made once for them
   * all: a field's string is then a slice of it instead of a conversion of its own. Rows in a buffer
   * of more than {@link MAX_SHARED_TEXT} bytes (a large row has one of its own) get `null` instead:
   * their blobs are not turned into text, and no string outgrows what V8 allows.
   */
  forEach(row: (bytes: Buffer, start: number, end: number, text: string | null, textStart: number) => void): void {
    let first = 0;
    while (first < this.count) {
      const index = this.buffer[first] as number;
      let last = first;
      while (last + 1 < this.count && this.buffer[last + 1] === index) last++;
      const bytes = this.buffers[index] as Buffer;
      const textStart = this.starts[first] as number;
      const textEnd = this.ends[last] as number;
      const text = textEnd - textStart <= MAX_SHARED_TEXT ? latin1(bytes, textStart, textEnd) : null;
      for (let i = first; i <= last; i++) row(bytes, this.starts[i] as number, this.ends[i] as number, text, textStart);
      first = last + 1;
    }
  }
}

/** The most bytes of one buffer {@link RowPacketBatch.forEach} turns into one string (socket reads are 64 KiB). */
export const MAX_SHARED_TEXT = 1 << 20;

function grown(array: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(array.length * 2);
  bigger.set(array);
  return bigger;
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
export const latin1: (bytes: Buffer, start: number, end: number) => string = direct
  ? (bytes, start, end) => (bytes as Slicing).latin1Slice(start, end)
  : (bytes, start, end) => bytes.toString('latin1', start, end);
export const utf8: (bytes: Buffer, start: number, end: number) => string = direct
  ? (bytes, start, end) => (bytes as Slicing).utf8Slice(start, end)
  : (bytes, start, end) => bytes.toString('utf8', start, end);

/**
 * Reads the fields of one text-protocol row (`bytes[start, end)`): each a length-encoded string,
 * or 0xFB for NULL. `reading[i]` says whether field `i` becomes UTF-8 text, ASCII text (numbers,
 * dates: read byte for byte) or a copy of its bytes; `out[i]` receives it. `text`, when given, is
 * the same bytes as a latin1 string from `textStart` on (see {@link RowPacketBatch.forEach}): ASCII
 * fields, and UTF-8 fields whose bytes are all ASCII, are sliced from it.
 */
export function readTextRow(
  bytes: Buffer,
  start: number,
  end: number,
  reading: readonly FieldReading[],
  out: (string | number | Buffer | null)[],
  text: string | null = null,
  textStart = 0,
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
    if (how === 'integer') out[i] = integerAt(bytes, at, fieldEnd);
    else if (how === 'ascii')
      out[i] = text === null ? latin1(bytes, at, fieldEnd) : text.slice(at - textStart, fieldEnd - textStart);
    else if (how === 'text')
      out[i] =
        text !== null && isAsciiAt(bytes, at, fieldEnd)
          ? text.slice(at - textStart, fieldEnd - textStart)
          : utf8(bytes, at, fieldEnd);
    else out[i] = Buffer.from(bytes.subarray(at, fieldEnd));
    at = fieldEnd;
  }
  if (at !== end) throw new Error(`row packet has ${end - at} bytes after its ${reading.length} fields`);
}

/** No byte of `bytes[start, end)` is above 0x7F: its UTF-8 text is its latin1 text. */
function isAsciiAt(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((bytes[i] as number) > 0x7f) return false;
  return true;
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
