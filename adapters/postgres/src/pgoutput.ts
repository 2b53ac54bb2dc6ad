import { type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { type Lsn, lsnOf } from './offsets/lsn.js';

/**
 * A tuple's values by column position, as the server sent them: the text of a value, `null` for
 * SQL NULL, `undefined` for an unchanged TOAST value the server left out (or a column past the
 * tuple's end). A `Buffer` only for a value sent in binary, which this adapter never asks for.
 */
export type Tuple = (string | Buffer | null | undefined)[];

/** An insert, update or delete, as {@link RawTextPgoutput} parses it. */
export interface RowMessage {
  readonly tag: 'row';
  readonly op: 'c' | 'u' | 'd';
  readonly relation: Pgoutput.MessageRelation;
  /** The new row (insert, update). */
  readonly new: Tuple | null;
  /** The old row, whole (`REPLICA IDENTITY FULL`; update, delete). */
  readonly old: Tuple | null;
  /** The old row's replica identity columns, the others `null` (update of the key, delete). */
  readonly key: Tuple | null;
}

/** A transaction's begin message. */
export interface BeginMessage {
  readonly tag: 'begin';
  /** Where the transaction's commit record starts (0 when the server sent none). */
  readonly commitLsn: Lsn;
  /** Commit time, ms since 1970 (the server sends µs since 2000). */
  readonly commitTime: number;
  /** The transaction id, read as a signed 32-bit number (as the library reads it). */
  readonly xid: number;
}

/** A transaction's commit message. */
export interface CommitMessage {
  readonly tag: 'commit';
  /** Where the commit record ends (0 when the server sent none). */
  readonly commitEndLsn: Lsn;
}

/**
 * What {@link RawTextPgoutput} yields: the library's messages, but row changes, begins and commits
 * as its own.
 */
export type Message =
  | Exclude<
      Pgoutput.Message,
      | Pgoutput.MessageInsert
      | Pgoutput.MessageUpdate
      | Pgoutput.MessageDelete
      | Pgoutput.MessageBegin
      | Pgoutput.MessageCommit
    >
  | RowMessage
  | BeginMessage
  | CommitMessage;

const rawText = (raw: unknown): unknown => raw;

/**
 * `Buffer#utf8Slice`: what `toString('utf8', start, end)` calls after checking its arguments and
 * looking the encoding up (that wrapper took 6–7 % of the stream's CPU time in a profile).
 */
type Utf8Slicing = Buffer & { utf8Slice(start: number, end: number): string };
const utf8: (buffer: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Partial<Utf8Slicing>).utf8Slice === 'function'
    ? (buffer, start, end) => (buffer as Utf8Slicing).utf8Slice(start, end)
    : (buffer, start, end) => buffer.toString('utf8', start, end);

const BEGIN = 0x42; // B
const COMMIT = 0x43; // C
const INSERT = 0x49; // I
const UPDATE = 0x55; // U
const DELETE = 0x44; // D
const NEW = 0x4e; // N
const OLD = 0x4f; // O
const KEY = 0x4b; // K

/**
 * pgoutput with every column left as the text the server sent (the adapter's decoder reads it).
 *
 * Inserts, updates and deletes — nearly every message of a busy stream — are parsed here rather
 * than by the library: into arrays by column position, each value read straight from the message
 * (`Buffer#utf8Slice`), where the library makes a `Buffer` view, a `TextDecoder` call and a
 * dictionary entry keyed by column name per value. So are begins and commits, whose LSNs and time
 * are read as numbers rather than formatted as text (and parsed again). Everything else goes to the
 * library's parser. The result is the same but for one thing: `TextDecoder` drops a byte-order mark
 * at the start of a value, `utf8Slice` keeps it (as the snapshot's `COPY` path does).
 */
export class RawTextPgoutput extends PgoutputPlugin {
  private readonly relations = new Map<number, Pgoutput.MessageRelation>();

  override parse(buffer: Buffer): Pgoutput.Message {
    return this.parseMessage(buffer) as Pgoutput.Message;
  }

  parseMessage(buffer: Buffer): Message {
    const tag = buffer[0];
    if (tag === INSERT || tag === UPDATE || tag === DELETE) return this.parseRow(buffer, tag);
    if (tag === BEGIN) {
      // Int64 final LSN, Int64 commit time, Int32 xid.
      need(buffer, 21);
      return {
        tag: 'begin',
        commitLsn: lsnOf(buffer.readUInt32BE(1), buffer.readUInt32BE(5)),
        commitTime: unixMillis(buffer.readUInt32BE(9), buffer.readUInt32BE(13)),
        // Transaction ids are unsigned 32-bit.
        xid: buffer.readUInt32BE(17),
      };
    }
    if (tag === COMMIT) {
      // Int8 flags, Int64 commit LSN, Int64 end LSN, Int64 commit time.
      need(buffer, 26);
      return { tag: 'commit', commitEndLsn: lsnOf(buffer.readUInt32BE(10), buffer.readUInt32BE(14)) };
    }
    const message = super.parse(buffer);
    if (message.tag === 'relation') {
      for (const column of message.columns) column.parser = rawText;
      this.relations.set(message.relationOid, message);
    }
    return message as Message;
  }

  private parseRow(buffer: Buffer, tag: number): RowMessage {
    const reader = new TupleReader(buffer);
    const oid = reader.int32();
    const relation = this.relations.get(oid);
    if (relation === undefined) throw new Error('missing relation');
    const columns = relation.columns.length;
    if (tag === INSERT) {
      reader.expect(NEW);
      return { tag: 'row', op: 'c', relation, new: reader.tuple(columns, null), old: null, key: null };
    }
    const kind = reader.byte();
    if (tag === DELETE) {
      if (kind === KEY)
        return { tag: 'row', op: 'd', relation, new: null, old: null, key: reader.tuple(columns, null) };
      if (kind === OLD)
        return { tag: 'row', op: 'd', relation, new: null, old: reader.tuple(columns, null), key: null };
      throw new Error(`unknown submessage key ${String.fromCharCode(kind)}`);
    }
    if (kind === NEW) return { tag: 'row', op: 'u', relation, new: reader.tuple(columns, null), old: null, key: null };
    if (kind === KEY) {
      const key = reader.tuple(columns, null);
      reader.expect(NEW);
      return { tag: 'row', op: 'u', relation, new: reader.tuple(columns, null), old: null, key };
    }
    if (kind === OLD) {
      const old = reader.tuple(columns, null);
      reader.expect(NEW);
      // An unchanged TOAST value in the new row is the old row's, when the old row is sent whole.
      return { tag: 'row', op: 'u', relation, new: reader.tuple(columns, old), old, key: null };
    }
    throw new Error(`unknown submessage key ${String.fromCharCode(kind)}`);
  }
}

function need(buffer: Buffer, length: number): void {
  if (buffer.length < length) throw new Error('unexpected end of message');
}

/** µs since 2000-01-01 (as two unsigned 32-bit halves) to ms since 1970, rounded down. */
function unixMillis(high: number, low: number): number {
  if (high < 0x100000) {
    // Exact as a double (below 2^52 + 2^50).
    const micros = high * 4294967296 + low + 946684800000000;
    return (micros - (micros % 1000)) / 1000;
  }
  return Number((((BigInt(high) << 32n) | BigInt(low)) + 946684800000000n) / 1000n);
}

/** Reads tuples from a pgoutput message (after its tag byte). */
class TupleReader {
  private at = 1;

  constructor(private readonly buffer: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.buffer.length) throw new Error('unexpected end of message');
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.at++] as number;
  }

  expect(byte: number): void {
    const got = this.byte();
    if (got !== byte) throw new Error(`unexpected submessage key ${String.fromCharCode(got)}`);
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  /** A tuple of `columns` columns at most; `fallback` supplies unchanged TOAST values. */
  tuple(columns: number, fallback: Tuple | null): Tuple {
    const buffer = this.buffer;
    this.need(2);
    const fields = buffer.readUInt16BE(this.at);
    this.at += 2;
    if (fields > columns) throw new Error(`tuple of ${fields} columns for a relation of ${columns}`);
    const tuple: Tuple = [];
    for (let i = 0; i < fields; i++) {
      const kind = this.byte();
      if (kind === 0x74 /* t */ || kind === 0x62 /* b */) {
        const size = this.int32();
        if (size < 0) throw new Error('unexpected end of message');
        this.need(size);
        const start = this.at;
        this.at += size;
        tuple.push(kind === 0x74 ? utf8(buffer, start, this.at) : buffer.subarray(start, this.at));
      } else if (kind === 0x6e /* n */) {
        tuple.push(null);
      } else if (kind === 0x75 /* u */) {
        tuple.push(fallback === null ? undefined : fallback[i]);
      } else {
        throw new Error(`unknown attribute kind ${String.fromCharCode(kind)}`);
      }
    }
    return tuple;
  }
}
