import type { RowChange, TableTruncate } from '../spi/log-item.js';
import type { Key, Row } from '../values/value.js';
import { keyIdentity } from './key-identity.js';

/** The rows of one chunk being assembled: chunk-key identity to row. */
export type ChunkBuffer = Map<string | number, Row>;

/** How the merge sees a table: where a row's chunk key is, and whether a key lies in the chunk. */
export interface ChunkKeySpace {
  keyOf(row: Row): Key;
  inChunk(key: Key): boolean;
}

/** A log item that can touch a chunk's rows. */
export type ChunkChange<O> = RowChange<O> | TableTruncate<O>;

/** Buffers the rows a chunk read returned, keyed by chunk key. */
export function bufferRows(rows: Iterable<Row>, space: ChunkKeySpace): ChunkBuffer {
  const buffer: ChunkBuffer = new Map();
  addRows(buffer, rows, space);
  return buffer;
}

/** Adds rows a chunk read returned to its buffer. */
export function addRows(buffer: ChunkBuffer, rows: Iterable<Row>, space: ChunkKeySpace): void {
  for (const row of rows) buffer.set(keyIdentity(space.keyOf(row)), row);
}

/**
 * Applies one logged change to a chunk's buffer (step 4 of the chunk algorithm). Changes must be
 * applied in log order; applying one the read already saw is harmless, since the last image of a
 * key wins. Only the part of the change inside the chunk is applied: an update that moves a row's
 * key out of the chunk removes it, one that moves a key in adds it. Partial after-images (columns
 * listed in `unchanged`) take those columns from the buffered row; where there is none, they stay
 * absent and are reported by {@link unknownColumnsOf}.
 */
export function applyChange<O>(buffer: ChunkBuffer, change: ChunkChange<O>, space: ChunkKeySpace): void {
  if (change.kind === 'truncate') {
    buffer.clear();
    return;
  }
  const { before, after } = change;
  let previous: Row | undefined;
  if (change.op !== 'c') {
    const oldKey = space.keyOf((before ?? after) as Row);
    if (space.inChunk(oldKey)) {
      const id = keyIdentity(oldKey);
      previous = buffer.get(id);
      buffer.delete(id);
    }
  }
  if (after === null) return;
  const newKey = space.keyOf(after);
  if (!space.inChunk(newKey)) return;
  buffer.set(keyIdentity(newKey), completeImage(after, change.unchanged, previous ?? fullBefore(change)));
}

/** Fills the columns a partial after-image left out from an earlier image of the row, where one is known. */
export function completeImage(
  after: Row,
  unchanged: readonly string[] | undefined,
  earlier: Row | null | undefined,
): Row {
  if (unchanged === undefined || unchanged.length === 0) return after;
  const filled: Record<string, Row[string]> = { ...after };
  for (const column of unchanged) {
    if (earlier != null && column in earlier) filled[column] = earlier[column] as Row[string];
  }
  return filled;
}

/** Columns a row lacks compared with the table's column list (left unknown by a partial image). */
export function unknownColumnsOf(row: Row, columns: readonly string[]): readonly string[] {
  let missing: string[] | undefined;
  for (const c of columns) {
    if (c in row) continue;
    missing ??= [];
    missing.push(c);
  }
  return missing ?? NONE;
}

const NONE: readonly string[] = Object.freeze([]);

function fullBefore<O>(change: RowChange<O>): Row | null {
  return change.beforeImage === 'full' ? change.before : null;
}

/**
 * The whole merge as one pure function: the rows a chunk read returned plus the changes logged
 * between its low and high watermark, in log order, give the chunk's rows as of the high watermark.
 */
export function mergeChunk<O>(rows: Iterable<Row>, changes: Iterable<ChunkChange<O>>, space: ChunkKeySpace): Row[] {
  const buffer = bufferRows(rows, space);
  for (const change of changes) applyChange(buffer, change, space);
  return [...buffer.values()];
}

/** A chunk's rows as of its high watermark, and the rows the window's changes removed from it for good. */
export interface MergedChunk {
  readonly rows: Row[];
  /**
   * For each chunk key that a change in the window deleted or moved away and that has no row at the
   * high watermark, the before-image of the last such change (it holds at least the key columns). A
   * chunk read again (after a crash left an earlier attempt's rows in a target) deletes them, so the
   * target's range ends up exactly as of the new high watermark.
   */
  readonly removed: Row[];
  /** A truncate lies in the window: rows of an earlier read that no change names may be gone too. */
  readonly truncated: boolean;
}

/**
 * {@link mergeChunk}, also reporting the rows the changes removed. When the window starts at or
 * before an earlier read's low watermark, every row that read could have written and that is gone
 * now is among `removed`: a row missing at the high watermark was deleted or moved by a change
 * after the earlier read, which lies in the window.
 */
export function mergeChunkWithRemovals<O>(
  rows: Iterable<Row>,
  changes: Iterable<ChunkChange<O>>,
  space: ChunkKeySpace,
): MergedChunk {
  const buffer = bufferRows(rows, space);
  const touched = new Map<string | number, Row>();
  let truncated = false;
  for (const change of changes) {
    if (change.kind === 'truncate') truncated = true;
    if (change.kind === 'change' && change.op !== 'c') {
      const image = (change.before ?? change.after) as Row;
      const oldKey = space.keyOf(image);
      if (space.inChunk(oldKey)) touched.set(keyIdentity(oldKey), image);
    }
    applyChange(buffer, change, space);
  }
  const removed: Row[] = [];
  for (const [id, image] of touched) if (!buffer.has(id)) removed.push(image);
  return { rows: [...buffer.values()], removed, truncated };
}
