import { decodeRowid, encodeRowid, type RowidParts } from './rowid.js';

/** One extent of a table's segment, as DBA_EXTENTS (with DBA_OBJECTS.DATA_OBJECT_ID) lists it. */
export interface Extent {
  readonly objectId: number;
  /** RELATIVE_FNO; 1024 in a bigfile tablespace, whose ROWIDs hold the block number in FFF too. */
  readonly file: number;
  readonly block: number;
  readonly blocks: number;
}

/** Rows per block assumed when the table has no statistics (NUM_ROWS/BLOCKS never gathered). */
export const DEFAULT_ROWS_PER_BLOCK = 64;

const BIGFILE_FNO = 1024;
const BLOCK_DIGITS = 64 ** 6;

/** Block addresses compared in ROWID order: data object, file, block. */
type Position = readonly [objectId: number, file: number, block: number];

/** The ROWID of row slot 0 of a block (a bigfile tablespace's block number spans FFFBBBBBB). */
function blockStart(objectId: number, file: number, block: number): string {
  const parts: RowidParts =
    file === BIGFILE_FNO
      ? { objectId, file: Math.floor(block / BLOCK_DIGITS), block: block % BLOCK_DIGITS, row: 0 }
      : { objectId, file, block, row: 0 };
  return encodeRowid(parts);
}

function positionOf(extent: Extent, rowid: RowidParts): Position {
  return extent.file === BIGFILE_FNO
    ? [rowid.objectId, BIGFILE_FNO, rowid.file * BLOCK_DIGITS + rowid.block]
    : [rowid.objectId, rowid.file, rowid.block];
}

const before = (a: Position, b: Position): boolean =>
  a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];

/**
 * The end of a ROWID-range chunk that starts at `from` (a ROWID this function returned, or null for
 * the table's start) and spans `blocks` blocks of the table's extents: the ROWID of slot 0 of the
 * first block after them. Null when the extents after `from` hold no more than `blocks` blocks (the
 * rest of the table is the last chunk, open-ended, so rows in extents added later are read too).
 * The same idea as DBMS_PARALLEL_EXECUTE.CREATE_CHUNKS_BY_ROWID, but computed here from DBA_EXTENTS,
 * so it needs no task tables or CREATE JOB, and the core's splitter can walk it one chunk at a time.
 */
export function nextRowidBoundary(extents: readonly Extent[], from: string | null, blocks: number): string | null {
  const start = from === null ? null : decodeRowid(from);
  let need = Math.max(1, Math.floor(blocks));
  for (const e of extents) {
    const first: Position = [e.objectId, e.file, e.block];
    const end: Position = [e.objectId, e.file, e.block + e.blocks];
    let at = e.block;
    if (start !== null) {
      const s = positionOf(e, start);
      if (!before(s, end)) continue; // the extent lies wholly before the chunk's start
      if (before(first, s)) at = s[2];
      // A start inside a block (not slot 0) can only come from another splitter; count its block whole.
    }
    const available = e.block + e.blocks - at;
    if (available > need) return blockStart(e.objectId, e.file, at + need);
    need -= available;
  }
  return null;
}

/** Blocks per chunk: `chunkSize` rows at the statistics' rows per block (or the default). */
export function blocksPerChunk(chunkSize: number, numRows: number | null, blocks: number | null): number {
  const perBlock =
    numRows !== null && blocks !== null && numRows > 0 && blocks > 0 ? numRows / blocks : DEFAULT_ROWS_PER_BLOCK;
  return Math.max(1, Math.ceil(chunkSize / perBlock));
}
