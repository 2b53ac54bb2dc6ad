import {
  type ChunkChange,
  type JsonValue,
  type LogItem,
  type OffsetCodec,
  type Row,
  type Value,
  valueFromJson,
  valueToJson,
} from '@highwater/core';

/** One change or truncate as it travels on the log stream. */
interface WireItem {
  /** offset */
  readonly o: JsonValue;
  readonly t: string;
  /** `c`/`u`/`d`, or `T` for a truncate. */
  readonly op: 'c' | 'u' | 'd' | 'T';
  readonly b?: JsonValue;
  readonly a?: JsonValue;
  readonly bi?: 'full' | 'key' | 'none';
  readonly u?: readonly string[];
  readonly ts?: number | null;
  readonly tx?: string | null;
}

/**
 * One message of the log stream: the changes of one log batch (or part of one) and `last`, the
 * offset the leader's log reader had reached. Offsets are strictly increasing along the stream.
 */
export interface LogMessage {
  readonly last: JsonValue;
  readonly items: readonly WireItem[];
}

/** Items per message; also bounded by size so a message stays under the server's max_payload. */
const MAX_ITEMS = 256;
const MAX_BYTES = 256 * 1024;

/**
 * Encodes the changes and truncates of `batch` strictly after `after` into log-stream messages;
 * the last message carries `last` (the batch's final offset) even when no change is left, so that
 * members waiting for a high watermark learn the log got there.
 */
export function encodeLogBatch<O>(
  batch: readonly LogItem<O>[],
  offsets: OffsetCodec<O>,
  after: O | null,
): { readonly messages: string[]; readonly last: O } | null {
  const final = batch[batch.length - 1];
  if (final === undefined) return null;
  if (after !== null && offsets.compare(final.offset, after) <= 0) return null;
  const messages: string[] = [];
  let items: string[] = [];
  let bytes = 0;
  let lastInMessage: JsonValue = null;
  const flush = (last: JsonValue): void => {
    messages.push(`{"last":${JSON.stringify(last)},"items":[${items.join(',')}]}`);
    items = [];
    bytes = 0;
  };
  for (const item of batch) {
    if (item.kind !== 'change' && item.kind !== 'truncate') continue;
    if (after !== null && offsets.compare(item.offset, after) <= 0) continue;
    const wire: WireItem =
      item.kind === 'truncate'
        ? { o: offsets.toJSON(item.offset), t: item.table, op: 'T', ts: item.commitTime, tx: item.txId }
        : {
            o: offsets.toJSON(item.offset),
            t: item.table,
            op: item.op,
            ...(item.before === null ? {} : { b: valueToJson(item.before as Value) }),
            ...(item.after === null ? {} : { a: valueToJson(item.after as Value) }),
            bi: item.beforeImage,
            ...(item.unchanged === undefined ? {} : { u: item.unchanged }),
            ts: item.commitTime,
            tx: item.txId,
          };
    const text = JSON.stringify(wire);
    if (items.length >= MAX_ITEMS || (items.length > 0 && bytes + text.length > MAX_BYTES)) flush(lastInMessage);
    items.push(text);
    lastInMessage = wire.o;
    bytes += text.length;
  }
  flush(offsets.toJSON(final.offset));
  return { messages, last: final.offset };
}

/** The changes of `table` in a message with offset in `(after, through]`, decoded for the chunk merge. */
export function decodeTableChanges<O>(
  message: LogMessage,
  table: string,
  offsets: OffsetCodec<O>,
  after: O,
  through: O,
): ChunkChange<O>[] {
  const out: ChunkChange<O>[] = [];
  for (const item of message.items) {
    if (item.t !== table) continue;
    const offset = offsets.fromJSON(item.o);
    if (offsets.compare(offset, after) <= 0 || offsets.compare(offset, through) > 0) continue;
    if (item.op === 'T') {
      out.push({ kind: 'truncate', table, offset, commitTime: item.ts ?? null, txId: item.tx ?? null });
      continue;
    }
    out.push({
      kind: 'change',
      op: item.op,
      table,
      offset,
      before: item.b === undefined ? null : (valueFromJson(item.b) as Row),
      after: item.a === undefined ? null : (valueFromJson(item.a) as Row),
      beforeImage: item.bi ?? 'none',
      ...(item.u === undefined ? {} : { unchanged: item.u }),
      commitTime: item.ts ?? null,
      txId: item.tx ?? null,
    });
  }
  return out;
}
