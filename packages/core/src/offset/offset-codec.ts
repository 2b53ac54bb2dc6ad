import type { JsonValue } from '../values/value.js';

/**
 * How the core handles an adapter's offsets without knowing what they are.
 *
 * Offsets must be totally ordered in the order the log delivers events, and fine enough to resume
 * inside a transaction or a multi-row event. Watermarks are offsets too: `compare(event, hw) <= 0`
 * must mean "the event is already in the log at the moment the high watermark was taken".
 *
 * @example
 * const lsnOffsets: OffsetCodec<bigint> = {
 *   compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
 *   toJSON: (o) => o.toString(),
 *   fromJSON: (j) => BigInt(j as string),
 * };
 */
export interface OffsetCodec<O> {
  /** Negative if `a` comes before `b` in the log, 0 if equal, positive if after. */
  compare(a: O, b: O): number;
  /** Serialises an offset for checkpoints and event metadata. */
  toJSON(offset: O): JsonValue;
  /** Parses what {@link OffsetCodec.toJSON} produced; throws on anything else. */
  fromJSON(json: JsonValue): O;
}
