import { CheckpointError, type JsonValue, type OffsetCodec } from '@highwater/core';

/**
 * Offsets of the memory database's log: the integer position of an entry (1, 2, 3, …; 0 is the
 * position before the first). One per row change, so the core can resume inside a transaction.
 * Serialised as the plain JSON number.
 */
export const memoryOffsets: OffsetCodec<number> = {
  compare: (a, b) => a - b,
  toJSON: (offset) => offset,
  fromJSON(json: JsonValue): number {
    if (typeof json !== 'number' || !Number.isSafeInteger(json) || json < 0) {
      throw new CheckpointError(
        `memory: ${JSON.stringify(json)} is not a memory log offset (expected a non-negative integer); ` +
          'was the checkpoint written by another adapter?',
      );
    }
    return json;
  },
};
