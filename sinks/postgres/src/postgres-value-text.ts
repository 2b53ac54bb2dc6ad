import type { LogicalType, Value } from '@highwater/core';
import {
  bitString,
  exactJsonText,
  float32Text,
  isoYear,
  isTrue,
  plainText,
  type RejectValue,
} from '@highwater/sink-sql';

/**
 * A value as the text Postgres's input function for the target column type reads back as the same
 * value: what a bound text parameter carries, and what a `COPY … FROM STDIN` (text format) field
 * holds before escaping. Null stays null. `reject` is called for values no Postgres column of the
 * mapped type can hold (it throws).
 */
export function postgresText(type: LogicalType, value: Value, reject: RejectValue): string | null {
  if (value === null) return null;
  switch (type.kind) {
    case 'boolean':
      return isTrue(value) ? 't' : 'f';
    case 'float32':
      return float32Text(value);
    case 'float64':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint64':
    case 'decimal':
      // String(NaN) and String(±Infinity) are the spellings Postgres accepts for real/double/numeric.
      return String(value);
    case 'bytes':
      return value instanceof Uint8Array ? `\\x${Buffer.from(value).toString('hex')}` : String(value);
    case 'json':
      return exactJsonText(value);
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return postgresDateTime(type.kind, String(value));
    case 'time':
      return type.withTimeZone === true ? String(value) : postgresTimeOfDay(String(value), reject);
    case 'bits':
      return bitString(value, type.varying === true ? undefined : type.length);
    case 'string':
    case 'uuid': {
      const text = typeof value === 'string' ? value : plainText(value);
      // Postgres text cannot hold the NUL character (MySQL strings can).
      if (text.includes('\u0000')) reject('Postgres text cannot hold the NUL character (U+0000)');
      return text;
    }
    case 'array':
      return Array.isArray(value) ? arrayLiteral(type.element, value, reject) : plainText(value);
    case 'enum':
    case 'set':
    case 'other':
    case 'interval':
      return plainText(value);
  }
}

/**
 * An ISO date / date-time (`2024-02-29`, `2024-02-29T13:45:00.5`, `…Z`) in Postgres's input form.
 * `infinity`/`-infinity` pass as they are; years ≤ 0 (astronomical, as the Postgres adapter gives
 * BC dates: `-0043-03-15` is 44 BC) are written with the `BC` suffix Postgres reads
 * (`0044-03-15 BC`); a zoned value without a zone is UTC.
 */
function postgresDateTime(kind: 'date' | 'timestamp' | 'timestamptz', text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const zoned = kind === 'timestamptz' && !/(Z|[+-]\d\d(:?\d\d)?)$/.test(text) ? `${text}Z` : text;
  const parts = isoYear(zoned);
  if (parts === null || parts.year > 0) return zoned;
  const year = String(1 - parts.year).padStart(4, '0');
  // 'Z' is read as a zone abbreviation only before the era; `+00` works in either place.
  return `${year}${parts.rest.replace('T', ' ').replace(/Z$/, '+00')} BC`;
}

/** A time of day for Postgres `time`, which holds 00:00:00–24:00:00 (MySQL TIME is a duration: −838…838 h). */
function postgresTimeOfDay(text: string, reject: RejectValue): string {
  const m = /^(\d\d):([0-5]\d):([0-5]\d)(\.\d+)?$/.exec(text);
  const hours = m === null ? Number.NaN : Number(m[1]);
  if (!(hours < 24 || (hours === 24 && /^24:00:00(\.0*)?$/.test(text)))) {
    reject('Postgres time holds times of day from 00:00:00 to 24:00:00 (a MySQL TIME is a duration)');
  }
  return text;
}

/**
 * A Postgres array literal (`{"1","2"}`, `{{"1","2"},{"3","4"}}` for nested arrays, `NULL` for
 * null elements), every element quoted and escaped so any element text reads back unchanged.
 */
function arrayLiteral(element: LogicalType, items: readonly Value[], reject: RejectValue): string {
  const parts = items.map((item) => {
    if (Array.isArray(item)) return arrayLiteral(element.kind === 'array' ? element.element : element, item, reject);
    const text = postgresText(element, item as Value, reject);
    return text === null ? 'NULL' : `"${text.replace(/[\\"]/g, '\\$&')}"`;
  });
  return `{${parts.join(',')}}`;
}
