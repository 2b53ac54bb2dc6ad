/**
 * The MongoDB simulator's wire codec: frames of the MongoDB wire protocol in and out.
 *
 * Layout per the manual's "MongoDB Wire Protocol" page
 * (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/): a 16-byte little-endian header
 * (messageLength, requestID, responseTo, opCode), then for OP_MSG (2013) `uint32 flagBits` and sections — kind 0 is
 * the command body, kind 1 is a document sequence (`int32 size`, `cstring identifier`, documents) that the server
 * folds into the body as an array under `identifier` — and an optional CRC-32C checksum (flag bit 0). The legacy
 * OP_QUERY (2004) is still what drivers send for the first `hello`/`isMaster` of a connection; its reply is OP_REPLY (1).
 */
import { calculateObjectSize, type Document, deserialize, serializeWithBufferAndIndex } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

/** OP_MSG flag bits (manual, wire protocol page, "flagBits"). */
export const FLAG_CHECKSUM_PRESENT = 1 << 0;
export const FLAG_MORE_TO_COME = 1 << 1;

/** Decoded values keep their BSON types (Int32 vs Double vs Int64, regex) so documents round-trip exactly. */
const DESERIALIZE_OPTIONS = { promoteValues: false, bsonRegExp: true } as const;

export function decodeDocument(bytes: Uint8Array): Document {
  return deserialize(bytes, DESERIALIZE_OPTIONS);
}

export function encodeDocument(doc: Document): Buffer {
  // bson's default scratch buffer is 17 MB; a reply with a near-16 MB event plus its envelope can be larger.
  const buffer = Buffer.alloc(calculateObjectSize(doc, { ignoreUndefined: true }));
  serializeWithBufferAndIndex(doc, buffer, { ignoreUndefined: true });
  return buffer;
}

/** One request read off a connection. */
export type WireRequest =
  | { readonly kind: 'msg'; readonly requestId: number; readonly flags: number; readonly body: Document }
  | {
      readonly kind: 'query';
      readonly requestId: number;
      readonly collection: string;
      readonly query: Document;
    };

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

/**
 * Splits a byte stream into whole messages. Feed it chunks as they arrive; it returns every complete message so far
 * and keeps the remainder.
 */
export class MessageReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): WireRequest[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: WireRequest[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32LE(0);
      if (length < 16 || length > 48_000_000) throw new WireFormatError(`bad message length ${length}`);
      if (this.pending.length < length) break;
      out.push(parseMessage(this.pending.subarray(0, length)));
      this.pending = this.pending.subarray(length);
    }
    return out;
  }
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new WireFormatError('unterminated cstring');
  return [buf.toString('utf8', offset, end), end + 1];
}

export function parseMessage(message: Buffer): WireRequest {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = message.readUInt32LE(16);
    const end = message.length - ((flags & FLAG_CHECKSUM_PRESENT) !== 0 ? 4 : 0);
    let offset = 20;
    let body: Document | undefined;
    const sequences: [string, Document[]][] = [];
    while (offset < end) {
      const kind = message[offset];
      offset += 1;
      if (kind === 0) {
        const size = message.readInt32LE(offset);
        body = decodeDocument(message.subarray(offset, offset + size));
        offset += size;
      } else if (kind === 1) {
        const size = message.readInt32LE(offset);
        const sectionEnd = offset + size;
        const [identifier, docsStart] = readCString(message, offset + 4);
        const docs: Document[] = [];
        let at = docsStart;
        while (at < sectionEnd) {
          const docSize = message.readInt32LE(at);
          docs.push(decodeDocument(message.subarray(at, at + docSize)));
          at += docSize;
        }
        sequences.push([identifier, docs]);
        offset = sectionEnd;
      } else {
        throw new WireFormatError(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (body === undefined) throw new WireFormatError('OP_MSG without a body section');
    for (const [identifier, docs] of sequences) body[identifier] = docs;
    return { kind: 'msg', requestId, flags, body };
  }
  if (opCode === OP_QUERY) {
    const [collection, afterName] = readCString(message, 20);
    const querySize = message.readInt32LE(afterName + 8);
    const query = decodeDocument(message.subarray(afterName + 8, afterName + 8 + querySize));
    return { kind: 'query', requestId, collection, query };
  }
  throw new WireFormatError(`unsupported opCode ${opCode} (the simulator speaks OP_MSG and the OP_QUERY handshake)`);
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeInt32LE(length, 0);
  head.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  head.writeInt32LE(responseTo, 8);
  head.writeInt32LE(opCode, 12);
  return head;
}

/** An OP_MSG reply: flagBits 0 and one kind-0 section. */
export function encodeMsgReply(responseTo: number, body: Document): Buffer {
  const doc = encodeDocument(body);
  const flagsAndKind = Buffer.from([0, 0, 0, 0, 0]);
  return Buffer.concat([header(16 + 5 + doc.length, responseTo, OP_MSG), flagsAndKind, doc]);
}

/** An OP_REPLY to a legacy OP_QUERY: no flags, cursor id 0, one document. */
export function encodeQueryReply(responseTo: number, body: Document): Buffer {
  const doc = encodeDocument(body);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(1, 16); // numberReturned; responseFlags, cursorID and startingFrom stay 0
  return Buffer.concat([header(16 + 20 + doc.length, responseTo, OP_REPLY), fields, doc]);
}
