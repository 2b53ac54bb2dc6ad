import { type Value, compareBytes, compareCodePoints, compareDecimalStrings } from '@highwater/core';
import { familyOf, type OracleColumn } from '../../src/types/oracle-column.js';

/**
 * SIMULATOR. How the simulated database stores a column value ("raw"), how it turns a Highwater
 * value written by a test into one (as the Oracle client would bind it), how it returns it to a
 * session, and how LogMiner writes it in SQL_REDO.
 *
 * Stored forms: NUMBER as a canonical decimal string; VARCHAR2/CHAR/CLOB as strings (CHAR padded to
 * its length; '' is NULL, as in Oracle); RAW/BLOB as bytes (empty is NULL); BINARY_* as numbers;
 * DATE/TIMESTAMP as `YYYY-MM-DD HH24:MI:SS[.FF9]`; TIMESTAMP WITH TIME ZONE with ` +HH:MM`;
 * intervals as TO_CHAR writes them (`+02-03`, `+01 02:03:04.500000000`).
 */
export type Raw = string | number | Uint8Array | null;

const pad9 = (f: string | undefined) => (f ?? '').padEnd(9, '0').slice(0, 9);

function fractionDigits(column: OracleColumn): number {
  const m = /\((\d)\)/.exec(column.dataType);
  return m === null ? 6 : Number(m[1]);
}

/** Cuts fractional seconds to the column's precision, as Oracle rounds on insert (truncation here). */
function limitFraction(f: string, digits: number): string {
  return (f.slice(0, digits) + '0'.repeat(9)).slice(0, 9);
}

/** A Highwater value as the simulator stores it in `column`. */
export function encodeValue(column: OracleColumn, value: Value): Raw {
  if (value === null) return null;
  const family = familyOf(column);
  switch (family) {
    case 'int':
    case 'decimal': {
      const text = typeof value === 'string' ? value : String(value);
      return canonicalNumber(text);
    }
    case 'float32':
      return Math.fround(Number(value));
    case 'float64':
      return Number(value);
    case 'string':
    case 'clob': {
      const s = String(value);
      if (s === '') return null;
      if (column.dataType === 'CHAR' || column.dataType === 'NCHAR') return s.padEnd(column.length ?? 1, ' ');
      return s;
    }
    case 'bytes':
    case 'blob': {
      const b = value as Uint8Array;
      return b.length === 0 ? null : Uint8Array.from(b);
    }
    case 'date': {
      const m = /^(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d:\d\d))?/.exec(String(value));
      if (m === null) throw new Error(`simulator: not a date ${String(value)}`);
      return `${m[1]} ${m[2] ?? '00:00:00'}`;
    }
    case 'timestamp':
    case 'timestamptz': {
      const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$/.exec(String(value));
      if (m === null) throw new Error(`simulator: not a timestamp ${String(value)}`);
      const text = `${m[1]} ${m[2]}.${limitFraction(pad9(m[3]), fractionDigits(column))}`;
      if (family === 'timestamp') return text;
      const zone = m[4] === undefined || m[4] === 'Z' ? '+00:00' : m[4];
      return `${text} ${zone}`;
    }
    case 'interval-ym': {
      const m = /^(-)?P(\d+)Y(\d+)M$/.exec(String(value));
      if (m === null) throw new Error(`simulator: not a year-month interval ${String(value)}`);
      return `${m[1] ?? '+'}${(m[2] as string).padStart(2, '0')}-${(m[3] as string).padStart(2, '0')}`;
    }
    case 'interval-ds': {
      const m = /^(-)?P(\d+)DT(\d+)H(\d+)M(\d+)(?:\.(\d+))?S$/.exec(String(value));
      if (m === null) throw new Error(`simulator: not a day-second interval ${String(value)}`);
      const two = (x: string | undefined) => (x ?? '0').padStart(2, '0');
      return `${m[1] ?? '+'}${two(m[2])} ${two(m[3])}:${two(m[4])}:${two(m[5])}.${pad9(m[6])}`;
    }
    default:
      return String(value);
  }
}

