import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  type ChangeEvent,
  type ChunkReader,
  ConfigError,
  createTableSplitter,
  type EventFormat,
  EventLineEncoder,
  type Introspector,
  type Key,
  type Row,
  type TableSchema,
  tableName,
} from '@highwater/core';
import { readFileSinkState } from '@highwater/sink-file';
import type { TableReport } from './verify-report.js';

/** One change line of a file sink's output, reduced to what a comparison needs. */
interface DecodedLine {
  /** The table as the line names it: `source.table` (native) or the Debezium topic. */
  readonly table: string;
  /** `t`: every row of the table went. */
  readonly op: 'r' | 'c' | 'u' | 'd' | 't';
  /** Canonical JSON of the key columns (absent for truncates). */
  readonly key: string;
  /** Canonical JSON of the after-image; null for deletes and truncates. */
  readonly row: string | null;
}

/** JSON text with object keys sorted at every level, so two encodings of one row compare equal as text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A line of either format as a change (null for schema changes and anything else that is not one). */
function decodeLine(line: string, format: EventFormat): DecodedLine | null {
  const o = JSON.parse(line) as Record<string, unknown>;
  if (format === 'native') {
    if (o.kind === 'truncate') return { table: String(o.table), op: 't', key: '', row: null };
    if (o.kind !== 'change') return null;
    const op = o.op as DecodedLine['op'];
    const source = o.source as { table: string };
    return { table: source.table, op, key: canonical(o.key), row: op === 'd' ? null : canonical(o.after) };
  }
  const value = o.value as { op?: DecodedLine['op']; after?: unknown } | undefined;
  if (value?.op === undefined) return null;
  const table = String(o.topic);
  if (value.op === 't') return { table, op: 't', key: '', row: null };
  return { table, op: value.op, key: canonical(o.key), row: value.op === 'd' ? null : canonical(value.after) };
}

/**
 * The tables of a file sink's output as they stand after its last checkpointed batch: per table
 * name (as the lines name it), each key's last after-image. Lines past the checkpointed length (a
 * batch being written when the pipeline stopped) are not read: the sink cuts them off on restart.
 */
async function materialise(path: string, format: EventFormat): Promise<Map<string, Map<string, string>>> {
  const state = await readFileSinkState(path);
  const tables = new Map<string, Map<string, string>>();
  if (state === null || state.length === 0) return tables;
  const lines = createInterface({ input: createReadStream(path, { start: 0, end: state.length - 1 }), crlfDelay: 1 });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line === '') continue;
    let decoded: DecodedLine | null;
    try {
      decoded = decodeLine(line, format);
    } catch (error) {
      throw new ConfigError(
        `${path}:${n}: not a ${format} event line (${error instanceof Error ? error.message : String(error)}): is sink.format the format the file was written in?`,
      );
    }
    if (decoded === null) continue;
    let rows = tables.get(decoded.table);
    if (rows === undefined) {
      rows = new Map();
      tables.set(decoded.table, rows);
    }
    if (decoded.op === 't') rows.clear();
    else if (decoded.row === null) rows.delete(decoded.key);
    else rows.set(decoded.key, decoded.row);
  }
  return tables;
}

/** A row of `table` as the snapshot read event of it that a sink gets (time 0, no offset). */
export function snapshotReadEvent(table: TableSchema, row: Row, connector: string): ChangeEvent {
  return {
    kind: 'change',
    op: 'r',
    key: Object.fromEntries(table.primaryKey.map((k) => [k, row[k] ?? null])),
    before: null,
    after: row,
    beforeImage: 'none',
    unknownColumns: [],
    source: {
      connector,
      table: tableName(table.id),
      tableId: table.id,
      opTs: 0,
      offset: null,
      txId: null,
      snapshot: true,
    },
  };
}

export interface FileTargetComparison {
  readonly path: string;
  readonly format: EventFormat;
  /** Debezium `source.name` and topic prefix the sink wrote with (the pipeline name). */
  readonly serverName: string;
  readonly adapterName: string;
  readonly tables: readonly TableSchema[];
  readonly introspector: Pick<Introspector<unknown>, 'keyRange' | 'estimateRowCount' | 'nextChunkBoundary'>;
  readonly reader: ChunkReader;
  readonly compareKeys: (table: TableSchema, a: Key, b: Key) => number;
  readonly chunkSize: number;
  readonly maxKeys: number;
}

/**
 * Compares captured tables with a file sink's output: the file's lines are replayed into the last
 * image per key, and each source row is read with the adapter and written as the file sink writes
 * a snapshot read (`EventLineEncoder`), so equal rows give equal JSON. Like verify for a MongoDB
 * source against a SQL target, it compares the source as the adapter reads it with what the sink
 * stored: a value the adapter itself read wrongly would not show.
 */
export async function compareFileTarget(c: FileTargetComparison): Promise<TableReport[]> {
  const stored = await materialise(c.path, c.format);
  const encoder = new EventLineEncoder(c.format, c.serverName);
  const reports: TableReport[] = [];
  for (const table of c.tables) {
    const name = tableName(table.id);
    const decode = (event: ChangeEvent): DecodedLine =>
      decodeLine(encoder.encode([event]).trimEnd(), c.format) as DecodedLine;
    const readEvent = (row: Row): ChangeEvent => snapshotReadEvent(table, row, c.adapterName);
    const splitter = createTableSplitter({
      table,
      tableName: name,
      boundaries: c.introspector,
      compareKeys: (a, b) => c.compareKeys(table, a, b),
      chunkSize: c.chunkSize,
    });
    let target: string | null = null;
    let rows: Map<string, string> | undefined;
    const missing: string[] = [];
    const different: string[] = [];
    const seen = new Set<string>();
    let sourceRows = 0;
    let chunks = 0;
    for (let split = await splitter.next(); split !== null; split = await splitter.next()) {
      chunks++;
      for await (const batch of c.reader.readChunk(table, split.range)) {
        for (const row of batch) {
          const line = decode(readEvent(row));
          if (target === null) {
            target = line.table;
            rows = stored.get(target);
          }
          sourceRows++;
          seen.add(line.key);
          const there = rows?.get(line.key);
          if (there === undefined) missing.push(line.key);
          else if (there !== line.row) different.push(line.key);
        }
      }
    }
    // A table with no source rows is still looked up by the name its lines would carry.
    if (target === null) {
      target = decode(readEvent(Object.fromEntries(table.primaryKey.map((k) => [k, null])))).table;
      rows = stored.get(target);
    }
    const extra = [...(rows?.keys() ?? [])].filter((k) => !seen.has(k));
    reports.push({
      table: name,
      target: `${c.path} (${target})`,
      sourceRows,
      targetRows: rows?.size ?? 0,
      chunks,
      chunksCompared: chunks,
      missing: missing.length,
      extra: extra.length,
      different: different.length,
      missingKeys: missing.slice(0, c.maxKeys),
      extraKeys: extra.slice(0, c.maxKeys),
      differentKeys: different.slice(0, c.maxKeys),
      error: null,
    });
  }
  return reports;
}
