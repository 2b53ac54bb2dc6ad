import type { Row, Value } from '@highwater/core';
import { type ColumnDecoder, decoderFor } from '../types/decode.js';
import {
  type ColumnFamily,
  DATE_FORMAT,
  familyOf,
  type OracleColumn,
  TIMESTAMP_FORMAT,
  TIMESTAMP_TZ_FORMAT,
} from '../types/oracle-column.js';

/**
 * `EMPTY_CLOB()`/`EMPTY_BLOB()`: LogMiner writes these where a LOB's contents follow in separate
 * LOB_WRITE records (or not at all); the value is not in the statement. The row change then lists
 * the column as unchanged rather than inventing a value (see docs/adapters/oracle.md, "LOBs").
 */
export const LOB_NOT_LOGGED: unique symbol = Symbol('lob not logged');

/** `UNISTR('\00e9\\')`: `\XXXX` is a UTF-16 code unit, `\\` a backslash. */
export function unistr(text: string): string {
  let at = text.indexOf('\\');
  if (at < 0) return text;
  // A loop rather than a replace with a callback: a third of the time on UNISTR-heavy redo.
  let out = '';
  let from = 0;
  for (; at >= 0; at = text.indexOf('\\', from)) {
    out += text.slice(from, at);
    if (text.charCodeAt(at + 1) === 92) {
      out += '\\';
      from = at + 2;
      continue;
    }
    const code = hex4(text, at + 1);
    if (code < 0) {
      out += '\\'; // not an escape: kept as written
      from = at + 1;
      continue;
    }
    out += String.fromCharCode(code);
    from = at + 5;
  }
  return out + text.slice(from);
}

/** The UTF-16 code unit written as four hex digits at `i`, -1 when they are not there. */
function hex4(text: string, i: number): number {
  let code = 0;
  for (let k = i; k < i + 4; k++) {
    const c = text.charCodeAt(k);
    const d = c < 128 ? (HEX[c] as number) : -1;
    if (d < 0) return -1;
    code = (code << 4) | d;
  }
  return code;
}

/** A hex digit's value by character code, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

export function hexToBytes(hex: string): Uint8Array {
  const n = hex.length;
  if (n % 2 !== 0) throw new Error(`HEXTORAW of ${JSON.stringify(hex)}`);
  const out = new Uint8Array(n / 2);
  for (let i = 0; i < n; i += 2) {
    const a = hex.charCodeAt(i);
    const b = hex.charCodeAt(i + 1);
    const hi = a < 128 ? (HEX[a] as number) : -1;
    const lo = b < 128 ? (HEX[b] as number) : -1;
    if (hi < 0 || lo < 0) throw new Error(`HEXTORAW of ${JSON.stringify(hex)}`);
    out[i >> 1] = (hi << 4) | lo;
  }
  return out;
}

function checkFormat(args: readonly (string | null)[], expected: string, name: string): void {
  if (args.length < 2) return; // the session's default format, which SESSION_SETUP fixed
  if (args[1] !== expected) {
    throw new Error(`${name} with format ${JSON.stringify(args[1])}; the session sets ${expected}`);
  }
}

/** A column of the table being decoded, with what typing its values needs, looked up once. */
export interface ColumnEntry {
  readonly name: string;
  readonly column: OracleColumn;
  readonly family: ColumnFamily;
  readonly decode: ColumnDecoder;
}

/**
 * A quoted literal (or bare number) SQL_REDO wrote for `entry`'s column, typed: the text a session
 * returns for the same column on the snapshot path, through the same decoder (hex for RAW/BLOB).
 */
export function typedLiteral(entry: ColumnEntry, text: string): Value {
  const f = entry.family;
  return entry.decode(f === 'bytes' || f === 'blob' ? hexToBytes(text) : text);
}

/**
 * A function call SQL_REDO wrote for `entry`'s column (`TO_DATE('…')`, `HEXTORAW('…')`, …), typed;
 * `LOB_NOT_LOGGED` for `EMPTY_CLOB()`/`EMPTY_BLOB()`.
 */
export function typedCall(
  entry: ColumnEntry,
  name: string,
  args: readonly (string | null)[],
): Value | typeof LOB_NOT_LOGGED {
  const text = args[0] ?? null;
  switch (name) {
    case 'EMPTY_CLOB':
    case 'EMPTY_BLOB':
      return LOB_NOT_LOGGED;
    case 'TO_DATE':
      checkFormat(args, DATE_FORMAT, name);
      return entry.decode(text);
    case 'TO_TIMESTAMP':
      checkFormat(args, TIMESTAMP_FORMAT, name);
      return entry.decode(text);
    case 'TO_TIMESTAMP_TZ':
      checkFormat(args, TIMESTAMP_TZ_FORMAT, name);
      return entry.decode(text);
    case 'HEXTORAW':
      if (text === null) break;
      return entry.decode(hexToBytes(text));
    case 'UNISTR':
      if (text === null) break;
      return entry.decode(unistr(text));
    case 'TO_YMINTERVAL':
    case 'TO_DSINTERVAL':
    case 'TO_BINARY_FLOAT':
    case 'TO_BINARY_DOUBLE':
    case 'TO_NUMBER':
      return entry.decode(text);
  }
  throw new Error(`SQL_REDO function ${name}(…) is not supported for column ${entry.name} (${entry.column.dataType})`);
}

/** A table's columns with their decoders, looked up by name as SQL_REDO writes it. */
export class RedoRowDecoder {
  private readonly byName = new Map<string, ColumnEntry>();
  /** The entries in the table's column order, which SQL_REDO's column lists and WHERE clauses follow. */
  readonly entries: readonly ColumnEntry[];

  constructor(readonly columns: readonly OracleColumn[]) {
    for (const column of columns)
      this.byName.set(column.name, { name: column.name, column, family: familyOf(column), decode: decoderFor(column) });
    this.entries = [...this.byName.values()];
  }

  /** The position of `entry` in `entries`. */
  indexOf(entry: ColumnEntry): number {
    return this.entries.indexOf(entry);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The column SQL_REDO names; an unknown one throws (the caller re-reads the definition). */
  entry(name: string): ColumnEntry {
    const entry = this.byName.get(name);
    if (entry === undefined) throw new UnknownColumnError(name);
    return entry;
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
