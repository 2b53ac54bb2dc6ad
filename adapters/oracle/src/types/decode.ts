import { civilFromDays, daysFromCivil, type Value } from '@highwater/core';
import { type ColumnFamily, familyOf, type OracleColumn } from './oracle-column.js';

/**
 * Turns what a session returns for a column (see `OracleSession`) into Highwater's value. The redo
 * path first turns each SQL_REDO literal into the same raw form (`redo/redo-values.ts`), then uses
 * the same decoder: one function per column family, so both paths agree by construction.
 */
export type ColumnDecoder = (raw: unknown) => Value;

/**
 * True when `text` is already canonical: an optional `-`, digits without a leading zero (or `0`),
 * and optionally `.` and digits not ending in zero — most of what Oracle's TO_CHAR and SQL_REDO write.
 */
function isCanonicalDecimal(text: string): boolean {
  const n = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const first = i;
  while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  const digits = i - first;
  if (digits === 0 || (digits > 1 && text.charCodeAt(first) === 48)) return false;
  if (i === n) return !(digits === 1 && first === 1 && text.charCodeAt(1) === 48); // not "-0"
  if (text.charCodeAt(i) !== 46 || i === n - 1) return false;
  for (let k = i + 1; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return text.charCodeAt(n - 1) !== 48;
}

/** A decimal in Oracle's text (`-.5`, `1E+40`, `12.30`) as Highwater's exact decimal string (`-0.5`, `1` + 40 zeros, `12.3`). */
export function normalizeDecimal(text: string): string {
  if (isCanonicalDecimal(text)) return text;
  // `12.50`, `3.000`: canonical once the fraction's trailing zeros (and a bare point) go.
  if (text.charCodeAt(text.length - 1) === 48 && text.includes('.')) {
    let end = text.length;
    while (text.charCodeAt(end - 1) === 48) end--;
    if (text.charCodeAt(end - 1) === 46) end--;
    const trimmed = text.slice(0, end);
    if (isCanonicalDecimal(trimmed)) return trimmed;
  }
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

const digitAt = (t: string, i: number) => {
  const c = t.charCodeAt(i);
  return c >= 48 && c <= 57;
};

const two = (t: string, i: number) => (t.charCodeAt(i) - 48) * 10 + t.charCodeAt(i + 1) - 48;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `YYYY-MM-DDTHH:MI:SS` in UTC of the local date-time at the start of `t` with an offset in minutes. */
function utcOf(t: string, offsetMinutes: number): string {
  const y = two(t, 0) * 100 + two(t, 2);
  const minutes = daysFromCivil(y, two(t, 5), two(t, 8)) * 1440 + two(t, 11) * 60 + two(t, 14) - offsetMinutes;
  const days = Math.floor(minutes / 1440);
  const inDay = minutes - days * 1440;
  const [yy, mm, dd] = civilFromDays(days);
  return `${pad(yy, 4)}-${pad(mm, 2)}-${pad(dd, 2)}T${pad(Math.floor(inDay / 60), 2)}:${pad(inDay % 60, 2)}:${t.slice(17, 19)}`;
}

/** `YYYY-MM-DD HH24:MI:SS` at the start of `t`, checked by position (the NLS format SESSION_SETUP fixes). */
function isDateTimePrefix(t: string): boolean {
  if (t.length < 19) return false;
  for (let i = 0; i < 19; i++) {
    const c = t.charCodeAt(i);
    const want = i === 4 || i === 7 ? 45 : i === 10 ? 32 : i === 13 || i === 16 ? 58 : -1;
    if (want >= 0 ? c !== want : !digitAt(t, i)) return false;
  }
  return true;
}

function timestamp(raw: unknown, zoned: boolean): Value {
  const text = String(raw);
  // Fast path: the fixed NLS layout, read by position: `YYYY-MM-DD HH:MI:SS[.fffffffff][ ±HH:MM]`.
  if (isDateTimePrefix(text)) {
    let i = 19;
    let fractionText = '';
    if (text.charCodeAt(i) === 46) {
      const start = ++i;
      while (i < text.length && digitAt(text, i) && i - start < 9) i++;
      if (i > start) {
        let end = i;
        while (end > start && text.charCodeAt(end - 1) === 48) end--;
        fractionText = end > start ? `.${text.slice(start, end)}` : '';
      } else i = -1;
    }
    const local = `${text.slice(0, 10)}T${text.slice(11, 19)}`;
    if (i === text.length && i >= 0) {
      if (!zoned) return local + fractionText;
      return `${local}${fractionText}Z`;
    }
    if (
      zoned &&
      i >= 0 &&
      text.length === i + 7 &&
      text.charCodeAt(i) === 32 &&
      (text.charCodeAt(i + 1) === 43 || text.charCodeAt(i + 1) === 45) &&
      digitAt(text, i + 2) &&
      digitAt(text, i + 3) &&
      text.charCodeAt(i + 4) === 58 &&
      digitAt(text, i + 5) &&
      digitAt(text, i + 6)
    ) {
      const offsetMinutes = (text.charCodeAt(i + 1) === 45 ? -1 : 1) * (two(text, i + 2) * 60 + two(text, i + 5));
      if (offsetMinutes === 0) return `${local}${fractionText}Z`;
      return `${utcOf(text, offsetMinutes)}${fractionText}Z`;
    }
  }
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
