import type { Key } from '../values/value.js';

/** A half-open range `[start, end)` over a table's chunk key; `null` means unbounded on that side. */
export interface ChunkRange {
  readonly start: Key | null;
  readonly end: Key | null;
}

/** One chunk of one table's snapshot. Plain data: it is stored in checkpoints as it is. */
export interface SnapshotSplit {
  readonly kind: 'snapshot';
  /** Deterministic: `${table}:${index}`. */
  readonly id: string;
  /** Qualified table name. */
  readonly table: string;
  /** Position of the chunk in its table's key order, from 0. */
  readonly index: number;
  readonly range: ChunkRange;
}

/**
 * The log split: where the single log reader starts. With one log reader per source the gate
 * information Flink CDC keeps here (each finished chunk's high watermark) is implied by the order
 * in which the reader releases chunks; see docs/algorithm.md.
 */
export interface StreamSplit<O> {
  readonly kind: 'stream';
  readonly id: 'stream';
  readonly startOffset: O;
  /** Events at or before this offset were already emitted before a restart and are used only to backfill chunks. */
  readonly emittedThrough: O | null;
}

export type Split<O> = SnapshotSplit | StreamSplit<O>;

export function snapshotSplitId(table: string, index: number): string {
  return `${table}:${index}`;
}
