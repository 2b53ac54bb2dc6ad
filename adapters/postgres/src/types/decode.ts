import { JsonText, type Value } from '@highwater/core';
import { parseArrayText } from './array-text.js';
import type { PgType } from './pg-type.js';
import { decodeDate, decodeTimestamp, decodeTimestamptz } from './temporal.js';

/** Turns one value in Postgres's text output form into a Highwater value. Never called for NULL. */
export type TextDecoder = (text: string) => Value;

/**
 * The session settings every connection of the adapter runs with, so that the text both paths
 * receive has one form: the snapshot (COPY / SELECT) and pgoutput (which formats values in the
 * walsender, with the replication connection's settings).
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'iso_8601',
  TimeZone: 'UTC',
  extra_float_digits: '1',
  bytea_output: 'hex',
};

/** `options` for a pg `ClientConfig` that applies {@link SESSION_SETTINGS} at connection start. */
export function sessionOptions(): string {
  return Object.entries(SESSION_SETTINGS)
    .map(([k, v]) => `-c ${k}=${v.replace(/([ ,\\])/g, '\\$1')}`)
    .join(' ');
}

const identity: TextDecoder = (text) => text;

function decodeInt(text: string): number {
  return Number(text);
}

/** int8: a number while it is exact, a bigint beyond ±2^53. */
function decodeInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** float4/float8, including `NaN`, `Infinity` and `-Infinity`. */
function decodeFloat(text: string): number {
  return Number(text);
}

function decodeBool(text: string): boolean {
  return text === 't';
}

/** bytea in hex output (`\x0aff`). */
function decodeBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new Error(`bytea not in hex form (is bytea_output=hex?): ${text.slice(0, 20)}`);
  return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
}

/**
 * json and jsonb: the text Postgres prints, unparsed (see `JsonText`): `json` keeps the document as
 * written, `jsonb` prints its normalised form; both exactly, numbers included.
 */
function decodeJson(text: string): Value {
  return new JsonText(text);
}

const BASE: Readonly<Record<string, TextDecoder>> = {
  bool: decodeBool,
  int2: decodeInt,
  int4: decodeInt,
  oid: decodeInt,
  xid: decodeInt,
  int8: decodeInt8,
  float4: decodeFloat,
  float8: decodeFloat,
  numeric: identity,
  bytea: decodeBytea,
  date: decodeDate,
  timestamp: decodeTimestamp,
  timestamptz: decodeTimestamptz,
  json: decodeJson,
  jsonb: decodeJson,
};

const cache = new WeakMap<PgType, TextDecoder>();

/**
 * The decoder for a column type: the one function both the snapshot path and the log path call,
 * so a stored value reads the same on both by construction. Types without a better logical form
 * (text types, uuid, time, timetz, interval, inet, cidr, macaddr, bit, varbit, money, tsvector,
 * ranges, enums, …) are the text Postgres prints.
 */
export function decoderFor(type: PgType): TextDecoder {
  let decoder = cache.get(type);
  if (decoder !== undefined) return decoder;
  switch (type.kind) {
    case 'base':
      decoder = BASE[type.name] ?? identity;
      break;
    case 'array': {
      const element = decoderFor(type.element);
      const delimiter = type.delimiter;
      decoder = (text) => parseArrayText(text, delimiter, element);
      break;
    }
    default:
      decoder = identity;
  }
  cache.set(type, decoder);
  return decoder;
}

/**
 * A decoder reading its value from `text.slice(start, end)` (one field of a COPY line), for the
 * snapshot path's parser: the same result as the column's {@link TextDecoder} on that slice.
 */
export type SpanDecoder = (text: string, start: number, end: number) => Value;

const ZERO = 48;
const MINUS = 45;

/**
 * Integer text (`-?[0-9]+`, as Postgres prints int2/int4/int8/oid) read from its characters without
 * cutting a string: up to 15 digits the value is exact and a safe integer, which is what
 * `Number(text)` gives; anything longer or unexpected goes to the text decoder.
 */
function integerSpan(fallback: TextDecoder): SpanDecoder {
  return (text, start, end) => {
    let i = start;
    const negative = text.charCodeAt(i) === MINUS;
    if (negative) i++;
    if (end - i < 1 || end - i > 15) return fallback(text.slice(start, end));
    let n = 0;
    for (; i < end; i++) {
      const d = text.charCodeAt(i) - ZERO;
      if (d < 0 || d > 9) return fallback(text.slice(start, end));
      n = n * 10 + d;
    }
    return negative ? -n : n;
  };
}

/**
 * An enum value: the decoded label itself when the text is one of the labels known when the decoder
 * was made (compared in place, character by character: no new string per row); any other text (a
 * label added since) through the decoder.
 */
