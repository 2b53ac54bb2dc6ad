import type { ChunkRange, JsonValue, TableId } from '@highwater/core';
import { valueFromJson, valueToJson } from '@highwater/core';

/**
 * A chunk's record in the state bucket, written by the member reading it. `firstLowWatermark` is
 * the low watermark of the chunk's first attempt and changes only when the leader resets the record
 * at a barrier (then every earlier attempt's rows are gone or fenced off): a later attempt merges
 * the log from there, so it can delete every row an earlier attempt may have written that is gone now.
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
  /**
   * Set when the leader reset the record at a barrier of the table (a truncate or a schema change;
   * `member` is then {@link BARRIER_RESET}): the barrier's offset. Every attempt since took its
   * high watermark after it and wrote after it landed, so a truncate at or before it in a later
   * attempt's window removed nothing that attempt must remove itself.
   */
  readonly resetAt?: JsonValue;
}

/** The `member` of a chunk record the leader reset at a barrier: no attempt holds the chunk. */
export const BARRIER_RESET = '(reset)';

/**
 * A table's barriers: the truncates and schema changes of it the leader has published to the log
 * stream and not yet seen in a stored checkpoint, in log order. A member writes a chunk only once
 * every barrier at or before its high watermark is stored, so its rows land after the truncates and
 * DDL they reflect (docs/algorithm.md, "Truncates and DDL during a cluster snapshot").
 */
export interface BarrierRecord {
  readonly barriers: readonly Barrier[];
}

export interface Barrier {
  /** The log offset of the truncate or schema change (JSON). */
  readonly offset: JsonValue;
  /** For a schema change: the table's columns after it. */
  readonly columns?: readonly string[];
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
  /** The table's columns as the leader's log reader knew them when it queued the chunk. */
  readonly columns?: readonly string[];
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
