import { latin1, utf8 } from './raw-rows.js';

/**
 * Reading a rows event's values straight from its bytes, for the tables whose every column has a
 * type read here (the common ones); every other event and table stays with zongji.
 *
 * The layout (MySQL's and MariaDB's replication protocol documentation, "Rows events" and "binary
 * log row image types"): after the common header, the table id (6 bytes), flags (2), in a version 2
 * event an extra-data block, the column count (length-encoded), one bitmap of the columns present
 * (two in an update: before and after), then per row image a null bitmap over the present columns
 * and each present, non-null value in its binary form. The checksum, when the server writes one,
 * ends the event.
 *
 * Each value is read into exactly what zongji gives for it (with the adapter's connection options:
 * date strings, big numbers as text), so the column decoders of `types/decode.ts` turn it into the
 * same {@link Value}; `test/binlog-rows.test.ts` reads the same binlog both ways and compares.
 */

/** Binary log column types (the `enum_field_types` codes of the table map event). */
const T = {
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  YEAR: 13,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  NEWDECIMAL: 246,
  ENUM: 247,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  STRING: 254,
} as const;

/** Rows event type codes: WRITE, UPDATE, DELETE (version 1, then version 2). */
const WRITE_V1 = 23;
const UPDATE_V1 = 24;
const DELETE_V1 = 25;
const WRITE_V2 = 30;
const UPDATE_V2 = 31;
const DELETE_V2 = 32;

export type RowsOp = 'c' | 'u' | 'd';

/** The operation of a rows event type code, or `undefined` for any other event (or a compressed one). */
export function rowsEventOp(typeCode: number): RowsOp | undefined {
  switch (typeCode) {
    case WRITE_V1:
    case WRITE_V2:
      return 'c';
    case UPDATE_V1:
    case UPDATE_V2:
      return 'u';
    case DELETE_V1:
    case DELETE_V2:
      return 'd';
    default:
      return undefined;
  }
}

/** A value as zongji gives it (see the module comment). */
export type RawValue = string | number | Uint8Array | null;

/** Reads one non-null value at `at`; returns it and leaves the position after it in `cursor.at`. */
type FieldReader = (bytes: Buffer, cursor: Cursor) => RawValue;

interface Cursor {
  at: number;
}

