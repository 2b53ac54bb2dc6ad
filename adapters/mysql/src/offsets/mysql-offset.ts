import { CheckpointError, type JsonValue, type OffsetCodec } from '@highwater/core';

/**
 * A position in the binlog, ordered the way the log reader delivers it.
 *
 * - `file`: the binlog file (`binlog.000042`); files are ordered by their numeric suffix.
 * - `pos`: where the transaction starts in `file` (the end of the previous transaction, DDL or
 *   rotate). MariaDB writes 0 as the end position of events inside a transaction, so the offset is
 *   anchored on the transaction, not on its events.
 * - `eventIndex`: the rows event inside the transaction, from 0 (every rows event counts, whatever
 *   its table, so the numbering does not depend on which tables are captured).
 * - `rowIndex`: the row inside that rows event, from 0.
 * - `gtid`: the transaction's GTID where the server has one (informational; not compared).
 *
 * A **watermark** or progress position at binlog position `P` is `{file, pos: P, eventIndex: -1,
 * rowIndex: -1}`: after every row of a transaction that starts before `P`, before every row of the
 * transaction that starts at `P`.
 */
export interface MysqlOffset {
  readonly file: string;
  readonly pos: number;
  readonly eventIndex: number;
  readonly rowIndex: number;
  readonly gtid?: string;
}

/** The position just before binlog position `pos` of `file`. */
export function positionAt(file: string, pos: number): MysqlOffset {
  return { file, pos, eventIndex: -1, rowIndex: -1 };
}

/**
 * An offset with its properties always in the serialised order (`gtid` only when it is a string):
 * one object literal per call, no spread — the log reader builds one per row, `toJSON` one per event.
 */
export function mysqlOffset(
  file: string,
  pos: number,
  eventIndex: number,
  rowIndex: number,
  gtid: string | undefined,
): MysqlOffset {
  return gtid === undefined ? { file, pos, eventIndex, rowIndex } : { file, pos, eventIndex, rowIndex, gtid };
}

/** The numeric suffix of a binlog file name (`mysql-bin.000123` → 123). */
export function fileNumber(file: string): number {
  const dot = file.lastIndexOf('.');
  const n = Number(file.slice(dot + 1));
  if (dot < 0 || !Number.isSafeInteger(n)) throw new Error(`not a binlog file name: ${JSON.stringify(file)}`);
  return n;
}

export function compareOffsets(a: MysqlOffset, b: MysqlOffset): number {
  if (a.file !== b.file) {
    const d = fileNumber(a.file) - fileNumber(b.file);
    if (d !== 0) return d;
    return a.file < b.file ? -1 : 1;
  }
  if (a.pos !== b.pos) return a.pos - b.pos;
  if (a.eventIndex !== b.eventIndex) return a.eventIndex - b.eventIndex;
  return a.rowIndex - b.rowIndex;
}

function invalid(json: JsonValue): CheckpointError {
  return new CheckpointError(
    `mysql: ${JSON.stringify(json)} is not a MySQL offset (expected {"file": "binlog.000001", "pos": n, "eventIndex": n, "rowIndex": n}); ` +
      'was the checkpoint written by another adapter?',
  );
}

const isIndex = (v: JsonValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;

/** Offsets serialised as `{"file": "binlog.000003", "pos": 1234, "eventIndex": 0, "rowIndex": 2}` (plus `"gtid"` when known). */
export const mysqlOffsets: OffsetCodec<MysqlOffset> = {
  compare: compareOffsets,
  // Called by the core for every event: a fresh object (never the offset itself, which the reader
  // keeps), built in one literal.
  toJSON(o: MysqlOffset): JsonValue {
    if (o.gtid === undefined) return { file: o.file, pos: o.pos, eventIndex: o.eventIndex, rowIndex: o.rowIndex };
    return { file: o.file, pos: o.pos, eventIndex: o.eventIndex, rowIndex: o.rowIndex, gtid: o.gtid };
  },
  fromJSON(json: JsonValue): MysqlOffset {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid(json);
    const o = json as { readonly [key: string]: JsonValue };
    const allowed = new Set(['file', 'pos', 'eventIndex', 'rowIndex', 'gtid']);
    if (Object.keys(o).some((k) => !allowed.has(k))) throw invalid(json);
    const { file, pos, eventIndex, rowIndex, gtid } = o;
    if (typeof file !== 'string' || !/^[^/\\]+\.\d+$/.test(file)) throw invalid(json);
    if (typeof pos !== 'number' || !Number.isSafeInteger(pos) || pos < 0) throw invalid(json);
    if (!isIndex(eventIndex) || !isIndex(rowIndex)) throw invalid(json);
    if (gtid !== undefined && typeof gtid !== 'string') throw invalid(json);
    return mysqlOffset(file, pos, eventIndex, rowIndex, gtid);
  },
};
