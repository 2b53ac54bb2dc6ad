import type { Value } from '@highwater/core';
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

function decodeJson(text: string): Value {
  return JSON.parse(text) as Value;
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
