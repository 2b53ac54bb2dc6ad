import { JsonText, type Value } from '@highwater/core';
import { binaryJsonText } from './binary-json-text.js';
import { enumValues, type MysqlColumn } from './mysql-column.js';

/**
 * The two decoders of one column: `fromQuery` for a chunk read's field (`chunk-reader.ts`: text,
 * integers up to 15 digits as numbers, bytes and bits as a Buffer), `fromBinlog`
 * for what zongji decodes from a row image. Both produce the same {@link Value} for the same stored
 * value; `test/types.test.ts` checks it type by type against a real server.
 */
export interface ColumnDecoder {
  readonly column: MysqlColumn;
  /** True when the snapshot path reads the column as bytes (`field.buffer()`). */
  readonly binary: boolean;
  /** The select-list expression for the column (FLOAT goes through DOUBLE to keep every bit). */
  readonly select: (quoted: string) => string;
  fromQuery(raw: string | number | Buffer | null): Value;
  fromBinlog(raw: unknown): Value;
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);

/** An integer as `number` within ±2^53, `bigint` beyond. */
export function integerValue(text: string): number | bigint {
  const n = Number(text);
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(text);
  return b >= SAFE_MIN && b <= SAFE_MAX ? Number(b) : b;
}

function bytesOf(raw: unknown, what: string): Uint8Array {
  if (raw instanceof Uint8Array)
    return new Uint8Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  if (typeof raw === 'string') return new Uint8Array(Buffer.from(raw, 'binary'));
  throw new TypeError(`${what}: expected bytes, got ${typeof raw}`);
}

function textOf(raw: unknown, what: string): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  throw new TypeError(`${what}: expected text, got ${typeof raw}`);
}

/** A fraction of a second as `.digits` without trailing zeros ('' when zero), at most `scale` digits. */
function fraction(digits: string, scale: number): string {
  const f = digits.slice(0, scale).replace(/0+$/, '');
  return f === '' ? '' : `.${f}`;
}

/** `[-]H…H:MM:SS[.f]`: at least two hour digits, the fraction without trailing zeros. */
export function normalizeTime(text: string, scale: number): string {
  const m = /^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d*))?$/.exec(text);
  if (m === null) throw new TypeError(`unexpected TIME text ${JSON.stringify(text)}`);
  const [, sign = '', h = '', mi = '', s = '', f = ''] = m;
  const frac = fraction(f, scale);
  const hours = h.replace(/^0+(?=\d\d)/, '').padStart(2, '0');
  const zero = /^0*$/.test(h + mi + s + f);
  return `${zero ? '' : sign}${hours}:${mi}:${s}${frac}`;
}

/** `text[i]` is an ASCII digit (`i` must be inside `text`: past its end `charCodeAt` gives NaN, read as 0). */
const isDigit = (text: string, i: number) => (text.charCodeAt(i) - 48) >>> 0 < 10;

/** `YYYY-MM-DD` at the start of `text`: digits and dashes in place. */
function datePart(text: string): boolean {
  return (
    text.charCodeAt(4) === 45 &&
    text.charCodeAt(7) === 45 &&
    isDigit(text, 0) &&
    isDigit(text, 1) &&
    isDigit(text, 2) &&
    isDigit(text, 3) &&
    isDigit(text, 5) &&
    isDigit(text, 6) &&
    isDigit(text, 8) &&
    isDigit(text, 9)
  );
}

/** `HH:MM:SS` at offset 11. */
function timePart(text: string): boolean {
  return (
    text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58 &&
    isDigit(text, 11) &&
    isDigit(text, 12) &&
    isDigit(text, 14) &&
    isDigit(text, 15) &&
    isDigit(text, 17) &&
    isDigit(text, 18)
  );
}

/**
 * The common forms of {@link normalizeDateTime} without a regular expression: `YYYY-MM-DD` and
 * `YYYY-MM-DD HH:MM:SS[.digits]`, as both paths print them. The result is the same string the
 * general form builds (the date, `T`, the time, the fraction cut to `scale` digits without trailing
 * zeros); `undefined` for anything else, which the general form handles.
 */
function fastDateTime(text: string, scale: number, withTime: boolean): string | null | undefined {
  const n = text.length;
  if (n < 10 || !datePart(text)) return undefined;
  if (n === 10) {
    if (text.charCodeAt(5) === 48 && text.charCodeAt(6) === 48) return null;
    if (text.charCodeAt(8) === 48 && text.charCodeAt(9) === 48) return null;
    return withTime ? `${text}T00:00:00` : text;
  }
  if (!withTime || n < 19) return undefined;
  const sep = text.charCodeAt(10);
  if ((sep !== 32 && sep !== 84) || !timePart(text)) return undefined;
  let end = 19;
  if (n > 19) {
    if (text.charCodeAt(19) !== 46) return undefined;
    for (let i = 20; i < n; i++) if (!isDigit(text, i)) return undefined;
    // The fraction cut to `scale` digits, without trailing zeros.
    end = Math.min(n, 20 + scale);
    while (end > 20 && text.charCodeAt(end - 1) === 48) end--;
    if (end === 20) end = 19;
  }
  if (text.charCodeAt(5) === 48 && text.charCodeAt(6) === 48) return null;
  if (text.charCodeAt(8) === 48 && text.charCodeAt(9) === 48) return null;
  return `${text.slice(0, 10)}T${text.slice(11, end)}`;
}

