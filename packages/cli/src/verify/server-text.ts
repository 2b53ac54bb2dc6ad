import type { ColumnSchema, LogicalType } from '@highwater/core';
import { canonicalJson } from './server-json.js';

/** The database a side of a comparison lives in. */
export type SideDialect = 'postgres' | 'mysql';

/** Spatial MySQL types: their values have no text both databases print alike (see docs/verify.md). */
const SPATIAL =
  /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection|geomcollection)\b/i;

/**
 * How one column is compared: only NULL against non-NULL for spatial values (the target holds the
 * source adapter's JSON form, which no server prints from the source's geometry), otherwise by the
 * server's text.
 */
export function comparesPresenceOnly(column: ColumnSchema): boolean {
  return column.type.kind === 'json' && SPATIAL.test(column.nativeType);
}

/**
 * The select-list expression giving a column's value as its server prints it, as a string, for a
 * column of `nativeType` on that side (the source's own type, or the type the sink created).
 * Postgres sessions read every column as the type's text output already. MySQL prints FLOAT with 6
 * digits, so floats go through DOUBLE (exact); BIT as binary digits padded to the width; bytes as hex.
 */
export function serverTextExpression(
  dialect: SideDialect,
  quoted: string,
  type: LogicalType,
  nativeType: string,
): string {
  if (dialect === 'postgres') return quoted;
  const native = nativeType.toLowerCase();
  if (type.kind === 'float32' || type.kind === 'float64') return `CAST(CAST(${quoted} AS DOUBLE) AS CHAR)`;
  if (type.kind === 'bytes') return `LOWER(HEX(${quoted}))`;
  if (native.startsWith('bit')) {
    const width = /^bit\((\d+)\)/.exec(native)?.[1] ?? '1';
    return `LPAD(BIN(${quoted}), ${width}, '0')`;
  }
  if (SPATIAL.test(native)) return `CAST(ST_AsText(${quoted}) AS CHAR)`;
  return `CAST(${quoted} AS CHAR)`;
}

/**
 * One text per value of a logical type, from either server's text of it: equal texts mean the two
 * databases hold the same value. `cross` is true when source and target are different databases;
 * then decimals compare by value (MySQL's DECIMAL(65,30) pads zeros). Null is `N`.
 */
export function canonicalServerText(type: LogicalType, text: string | null, cross: boolean): string {
  if (text === null) return 'N';
  switch (type.kind) {
    case 'boolean':
      return text === 't' || text === '1' || text === 'true' ? 'T' : 'F';
    case 'float32':
      return `f${String(Math.fround(Number(text)))}`;
    case 'float64':
      return `f${String(Number(text))}`;
    case 'decimal':
      return `d${cross ? decimalValue(text) : text}`;
    case 'bytes':
      return `b${text.replace(/^\\x/, '').toLowerCase()}`;
    case 'json':
      return `j${canonicalJson(text)}`;
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return `t${temporal(text, type.kind === 'timestamptz')}`;
    case 'time':
      return `t${type.withTimeZone === true ? text : temporal(text, false)}`;
    case 'uuid':
      return `s${text.toLowerCase()}`;
    case 'array':
      return `a${arrayText(type.element, text, cross)}`;
    default:
      return `s${text}`;
  }
}

/** `0012.3400` → `12.34`. */
function decimalValue(text: string): string {
  const m = /^([+-]?)0*(\d*?)(?:\.(\d*?)0*)?$/.exec(text.trim());
  if (m === null) return text;
  const [, sign = '', int = '', frac = ''] = m;
  const out = `${int === '' ? '0' : int}${frac === '' ? '' : `.${frac}`}`;
  return out === '0' ? '0' : `${sign === '-' ? '-' : ''}${out}`;
}

/**
 * Dates and times as either server prints them, in one form: `T` or space alike, no UTC zone,
 * no trailing fraction zeros, BC years as signed astronomical years (`0044-03-15 BC` → `-0043-03-15`).
 */
function temporal(text: string, zoned: boolean): string {
  if (text === 'infinity' || text === '-infinity') return text;
  let t = text.replace('T', ' ');
  const bc = t.endsWith(' BC');
  if (bc) t = t.slice(0, -3);
  if (zoned) t = t.replace(/(Z|[+-]00(:?00)?)$/, '');
  t = t.replace(/\.(\d*?)0*$/, (_m, kept: string) => (kept === '' ? '' : `.${kept}`));
  if (!bc) return t;
  const dash = t.indexOf('-');
  const year = 1 - Number(t.slice(0, dash));
  return `${year < 0 ? '-' : ''}${String(Math.abs(year)).padStart(4, '0')}${t.slice(dash)}`;
}

/**
 * An array as either server prints it: a Postgres array literal (`{1,"a b",NULL}`) or the JSON
 * array a MySQL target holds; elements canonical by the element type.
 */
function arrayText(element: LogicalType, text: string, cross: boolean): string {
  const items = text.startsWith('[') ? jsonItems(text) : postgresItems(text);
  if (items === null) return text;
  const render = (list: Items): string =>
    `[${list.map((item) => (Array.isArray(item) ? render(item) : canonicalServerText(element, item as string | null, cross))).join(',')}]`;
  return render(items);
}

type Items = (string | null | Items)[];

/** Elements of a Postgres array literal as their texts (null for NULL), nested for n-D arrays. */
function postgresItems(text: string): Items | null {
  let at = 0;
  const list = (): Items => {
    if (text[at] !== '{') throw new SyntaxError('not an array');
    at++;
    const out: Items = [];
    if (text[at] === '}') {
      at++;
      return out;
    }
    for (;;) {
      if (text[at] === '{') out.push(list());
      else if (text[at] === '"') {
        let s = '';
        at++;
        while (text[at] !== '"') {
          if (text[at] === '\\') at++;
          s += text[at++];
        }
        at++;
        out.push(s);
      } else {
        let end = at;
        while (text[end] !== ',' && text[end] !== '}') end++;
        const s = text.slice(at, end).trim();
        at = end;
        out.push(s === 'NULL' ? null : s);
      }
      const next = text[at++];
      if (next === '}') return out;
      if (next !== ',') throw new SyntaxError('not an array');
    }
  };
  try {
    // A lower bound other than 1 prints as `[0:2]={…}`.
    at = text.indexOf('{');
    return list();
  } catch {
    return null;
  }
}

/** Elements of a JSON array: strings as their contents, other scalars as their canonical JSON text. */
function jsonItems(text: string): Items | null {
  try {
    const canonical = canonicalJson(text);
    const walk = (v: unknown, raw: string): string | null | Items => {
      if (Array.isArray(v)) return splitTop(raw).map((part, i) => walk(v[i], part));
      if (v === null) return null;
      if (typeof v === 'string') return v;
      return raw;
    };
    const parsed: unknown = JSON.parse(canonical);
    return Array.isArray(parsed) ? (walk(parsed, canonical) as Items) : null;
  } catch {
    return null;
  }
}

/** The top-level items of a canonical JSON array's text (no whitespace), each as its own text. */
function splitTop(array: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 1;
  let inString = false;
  for (let i = 1; i < array.length - 1; i++) {
    const c = array[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(array.slice(start, i));
      start = i + 1;
    }
  }
  if (array.length > 2) out.push(array.slice(start, array.length - 1));
  return out;
}
