import type { Value } from '@highwater/core';
import { type ColumnFamily, familyOf, type OracleColumn } from './oracle-column.js';

/**
 * Turns what a session returns for a column (see `OracleSession`) into Highwater's value. The redo
 * path first turns each SQL_REDO literal into the same raw form (`redo/redo-values.ts`), then uses
 * the same decoder: one function per column family, so both paths agree by construction.
 */
export type ColumnDecoder = (raw: unknown) => Value;

/** A decimal in Oracle's text (`-.5`, `1E+40`, `12.30`) as Highwater's exact decimal string (`-0.5`, `1` + 40 zeros, `12.3`). */
export function normalizeDecimal(text: string): string {
  let s = text.trim();
  let sign = '';
  if (s.startsWith('-')) {
    sign = '-';
    s = s.slice(1);
  } else if (s.startsWith('+')) s = s.slice(1);
  let exponent = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exponent = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  if (!/^(\d+\.?\d*|\.\d+)$/.test(s) || !Number.isSafeInteger(exponent))
    throw new Error(`not a number: ${JSON.stringify(text)}`);
  const dot = s.indexOf('.');
  let digits = dot < 0 ? s : s.slice(0, dot) + s.slice(dot + 1);
  let point = (dot < 0 ? s.length : dot) + exponent;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  let whole = digits.slice(0, point).replace(/^0+/, '') || '0';
  const fraction = digits.slice(point).replace(/0+$/, '');
  if (whole === '0' && fraction === '') sign = '';
  whole = whole || '0';
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

function integer(raw: unknown): Value {
  const text = normalizeDecimal(String(raw));
  if (text.includes('.')) throw new Error(`not an integer: ${text}`);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function float(raw: unknown, single: boolean): Value {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else {
    const t = String(raw).trim();
    // BINARY_FLOAT/DOUBLE special values as Oracle's TO_CHAR writes them.
    if (/^-?inf$/i.test(t)) n = t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    else if (/^nan$/i.test(t)) n = Number.NaN;
    else n = Number(t);
    if (Number.isNaN(n) && !/^nan$/i.test(t)) throw new Error(`not a binary float: ${JSON.stringify(raw)}`);
  }
  return single ? Math.fround(n) : n;
}

const TIMESTAMP_TEXT = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: ([+-])(\d\d):(\d\d))?$/;

/** Oracle fractional seconds with trailing zeros trimmed, none when zero (the form every adapter emits). */
function fraction(digits: string | undefined): string {
  const f = (digits ?? '').replace(/0+$/, '');
  return f === '' ? '' : `.${f}`;
}

function timestamp(raw: unknown, zoned: boolean): Value {
  const text = String(raw);
  const m = TIMESTAMP_TEXT.exec(text);
  if (m === null) throw new Error(`unexpected date/time text: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, f, sign, oh, om] = m;
  if (!zoned) return `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction(f)}`;
  const offsetMinutes = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  if (offsetMinutes === 0) return `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction(f)}Z`;
  const utc = new Date(
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi) - offsetMinutes, Number(s)),
  );
  return `${utc.toISOString().slice(0, 19)}${fraction(f)}Z`;
}

/** `+02-03` (TO_CHAR of INTERVAL YEAR TO MONTH) → `P2Y3M`; `-00-01` → `-P0Y1M`. */
function intervalYm(raw: unknown): Value {
  const m = /^([+-])?(\d+)-(\d+)$/.exec(String(raw).trim());
  if (m === null) throw new Error(`unexpected INTERVAL YEAR TO MONTH text: ${JSON.stringify(raw)}`);
  return `${m[1] === '-' ? '-' : ''}P${Number(m[2])}Y${Number(m[3])}M`;
}

/** `+01 02:03:04.500000` (TO_CHAR of INTERVAL DAY TO SECOND) → `P1DT2H3M4.5S`. */
function intervalDs(raw: unknown): Value {
  const m = /^([+-])?(\d+) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(String(raw).trim());
  if (m === null) throw new Error(`unexpected INTERVAL DAY TO SECOND text: ${JSON.stringify(raw)}`);
  return `${m[1] === '-' ? '-' : ''}P${Number(m[2])}DT${Number(m[3])}H${Number(m[4])}M${Number(m[5])}${fraction(m[6])}S`;
}

function bytes(raw: unknown): Value {
  if (raw instanceof Uint8Array) return raw;
  throw new Error(`expected bytes, got ${typeof raw}`);
}

const decoders: Record<ColumnFamily, ColumnDecoder> = {
  int: integer,
  decimal: (raw) => normalizeDecimal(String(raw)),
  float32: (raw) => float(raw, true),
  float64: (raw) => float(raw, false),
  string: (raw) => String(raw),
  clob: (raw) => String(raw),
  bytes,
  blob: bytes,
  date: (raw) => timestamp(raw, false),
  timestamp: (raw) => timestamp(raw, false),
  timestamptz: (raw) => timestamp(raw, true),
  'interval-ym': intervalYm,
  'interval-ds': intervalDs,
  rowid: (raw) => String(raw),
  unsupported: (raw) => (raw === undefined ? null : String(raw)),
};

/** The decoder of a column; `null` always decodes to `null`. */
export function decoderFor(column: OracleColumn): ColumnDecoder {
  const decode = decoders[familyOf(column)];
  return (raw) => {
    if (raw === null || raw === undefined) return null;
    try {
      return decode(raw);
    } catch (error) {
      throw new Error(`column ${column.name} (${column.dataType}): ${(error as Error).message}`);
    }
  };
}