/** Canonical decimal text: no leading `+`, no leading zeros, no trailing fraction zeros. */
export function canonicalNumber(text: string): string {
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (m === null) throw new Error(`simulator: not a number ${text}`);
  const whole = (m[2] ?? '').replace(/^0+/, '') || '0';
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  const negative = m[1] === '-' && !(whole === '0' && fraction === '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** NUMBER as Oracle's TO_CHAR writes it in SQL_REDO: no zero before the point (`-.5`). */
function oracleNumberText(canonical: string): string {
  return canonical.replace(/^(-?)0\./, '$1.');
}

/** BINARY_DOUBLE/FLOAT as TO_CHAR writes it: `3.1415926535897931E+000`, `Inf`, `Nan`. */
function binaryText(n: number, single: boolean): string {
  if (Number.isNaN(n)) return 'Nan';
  if (!Number.isFinite(n)) return n > 0 ? 'Inf' : '-Inf';
  const [mantissa, exponent] = n.toExponential(single ? 8 : 16).split('e') as [string, string];
  const e = Number(exponent);
  return `${mantissa}E${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(3, '0')}`;
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** `UNISTR('\00FC')`: every non-ASCII or control character (and the backslash) as a UTF-16 escape. */
function unistrLiteral(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (code >= 32 && code < 127) out += ch;
    else for (let i = 0; i < ch.length; i++) out += `\\${ch.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `UNISTR(${quote(out)})`;
}

/** LOBs up to this many characters/bytes are written inline in SQL_REDO; longer ones as EMPTY_*() plus LOB_WRITE rows. */
export const INLINE_LOB_LIMIT = 1000;

/**
 * A stored value as LogMiner writes it in SQL_REDO (Oracle Database Utilities, "Using LogMiner":
 * literals in the mining session's NLS formats, numbers quoted, RAW through HEXTORAW, national
 * character data through UNISTR, LOBs whose data is logged separately as EMPTY_CLOB()/EMPTY_BLOB()).
 */
export function redoLiteral(column: OracleColumn, raw: Raw): string {
  if (raw === null) return 'NULL';
  const family = familyOf(column);
  switch (family) {
    case 'int':
    case 'decimal':
      return quote(oracleNumberText(String(raw)));
    case 'float32':
    case 'float64':
      return quote(binaryText(raw as number, family === 'float32'));
    case 'string':
      return column.dataType.startsWith('N') ? unistrLiteral(String(raw)) : quote(String(raw));
    case 'clob':
      return String(raw).length > INLINE_LOB_LIMIT ? 'EMPTY_CLOB()' : quote(String(raw));
    case 'bytes':
      return `HEXTORAW('${Buffer.from(raw as Uint8Array)
        .toString('hex')
        .toUpperCase()}')`;
    case 'blob':
      return (raw as Uint8Array).length > INLINE_LOB_LIMIT
        ? 'EMPTY_BLOB()'
        : `HEXTORAW('${Buffer.from(raw as Uint8Array)
            .toString('hex')
            .toUpperCase()}')`;
    case 'date':
      return `TO_DATE(${quote(String(raw))}, 'YYYY-MM-DD HH24:MI:SS')`;
    case 'timestamp':
      return `TO_TIMESTAMP(${quote(String(raw))})`;
    case 'timestamptz':
      return column.dataType.includes('LOCAL')
        ? `TO_TIMESTAMP(${quote(String(raw).slice(0, 29))})`
        : `TO_TIMESTAMP_TZ(${quote(String(raw))})`;
    case 'interval-ym':
      return `TO_YMINTERVAL(${quote(String(raw))})`;
    case 'interval-ds':
      return `TO_DSINTERVAL(${quote(String(raw))})`;
    default:
      return quote(String(raw));
  }
}

/** What node-oracledb returns for a bare column (NUMBER as a string, per the session contract). */
export function sessionValue(column: OracleColumn, raw: Raw): unknown {
  if (raw === null) return null;
  const family = familyOf(column);
  if (family === 'date' || family === 'timestamp' || family === 'timestamptz') {
    // The driver would return a JS Date here (losing nanoseconds): the adapter must never select these bare.
    return new Date(`${String(raw).slice(0, 19).replace(' ', 'T')}Z`);
  }
  if (family === 'bytes' || family === 'blob') return Uint8Array.from(raw as Uint8Array);
  return raw;
}

/** `TO_CHAR(column, format)` for the formats the adapter's session sets; anything else is refused. */
export function toChar(column: OracleColumn, raw: Raw, format: string | null): unknown {
  if (raw === null) return null;
  const family = familyOf(column);
  const text = String(raw);
  if (family === 'date' && format === 'YYYY-MM-DD HH24:MI:SS') return text;
  if (family === 'timestamp' && format === 'YYYY-MM-DD HH24:MI:SS.FF9') return text;
  if (family === 'timestamptz' && format === 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM') {
    return column.dataType.includes('LOCAL') ? `${text.slice(0, 29)} +00:00` : text;
  }
  if ((family === 'interval-ym' || family === 'interval-ds') && format === null) return text;
  throw new Error(`simulator: TO_CHAR(${column.dataType}, ${JSON.stringify(format)}) is not simulated`);
}

/** Orders stored values as Oracle's ORDER BY does with NLS_SORT = BINARY (NULLs last). */
export function compareRaw(column: OracleColumn, a: Raw, b: Raw): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  switch (familyOf(column)) {
    case 'int':
    case 'decimal':
      return compareDecimalStrings(canonicalNumber(String(a)), canonicalNumber(String(b)));
    case 'float32':
    case 'float64':
      return Number(a) - Number(b);
    case 'bytes':
    case 'blob':
      return compareBytes(a as Uint8Array, b as Uint8Array);
    default:
      return compareCodePoints(String(a), String(b));
  }
}