/** `YYYY-MM-DD[ HH:MM:SS[.f]]` → ISO (`T`, the fraction without trailing zeros), or null for zero dates. */
export function normalizeDateTime(text: string, scale: number, withTime: boolean): string | null {
  const fast = fastDateTime(text, scale, withTime);
  if (fast !== undefined) return fast;
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d*))?)?$/.exec(text);
  if (m === null) throw new TypeError(`unexpected date/time text ${JSON.stringify(text)}`);
  const [, y = '', mo = '', d = '', h = '00', mi = '00', s = '00', f = ''] = m;
  // Zero dates ('0000-00-00') and dates with a zero month or day have no ISO form: null.
  if (mo === '00' || d === '00') return null;
  if (!withTime) return `${y}-${mo}-${d}`;
  const frac = fraction(f, scale);
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}`;
}

/**
 * A JSON document as its text, unparsed (see `JsonText`): MariaDB's `JSON` is text and arrives as
 * written on both paths; MySQL's binary JSON arrives as the server's text on the snapshot path and as
 * zongji's rendering of the binary form on the binlog path (`jsonStrings`, see connection.ts), both
 * given one spelling by `binaryJsonText`.
 */
function jsonText(raw: unknown, what: string, spelling: (text: string) => string): Value {
  if (typeof raw === 'string') return new JsonText(spelling(raw));
  if (raw instanceof Uint8Array) return new JsonText(spelling(Buffer.from(raw).toString('utf8')));
  throw new TypeError(`${what}: expected JSON text, got ${typeof raw}`);
}

const asWritten = (text: string) => text;

/**
 * A `DECIMAL … ZEROFILL` value without the padding: the text protocol pads it to the display width
 * (`0123.4569` in a `DECIMAL(8,4) ZEROFILL`), the binlog carries the number (`123.4569`). ZEROFILL
 * is display formatting, not part of the value (MySQL 8.0.17 deprecates it as such), so both paths
 * give the value's own text. ZEROFILL columns are unsigned: there is no sign to keep.
 */
export function withoutZerofill(text: string): string {
  return text.replace(/^0+(?=\d)/, '');
}

type Decode = (raw: unknown) => Value;

function make(
  column: MysqlColumn,
  binary: boolean,
  decode: Decode,
  binlog?: Decode,
  select?: (q: string) => string,
): ColumnDecoder {
  const fromBinlog = binlog ?? decode;
  return {
    column,
    binary,
    select: select ?? ((q) => q),
    fromQuery: (raw) => (raw === null ? null : decode(raw)),
    fromBinlog: (raw) => (raw === null || raw === undefined ? null : fromBinlog(raw)),
  };
}

/** The decoder pair of a column. */
export function decoderFor(c: MysqlColumn): ColumnDecoder {
  const what = `column ${c.name} (${c.columnType})`;
  if (c.json) {
    // MySQL's JSON type (binary) gets one spelling on both paths; MariaDB's (longtext) is kept as written.
    const spelling = c.dataType === 'json' ? binaryJsonText : asWritten;
    return make(c, false, (r) => jsonText(r, what, spelling));
  }
  switch (c.dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      // A safe integer (zongji's and mysql2's small integer types) is already the value the text gives.
      return make(c, false, (r) =>
        typeof r === 'number' && Number.isSafeInteger(r) && !Object.is(r, -0) ? r : integerValue(textOf(r, what)),
      );
    case 'year':
      // zongji adds 1900 to the stored byte, so the zero year (stored 0) arrives as 1900, which no
      // YEAR column can hold (1901–2155 or 0000).
      return make(
        c,
        false,
        (r) => Number(textOf(r, what)),
        (r) => {
          const n = Number(textOf(r, what));
          return n === 1900 ? 0 : n;
        },
      );
    case 'decimal':
    case 'numeric':
      if (/\bzerofill\b/.test(c.columnType)) return make(c, false, (r) => withoutZerofill(textOf(r, what)));
      return make(c, false, (r) => textOf(r, what));
    case 'float':
      // The text protocol prints FLOAT with 6 significant digits; through DOUBLE it prints the exact
      // float32 value, which is what zongji decodes.
      return make(
        c,
        false,
        (r) => Number(textOf(r, what)),
        undefined,
        (q) => `CAST(${q} AS DOUBLE)`,
      );
    case 'double':
    case 'real':
      return make(c, false, (r) => Number(textOf(r, what)));
    case 'bit':
      return make(c, true, (r) => bytesOf(r, what));
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return make(c, true, (r) => bytesOf(r, what));
    case 'date':
      return make(c, false, (r) => normalizeDateTime(textOf(r, what), 0, false));
    case 'time':
      return make(c, false, (r) => normalizeTime(textOf(r, what), c.scale));
    case 'datetime':
      return make(c, false, (r) => normalizeDateTime(textOf(r, what), c.scale, true));
    case 'timestamp':
      return make(c, false, (r) => {
        const t = normalizeDateTime(textOf(r, what), c.scale, true);
        return t === null ? null : `${t}Z`;
      });
    case 'enum':
    case 'set': {
      // zongji splits the value list out of COLUMN_TYPE without undoing SQL quoting ('it''s').
      const declared = new Set(enumValues(c.columnType));
      const unquote = (v: string) => (declared.has(v) ? v : v.replace(/''/g, "'").replace(/\\\\/g, '\\'));
      return make(
        c,
        false,
        (r) => textOf(r, what),
        (r) => {
          const text = textOf(r, what);
          return c.dataType === 'enum' ? unquote(text) : text === '' ? '' : text.split(',').map(unquote).join(',');
        },
      );
    }
    default:
      if (c.charset === null || c.charset === 'binary') {
        return make(c, false, (r) => (typeof r === 'string' ? r : bytesOf(r, what)));
      }
      return make(c, false, (r) => textOf(r, what));
  }
}
