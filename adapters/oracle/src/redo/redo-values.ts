import type { Row, Value } from '@highwater/core';
import { type ColumnDecoder, decoderFor } from '../types/decode.js';
import {
  DATE_FORMAT,
  familyOf,
  type OracleColumn,
  TIMESTAMP_FORMAT,
  TIMESTAMP_TZ_FORMAT,
} from '../types/oracle-column.js';
import type { RedoValue } from './parser.js';

/**
 * `EMPTY_CLOB()`/`EMPTY_BLOB()`: LogMiner writes these where a LOB's contents follow in separate
 * LOB_WRITE records (or not at all); the value is not in the statement. The row change then lists
 * the column as unchanged rather than inventing a value (see docs/adapters/oracle.md, "LOBs").
 */
export const LOB_NOT_LOGGED: unique symbol = Symbol('lob not logged');

/** `UNISTR('\00e9\\')`: `\XXXX` is a UTF-16 code unit, `\\` a backslash. */
export function unistr(text: string): string {
  return text.replace(/\\(\\|[0-9A-Fa-f]{4})/g, (_, code: string) =>
    code === '\\' ? '\\' : String.fromCharCode(Number.parseInt(code, 16)),
  );
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(hex)) throw new Error(`HEXTORAW of ${JSON.stringify(hex)}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function format(args: readonly RedoValue[], expected: string, name: string): void {
  const f = args[1];
  if (f === undefined) return; // the session's default format, which SESSION_SETUP fixed
  if (f.kind !== 'literal' || f.text !== expected) {
    throw new Error(
      `${name} with format ${JSON.stringify(f.kind === 'literal' ? f.text : f)}; the session sets ${expected}`,
    );
  }
}

/**
 * The value SQL_REDO wrote for a column, in the form a session returns for the same column on the
 * snapshot path (text for NUMBER and date/time types, bytes for RAW, a number for BINARY_*).
 */
export function rawOf(column: OracleColumn, v: RedoValue): unknown {
  if (v.kind === 'null') return null;
  if (v.kind === 'literal') {
    const family = familyOf(column);
    if (family === 'bytes' || family === 'blob') return hexToBytes(v.text);
    return v.text;
  }
  const arg = v.args[0];
  const text = arg?.kind === 'literal' ? arg.text : null;
  switch (v.name) {
    case 'EMPTY_CLOB':
    case 'EMPTY_BLOB':
      return LOB_NOT_LOGGED;
    case 'TO_DATE':
      format(v.args, DATE_FORMAT, v.name);
      return text;
    case 'TO_TIMESTAMP':
      format(v.args, TIMESTAMP_FORMAT, v.name);
      return text;
    case 'TO_TIMESTAMP_TZ':
      format(v.args, TIMESTAMP_TZ_FORMAT, v.name);
      return text;
    case 'HEXTORAW':
      if (text === null) break;
      return hexToBytes(text);
    case 'UNISTR':
      if (text === null) break;
      return unistr(text);
    case 'TO_YMINTERVAL':
    case 'TO_DSINTERVAL':
    case 'TO_BINARY_FLOAT':
    case 'TO_BINARY_DOUBLE':
    case 'TO_NUMBER':
      return text;
  }
  throw new Error(`SQL_REDO function ${v.name}(…) is not supported for column ${column.name} (${column.dataType})`);
}

/** A table's columns with their decoders, looked up by name as SQL_REDO writes it. */
export class RedoRowDecoder {
  private readonly byName = new Map<string, { column: OracleColumn; decode: ColumnDecoder }>();

  constructor(readonly columns: readonly OracleColumn[]) {
    for (const column of columns) this.byName.set(column.name, { column, decode: decoderFor(column) });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * The columns of `values` as a row, typed; names of LOB columns whose contents SQL_REDO did not
   * carry go to `unlogged`. An unknown column throws (the caller re-reads the definition).
   */
  decode(values: ReadonlyMap<string, RedoValue>, unlogged: string[]): Record<string, Value> {
    const row: Record<string, Value> = {};
    for (const [name, v] of values) {
      const entry = this.byName.get(name);
      if (entry === undefined) throw new UnknownColumnError(name);
      const raw = rawOf(entry.column, v);
      if (raw === LOB_NOT_LOGGED) unlogged.push(name);
      else row[name] = entry.decode(raw);
    }
    return row;
  }

  /** A full row: every column, null where `row` lacks it. */
  complete(row: Row): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const c of this.columns) out[c.name] = row[c.name] ?? null;
    return out;
  }
}

export class UnknownColumnError extends Error {
  constructor(readonly column: string) {
    super(`SQL_REDO names column ${column}, which the table's definition lacks`);
  }
}
