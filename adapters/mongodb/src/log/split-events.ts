import { AdapterError } from '@highwater/core';
import type { Document } from 'mongodb';

/** The `$changeStreamSplitLargeEvent` stage: splits an event over 16 MB into fragments instead of failing the stream. */
export const SPLIT_LARGE_EVENTS_STAGE: Document = { $changeStreamSplitLargeEvent: {} };

/** Where a fragment of a split event stands: fragment `fragment` (from 1) of `of`. */
export interface SplitPosition {
  readonly fragment: number;
  readonly of: number;
}

/** The `splitEvent` field of a fragment of a split change event, or null for a whole event. */
export function splitOf(event: Document): SplitPosition | null {
  const split = event.splitEvent as { fragment?: unknown; of?: unknown } | undefined;
  if (split === undefined || split === null) return null;
  return { fragment: Number(split.fragment), of: Number(split.of) };
}

/**
 * The event the fragments of a split change event were cut from (MongoDB manual,
 * `$changeStreamSplitLargeEvent`): each fragment holds some of the event's top-level fields, in
 * order, plus `splitEvent` and its own resume token. The joined event has every field and the last
 * fragment's token, so resuming after it continues after the whole event.
 */
export function joinFragments(fragments: readonly Document[]): Document {
  const last = fragments[fragments.length - 1];
  const joined: Document = {};
  for (const [i, fragment] of fragments.entries()) {
    const at = splitOf(fragment);
    if (at === null || at.fragment !== i + 1 || at.of !== fragments.length) {
      throw new AdapterError(
        `mongodb: the fragments of a split change event came out of order (fragment ${i + 1} of ${fragments.length} expected, got ${JSON.stringify(fragment.splitEvent)}): the change stream must be read from one cursor`,
      );
    }
    for (const [key, value] of Object.entries(fragment)) {
      if (key !== '_id' && key !== 'splitEvent') joined[key] = value;
    }
  }
  return { _id: last?._id, ...joined };
}