/** What zongji's table map entry says of a column (type code and metadata, set from the table map event). */
export interface MappedColumn {
  readonly name: string;
  readonly type: number;
  readonly charset: string | null;
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

/** What the adapter described of the same column (`binlogColumns`; `UNSIGNED` when the binlog said). */
export interface SchemaColumn {
  readonly COLUMN_TYPE: string;
  readonly UNSIGNED?: boolean;
}

const TEXT_CHARSETS: ReadonlySet<string> = new Set(['utf8mb4', 'utf8mb3', 'utf8']);

const metaNumber = (column: MappedColumn, key: string): number | undefined => {
  const v = column.metadata?.[key];
  return typeof v === 'number' ? v : undefined;
};

/**
 * The reader of a column's values, or `undefined` when this module does not read its type (the
 * table's events then go through zongji). `enumValues` are the column's declared values, unquoted.
 */
export function fieldReader(
  column: MappedColumn,
  schema: SchemaColumn,
  enumValues: () => readonly string[],
): FieldReader | undefined {
  const unsigned = schema.UNSIGNED ?? schema.COLUMN_TYPE.includes('unsigned');
  switch (column.type) {
    case T.TINY:
      return unsigned ? (b, c) => b[c.at++] as number : (b, c) => b.readInt8(c.at++);
    case T.SHORT:
      return unsigned ? fixed(2, (b, at) => b.readUInt16LE(at)) : fixed(2, (b, at) => b.readInt16LE(at));
    case T.INT24:
      return unsigned ? fixed(3, (b, at) => b.readUIntLE(at, 3)) : fixed(3, (b, at) => b.readIntLE(at, 3));
    case T.LONG:
      return unsigned ? fixed(4, (b, at) => b.readUInt32LE(at)) : fixed(4, (b, at) => b.readInt32LE(at));
    case T.LONGLONG:
      return unsigned ? fixed(8, uint64) : fixed(8, int64);
    case T.FLOAT:
      return fixed(4, (b, at) => b.readFloatLE(at));
    case T.DOUBLE:
      return fixed(8, (b, at) => b.readDoubleLE(at));
    case T.YEAR:
      // zongji adds 1900 (the zero year then reads 1900; the YEAR decoder knows).
      return (b, c) => (b[c.at++] as number) + 1900;
    case T.DATE:
      return fixed(3, date);
    case T.DATETIME2: {
      const decimals = metaNumber(column, 'decimals') ?? 0;
      return (b, c) => {
        const text = datetime2(b, c.at, decimals);
        c.at += 5 + fractionBytes(decimals);
        return text;
      };
    }
    case T.TIMESTAMP2: {
      const decimals = metaNumber(column, 'decimals') ?? 0;
      return (b, c) => {
        const text = timestamp2(b, c.at, decimals);
        c.at += 4 + fractionBytes(decimals);
        return text;
      };
    }
    case T.NEWDECIMAL: {
      const precision = metaNumber(column, 'precision');
      const scale = metaNumber(column, 'decimals');
      if (precision === undefined || scale === undefined) return undefined;
      return decimalReader(precision, scale);
    }
    case T.ENUM: {
      const size = metaNumber(column, 'size');
      if (size !== 1 && size !== 2) return undefined;
      const values = enumValues();
      // Index 0 is the empty string MySQL stores for an invalid value (the text protocol's '').
      return size === 1
        ? (b, c) => values[(b[c.at++] as number) - 1] ?? ''
        : fixed(2, (b, at) => values[b.readUInt16LE(at) - 1] ?? '');
    }
    case T.BIT: {
      const bits = metaNumber(column, 'bits');
      if (bits === undefined) return undefined;
      return bytesOfLength((bits + 7) >> 3);
    }
    case T.VARCHAR:
    case T.STRING: {
      const maxLength = metaNumber(column, 'max_length');
      if (maxLength === undefined) return undefined;
      const prefix = maxLength > 255 ? 2 : 1;
      if (column.charset !== null && TEXT_CHARSETS.has(column.charset)) return lengthPrefixed(prefix, text);
      // VARBINARY is its bytes; BINARY(n) (padded back to n) and MariaDB's UUID/INET types are zongji's.
      if (column.charset === null && schema.COLUMN_TYPE.startsWith('varbin')) return lengthPrefixed(prefix, view);
      return undefined;
    }
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB: {
      const lengthSize = metaNumber(column, 'length_size');
      if (lengthSize === undefined || lengthSize < 1 || lengthSize > 4) return undefined;
      if (column.charset === null) return lengthPrefixed(lengthSize, view);
      return TEXT_CHARSETS.has(column.charset) ? lengthPrefixed(lengthSize, text) : undefined;
    }
    default:
      return undefined;
  }
}

function fixed(size: number, read: (bytes: Buffer, at: number) => RawValue): FieldReader {
  return (b, c) => {
    const v = read(b, c.at);
    c.at += size;
    return v;
  };
}

function lengthPrefixed(prefix: number, read: (bytes: Buffer, start: number, end: number) => RawValue): FieldReader {
  return (b, c) => {
    const length = prefix === 1 ? (b[c.at] as number) : b.readUIntLE(c.at, prefix);
    const start = c.at + prefix;
    const end = start + length;
    if (end > b.length) throw new RangeError('binlog rows event: a value runs past the end of the event');
    c.at = end;
    return read(b, start, end);
  };
}

function bytesOfLength(size: number): FieldReader {
  return (b, c) => {
    const start = c.at;
    c.at += size;
    return b.subarray(start, start + size);
  };
}

/** Bytes as zongji gives them: a view of the event (the decoders copy). */
const view = (b: Buffer, start: number, end: number): Uint8Array => b.subarray(start, end);

/** UTF-8 text; ASCII (most text) as latin1, which V8 copies without decoding. */
function text(b: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if ((b[i] as number) > 0x7f) return utf8(b, start, end);
  return latin1(b, start, end);
}

const TWO_32 = 2 ** 32;
/** 2^53 / 2^32: a high word below this keeps the value a safe integer. */
const SAFE_HIGH = 2 ** 21;

/** BIGINT UNSIGNED: a number up to 2^53 − 1, beyond it the decimal text (as zongji). */
function uint64(b: Buffer, at: number): number | string {
  const high = b.readUInt32LE(at + 4);
  if (high < SAFE_HIGH) return high * TWO_32 + b.readUInt32LE(at);
  return b.readBigUInt64LE(at).toString();
}

/** BIGINT: a number within ±(2^53 − 1), beyond it the decimal text (as zongji). */
function int64(b: Buffer, at: number): number | string {
  const high = b.readInt32LE(at + 4);
  if (high > -SAFE_HIGH && high < SAFE_HIGH) return high * TWO_32 + b.readUInt32LE(at);
  const v = b.readBigInt64LE(at);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad4 = (n: number) => (n >= 1000 ? `${n}` : `${n}`.padStart(4, '0'));

/** DATE: 3 bytes, little-endian: day (5 bits), month (4), year (15). */
function date(b: Buffer, at: number): string {
  const v = b.readUIntLE(at, 3);
  return `${pad4(v >>> 9)}-${pad2((v >>> 5) & 0xf)}-${pad2(v & 0x1f)}`;
}

/** Bytes of a temporal fraction of `decimals` digits. */
const fractionBytes = (decimals: number) => (decimals + 1) >> 1;

/** `.` and the fraction's `decimals` digits ('' without decimals), as zongji prints it. */
function fraction(b: Buffer, at: number, decimals: number): string {
  if (decimals === 0) return '';
  const size = fractionBytes(decimals);
  let v = b.readUIntBE(at, size);
  // An odd number of digits is stored scaled up to the next even one.
  if (decimals % 2 !== 0) v = Math.floor(v / 10);
  return `.${`${v}`.padStart(decimals, '0')}`;
}

/**
 * DATETIME2: 5 bytes big-endian — a sign bit (set), year·13 + month (17 bits), day (5), hour (5),
 * minute (6), second (6) — then the fraction. Printed `YYYY-MM-DD HH:MM:SS[.f]`.
 */
function datetime2(b: Buffer, at: number, decimals: number): string {
  const high = b.readUInt32BE(at) >>> 0;
  const low = b[at + 4] as number;
  // Bits (of 40): sign 39, year·13+month 22–38, day 17–21, hour 12–16, minute 6–11, second 0–5.
  const yearMonth = (high >>> 14) & 0x1ffff;
  const day = (high >>> 9) & 0x1f;
  const hour = (high >>> 4) & 0x1f;
  const minute = ((high & 0xf) << 2) | (low >>> 6);
  const second = low & 0x3f;
  return (
    `${pad4(Math.floor(yearMonth / 13))}-${pad2(yearMonth % 13)}-${pad2(day)} ` +
    `${pad2(hour)}:${pad2(minute)}:${pad2(second)}${fraction(b, at + 5, decimals)}`
  );
}

/** TIMESTAMP2: seconds since the epoch (4 bytes big-endian), then the fraction; UTC text, zero as MySQL's zero date. */
function timestamp2(b: Buffer, at: number, decimals: number): string {
  const seconds = b.readUInt32BE(at);
  const frac = fraction(b, at + 4, decimals);
  if (seconds === 0 && !/[1-9]/.test(frac)) return `0000-00-00 00:00:00${frac}`;
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}`;
}

/** Bytes of a group of 1–9 decimal digits in DECIMAL's binary form. */
const DIGIT_BYTES: readonly number[] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const digitBytes = (digits: number) => DIGIT_BYTES[digits] as number;

/**
 * DECIMAL(precision, scale): the integer digits and the fraction digits each in groups of nine
 * (4 bytes, big-endian), the integer part's leftover digits first and the fraction's last, in
 * {@link DIGIT_BYTES}; the first bit inverted as the sign (set: positive), and every bit of a
 * negative value inverted. Printed as zongji does: no leading zeros, exactly `scale` fraction digits.
 */
function decimalReader(precision: number, scale: number): FieldReader {
  const integral = precision - scale;
  const intGroups = Math.floor(integral / 9);
  const intLeft = integral - intGroups * 9;
  const fracGroups = Math.floor(scale / 9);
  const fracLeft = scale - fracGroups * 9;
  const size = digitBytes(intLeft) + intGroups * 4 + fracGroups * 4 + digitBytes(fracLeft);
  return (b, c) => {
    const start = c.at;
    if (start + size > b.length) throw new RangeError('binlog rows event: a DECIMAL runs past the end of the event');
    c.at += size;
    const negative = ((b[start] as number) & 0x80) === 0;
    const mask = negative ? 0xff : 0;
    let at = start;
    const group = (bytes: number): number => {
      let v = 0;
      for (let i = 0; i < bytes; i++, at++) {
        let byte = (b[at] as number) ^ mask;
        if (at === start) byte ^= 0x80;
        v = v * 256 + byte;
      }
      return v;
    };
    let digits = intLeft > 0 ? `${group(digitBytes(intLeft))}` : '';
    for (let i = 0; i < intGroups; i++) digits += `${group(4)}`.padStart(9, '0');
    let n = 0;
    while (n < digits.length - 1 && digits.charCodeAt(n) === 48) n++;
    let out = (negative ? '-' : '') + (digits === '' ? '0' : digits.slice(n));
    if (scale > 0) {
      let frac = '';
      for (let i = 0; i < fracGroups; i++) frac += `${group(4)}`.padStart(9, '0');
      if (fracLeft > 0) frac += `${group(digitBytes(fracLeft))}`.padStart(fracLeft, '0');
      out += `.${frac}`;
    }
    return out;
  };
}

/** Where a rows event's rows start, and what the event is about. */
export interface RowsEventHeader {
  readonly op: RowsOp;
  readonly tableId: number;
  readonly columnCount: number;
  /** The bitmap of the columns present (after, in an update), as offsets into the event. */
  readonly present: number;
  /** An update's bitmap of the columns present in the after image. */
  readonly presentAfter: number;
  /** The first row image. */
  readonly rowsStart: number;
}

/** Offsets of a binlog event inside its packet payload (after the OK byte). */
const TYPE_CODE = 5;
const POST_HEADER = 20;

/** The type code of the binlog event in a packet payload starting at `start` (its OK byte). */
export function eventTypeCode(bytes: Buffer, start: number): number {
  return bytes[start + TYPE_CODE] as number;
}

/** The header of a rows event in a packet payload from `start` (its OK byte). */
export function rowsEventHeader(bytes: Buffer, start: number, op: RowsOp, typeCode: number): RowsEventHeader {
  let at = start + POST_HEADER;
  const tableId = bytes.readUInt32LE(at) + bytes.readUInt16LE(at + 4) * 2 ** 32;
  at += 8; // table id and flags
  if (typeCode >= WRITE_V2) at += bytes.readUInt16LE(at); // the extra data's length counts itself
  const first = bytes[at] as number;
  let columnCount: number;
  if (first < 0xfb) {
    columnCount = first;
    at += 1;
  } else if (first === 0xfc) {
    columnCount = bytes.readUInt16LE(at + 1);
    at += 3;
  } else if (first === 0xfd) {
    columnCount = bytes.readUIntLE(at + 1, 3);
    at += 4;
  } else {
    throw new RangeError('binlog rows event: unexpected column count');
  }
  const bitmap = (columnCount + 7) >> 3;
  const present = at;
  at += bitmap;
  const presentAfter = op === 'u' ? at : present;
  if (op === 'u') at += bitmap;
  return { op, tableId, columnCount, present, presentAfter, rowsStart: at };
}

/** How many of `count` columns the bitmap at `present` marks present. */
function presentColumns(bytes: Buffer, present: number, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (((bytes[present + (i >> 3)] as number) & (1 << (i & 7))) !== 0) n++;
  return n;
}

/**
 * Reads one row image at `cursor.at` into `out` (indexed by column): each column not present, or
 * null, as null. `present` is the offset of the image's column bitmap.
 */
export function readRowImage(
  bytes: Buffer,
  cursor: Cursor,
  present: number,
  readers: readonly FieldReader[],
  out: RawValue[],
): void {
  const count = readers.length;
  const nulls = cursor.at;
  cursor.at += (presentColumns(bytes, present, count) + 7) >> 3;
  let bit = 0;
  for (let i = 0; i < count; i++) {
    if (((bytes[present + (i >> 3)] as number) & (1 << (i & 7))) === 0) {
      out[i] = null;
      continue;
    }
    const isNull = ((bytes[nulls + (bit >> 3)] as number) & (1 << (bit & 7))) !== 0;
    bit++;
    out[i] = isNull ? null : (readers[i] as FieldReader)(bytes, cursor);
  }
}
