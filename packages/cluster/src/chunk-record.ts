import type { ChunkRange, JsonValue, TableId } from '@highwater/core';
import { valueFromJson, valueToJson } from '@highwater/core';

/**
 * A chunk's record in the state bucket, written by the member reading it. `firstLowWatermark` is
 * the low watermark of the chunk's first attempt and never changes: a later attempt merges the log
 * from there, so it can delete every row an earlier attempt may have written that is gone now.
 */
export interface ChunkRecord {
  readonly state: 'reading' | 'done';
  readonly member: string;
  readonly attempts: number;
  readonly firstLowWatermark: JsonValue | null;
  /** The chunk's range (`rangeToJson`) as last read: a split of the same id with another range is another chunk. */
  readonly range?: string;
  /** Set when done: the rows in the sink are as of this offset. */
  readonly highWatermark?: JsonValue;
  readonly rows?: number;
  /** When the state was written (ms since the epoch). */
  readonly at: number;
}

/** A chunk to read, as the leader puts it on the work queue. */
export interface ChunkTask {
  readonly id: string;
  readonly table: string;
  readonly tableId: TableId;
  readonly index: number;
  readonly start: JsonValue | null;
  readonly end: JsonValue | null;
  /** The chunk key the leader split on (a configured one included). */
  readonly chunkKey: readonly string[];
  /** Revision of the chunk's record when the leader queued it: a task whose chunk was done since is stale. */
  readonly basedOn: number;
  /** Epoch of the leader that queued it (see `LeaseHolder.epoch`). */
  readonly epoch: number;
}

/** A task's range as compared between records and splits. */
export function rangeKey(task: Pick<ChunkTask, 'start' | 'end'>): string {
  return JSON.stringify([task.start, task.end]);
}

export function taskRange(task: ChunkTask): ChunkRange {
  return {
    start: task.start === null ? null : (valueFromJson(task.start) as ChunkRange['start']),
    end: task.end === null ? null : (valueFromJson(task.end) as ChunkRange['end']),
  };
}

export function rangeToJson(range: ChunkRange): { start: JsonValue | null; end: JsonValue | null } {
  return {
    start: range.start === null ? null : valueToJson(range.start),
    end: range.end === null ? null : valueToJson(range.end),
  };
}