function labelSpan(labels: readonly string[], fallback: TextDecoder): SpanDecoder {
  const decoded = labels.map((label) => fallback(label));
  return (text, start, end) => {
    const length = end - start;
    for (let k = 0; k < labels.length; k++) {
      const label = labels[k] as string;
      if (label.length !== length) continue;
      let i = 0;
      while (i < length && label.charCodeAt(i) === text.charCodeAt(start + i)) i++;
      if (i === length) return decoded[k] as Value;
    }
    return fallback(text.slice(start, end));
  };
}

const SPACE = 32;
const PLUS = 43;
const UPPER_C = 67;
const UPPER_T = 84;
const UPPER_Z = 90;

/**
 * timestamptz in the session's UTC form (`2024-02-29 13:45:00.123456+00`, a 4-digit year, no era):
 * the same string {@link decodeTimestamptz} builds (`2024-02-29T13:45:00.123456Z`), from the span,
 * and flat (see {@link flat}). Anything else goes to the text decoder.
 */
function timestamptzSpan(fallback: TextDecoder): SpanDecoder {
  return (text, start, end) => {
    const length = end - start;
    if (
      length >= 22 &&
      text.charCodeAt(start + 10) === SPACE &&
      text.charCodeAt(end - 3) === PLUS &&
      text.charCodeAt(end - 2) === ZERO &&
      text.charCodeAt(end - 1) === ZERO &&
      !(text.charCodeAt(end - 4) === UPPER_C && text.startsWith(' BC', end - 6))
    ) {
      if (length === 29) return microsecondTimestamptz(text, start);
      return flat(`${text.slice(start, start + 10)}T${text.slice(start + 11, end - 3)}Z`);
    }
    return flat(fallback(text.slice(start, end)));
  };
}

/**
 * `YYYY-MM-DD HH:MM:SS.ffffff+00` at `s` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the most common form (a
 * full microsecond fraction), in one `String.fromCharCode`: a flat string at once, without the
 * pieces a template would join and the copy that flattening them makes.
 */
function microsecondTimestamptz(t: string, s: number): string {
  // biome-ignore format: one character per argument, in the order of the result
  return String.fromCharCode(
    t.charCodeAt(s), t.charCodeAt(s + 1), t.charCodeAt(s + 2), t.charCodeAt(s + 3), t.charCodeAt(s + 4),
    t.charCodeAt(s + 5), t.charCodeAt(s + 6), t.charCodeAt(s + 7), t.charCodeAt(s + 8), t.charCodeAt(s + 9), UPPER_T,
    t.charCodeAt(s + 11), t.charCodeAt(s + 12), t.charCodeAt(s + 13), t.charCodeAt(s + 14), t.charCodeAt(s + 15),
    t.charCodeAt(s + 16), t.charCodeAt(s + 17), t.charCodeAt(s + 18), t.charCodeAt(s + 19), t.charCodeAt(s + 20),
    t.charCodeAt(s + 21), t.charCodeAt(s + 22), t.charCodeAt(s + 23), t.charCodeAt(s + 24), t.charCodeAt(s + 25), UPPER_Z,
  );
}

/**
 * Rows wait in the core until their chunk's high watermark, so they outlive a few young-generation
 * collections. A decoder that assembles a string from pieces (`2024-01-01T10:00:00Z`) returns a
 * chain of V8 cons strings; reading one character flattens it in place, and the collector then
 * keeps only the flat string instead of the chain.
 */
function flat(value: Value): Value {
  if (typeof value === 'string' && value.length > 12) value.charCodeAt(0);
  return value;
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'oid', 'xid']);
const spanCache = new WeakMap<PgType, SpanDecoder>();

/**
 * The span form of {@link decoderFor}: the same values, with fewer intermediate strings for integers,
 * enums and timestamptz; strings a decoder assembles from pieces come back flat.
 */
export function spanDecoderFor(type: PgType): SpanDecoder {
  let span = spanCache.get(type);
  if (span !== undefined) return span;
  const decode = decoderFor(type);
  if (type.kind === 'base' && INTEGER_TYPES.has(type.name)) span = integerSpan(decode);
  else if (type.kind === 'enum' && type.labels.length > 0 && type.labels.length <= 64)
    span = labelSpan(type.labels, decode);
  else if (type.kind === 'base' && type.name === 'timestamptz') span = timestamptzSpan(decode);
  else if (decode === identity) span = (text, start, end) => text.slice(start, end);
  else span = (text, start, end) => flat(decode(text.slice(start, end)));
  spanCache.set(type, span);
  return span;
}
