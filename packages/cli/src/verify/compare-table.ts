import { createTableSplitter, type Introspector, type Key, type TableSchema, tableName } from '@highwater/core';
import { addTextRows, type ChunkRows, emptyChunk, sameChecksum } from './chunk-rows.js';
import type { SourceRowsReader } from './row-text-reader.js';
import { readTextChunk, type SideTable, type TextSide } from './text-reader.js';
import type { TableReport } from './verify-report.js';

export interface TableComparison {
  readonly source: TableSchema;
  /** The same table in the target (id and native types of the target). */
  readonly target: TableSchema;
  readonly introspector: Pick<Introspector<unknown>, 'keyRange' | 'estimateRowCount' | 'nextChunkBoundary'>;
  readonly compareKeys: (table: TableSchema, a: Key, b: Key) => number;
  /** Where the source's rows are read as the source server's text; or, for a source without SQL, its rows as canonical text. */
  readonly sourceSide: TextSide | { readonly rows: SourceRowsReader };
  /** Where the target's rows are read as the target server's text. */
  readonly targetSide: TextSide;
  readonly chunkSize: number;
  /** Keys listed per kind of difference. */
  readonly maxKeys: number;
}

/**
 * Rows left unmatched in their chunk, kept until the end of the table: when the target orders keys
 * differently from the source (another collation), a row near a chunk boundary is read in another
 * chunk on each side, and only appears missing on one side and extra on the other.
 */
const PENDING_LIMIT = 100_000;

/**
 * Compares one table chunk by chunk: the source's chunk splitter cuts the key space, both sides read
 * each chunk with a key-range query returning every value as its own server prints it (canonical
 * per type: see server-text.ts), and only chunks whose checksums differ are compared row by row.
 * Values are never decoded by an adapter, so a value the capture changed differs from the source's.
 */
export async function compareTable(c: TableComparison): Promise<TableReport> {
  const name = tableName(c.source.id);
  const splitter = createTableSplitter({
    table: c.source,
    tableName: name,
    boundaries: c.introspector,
    compareKeys: (a, b) => c.compareKeys(c.source, a, b),
    chunkSize: c.chunkSize,
  });
  const sourceSide = c.sourceSide;
  const cross = !('dialect' in sourceSide) || sourceSide.dialect.name !== c.targetSide.dialect.name;
  const side = (table: TableSchema, dialect: TextSide['dialect']): SideTable => ({
    qualified: `${dialect.quote(table.id.schema ?? table.id.database ?? '')}.${dialect.quote(table.id.name)}`,
    columns: table.columns,
    key: table.chunkKey,
  });
  const readSource =
    'dialect' in sourceSide
      ? (range: Parameters<SourceRowsReader>[1]) =>
          readTextChunk(sourceSide, side(c.source, sourceSide.dialect), range, cross)
      : (range: Parameters<SourceRowsReader>[1]) => sourceSide.rows(c.source, range);
  const targetTable = side(c.target, c.targetSide.dialect);
  const missing = new Map<string, { row: string; display: string }>();
  const extra = new Map<string, { row: string; display: string }>();
  const different: string[] = [];
  let overflowMissing = 0;
  let overflowExtra = 0;
  let chunks = 0;
  let chunksCompared = 0;
  let sourceRows = 0;
  let targetRows = 0;
  for (let split = await splitter.next(); split !== null; split = await splitter.next()) {
    const src = emptyChunk();
    const tgt = emptyChunk();
    addTextRows(src, await readSource(split.range));
    addTextRows(tgt, await readTextChunk(c.targetSide, targetTable, split.range, cross));
    chunks++;
    sourceRows += src.rows.size;
    targetRows += tgt.rows.size;
    if (sameChecksum(src, tgt)) continue;
    chunksCompared++;
    const unmatched = (from: ChunkRows, other: ChunkRows, into: typeof missing, overflow: () => void) => {
      for (const [k, row] of from.rows) {
        if (other.rows.has(k)) continue;
        if (into.size < PENDING_LIMIT) into.set(k, { row, display: from.keys.get(k) ?? k });
        else overflow();
      }
    };
    unmatched(src, tgt, missing, () => overflowMissing++);
    unmatched(tgt, src, extra, () => overflowExtra++);
    for (const [k, row] of src.rows) {
      const other = tgt.rows.get(k);
      if (other !== undefined && other !== row) different.push(src.keys.get(k) ?? k);
    }
  }
  for (const [k, m] of missing) {
    const e = extra.get(k);
    if (e === undefined) continue;
    if (e.row !== m.row) different.push(m.display);
    missing.delete(k);
    extra.delete(k);
  }
  const keys = (m: Map<string, { display: string }>) => [...m.values()].slice(0, c.maxKeys).map((v) => v.display);
  return {
    table: name,
    target: tableName(c.target.id),
    sourceRows,
    targetRows,
    chunks,
    chunksCompared,
    missing: missing.size + overflowMissing,
    extra: extra.size + overflowExtra,
    different: different.length,
    missingKeys: keys(missing),
    extraKeys: keys(extra),
    differentKeys: different.slice(0, c.maxKeys),
    error: null,
  };
}
