import { CheckpointError, type JsonValue, type OffsetCodec } from '@highwater/core';
import { BSON, type Document, Timestamp } from 'mongodb';

const { EJSON } = BSON;
import { timestampFromBigInt, timestampToBigInt } from '../bson/bson-order.js';

/**
 * A position in a MongoDB change stream.
 *
 * Order: by `clusterTime` (the oplog Timestamp of the event, seconds then increment), then by
 * `index` — the event's place among the events of that cluster time in delivery order (the
 * statements of one transaction share its commit time). The resume token is carried, not compared:
 * the manual calls tokens opaque, and the log reader resumes from it exactly after the event.
 * Positions taken from a clock have no token: watermarks (`index` {@link AFTER_ALL}: after every
 * event of that time), `startup: timestamp`/`earliest` (`index` {@link BEFORE_ALL}).
 */
export interface MongoOffset {
  /** The cluster time, as the 64-bit Timestamp (seconds in the high half, increment in the low). */
  readonly clusterTime: bigint;
  readonly index: number;
  /** The resume token of the event (or post-batch token), for `resumeAfter`; null for clock positions. */
  readonly token: Document | null;
}

/** `index` of a position before every event of its cluster time. */
export const BEFORE_ALL = -1;
/** `index` of a position after every event of its cluster time. */
export const AFTER_ALL = 2 ** 31 - 1;

export function compareMongoOffsets(a: MongoOffset, b: MongoOffset): number {
  if (a.clusterTime !== b.clusterTime) return a.clusterTime < b.clusterTime ? -1 : 1;
  return a.index < b.index ? -1 : a.index > b.index ? 1 : 0;
}

/** A position at a cluster time, from a clock (no token). */
export function positionAt(clusterTime: Timestamp | bigint, index: number): MongoOffset {
  return {
    clusterTime: typeof clusterTime === 'bigint' ? clusterTime : timestampToBigInt(clusterTime),
    index,
    token: null,
  };
}

/**
 * A resume token in canonical Extended JSON. The tokens of MongoDB 4.2+ are `{ _data: '<hex>' }`, whose
 * Extended JSON is the document itself: made directly, as this runs for every streamed event (the
 * core puts the serialised offset in each event's source): 0.8–1.0 µs a token through EJSON.serialize,
 * 0.01 µs directly (a loop of 200,000 on a loaded machine, load ~10); EJSON took 100 of the ~300 ms of
 * adapter and core time of a 3 × 20,000-change stream profile.
 */
function tokenJson(token: Document): JsonValue {
  const keys = Object.keys(token);
  if (keys.length === 1 && typeof token._data === 'string') return { _data: token._data };
  return EJSON.serialize(token, { relaxed: false }) as JsonValue;
}

/**
 * Serialised as `{ clusterTime: 't.i', index, token }` with the token in canonical Extended JSON,
 * e.g. `{"clusterTime":"1733580000.12","index":0,"token":{"_data":"8267…"}}`.
 */
export const mongoOffsets: OffsetCodec<MongoOffset> = {
  compare: compareMongoOffsets,
  toJSON(o) {
    const ts = timestampFromBigInt(o.clusterTime);
    return {
      clusterTime: `${ts.t}.${ts.i}`,
      index: o.index,
      token: o.token === null ? null : tokenJson(o.token),
    };
  },
  fromJSON(json) {
    const o = json as { clusterTime?: unknown; index?: unknown; token?: unknown } | null;
    const ct = typeof o?.clusterTime === 'string' ? /^(\d{1,10})\.(\d{1,10})$/.exec(o.clusterTime) : null;
    const index = o?.index;
    const token = o?.token;
    if (
      o === null ||
      typeof o !== 'object' ||
      Array.isArray(o) ||
      ct === null ||
      typeof index !== 'number' ||
      !Number.isInteger(index) ||
      index < BEFORE_ALL ||
      index > AFTER_ALL ||
      (token !== null && (typeof token !== 'object' || Array.isArray(token))) ||
      Object.keys(o).length !== 3
    ) {
      throw new CheckpointError(
        `mongodb: not a MongoDB change stream position: ${JSON.stringify(json)} (expected {"clusterTime":"<seconds>.<increment>","index":<n>,"token":{…}|null})`,
      );
    }
    const t = Number(ct[1]);
    const i = Number(ct[2]);
    if (t > 0xffffffff || i > 0xffffffff)
      throw new CheckpointError(`mongodb: cluster time out of range in ${JSON.stringify(json)}`);
    return {
      clusterTime: timestampToBigInt(new Timestamp({ t, i })),
      index,
      token: token === null ? null : (EJSON.deserialize(token as Document, { relaxed: false }) as Document),
    };
  },
};

/**
 * The cluster time a resume token stands for. The server's tokens (`{_data: '<hex>'}`) are KeyString
 * encodings that start with the Timestamp type byte `0x82` and the 8-byte big-endian cluster time;
 * that is how a post-batch resume token of an empty batch (which comes without an event) is placed
 * in the order. Null when the token is not of that form.
 */
export function clusterTimeOfToken(token: Document | null | undefined): bigint | null {
  const data = token?._data;
  if (typeof data !== 'string' || data.length < 18 || !/^82[0-9a-fA-F]{16}/.test(data)) return null;
  return BigInt(`0x${data.slice(2, 18)}`);
}
