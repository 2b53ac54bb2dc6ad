import { JsonText, type Value } from '@highwater/core';
import type { Document } from 'mongodb';
import { bsonToValue } from './document-form.js';

/**
 * The JSON text of a value in the form of `document-form.ts`: what a JSON-kind column (the
 * `document` column, object and array fields) carries, as a core `JsonText`, so every sink stores
 * it as JSON (`jsonb`, `JSON`, a JSON line) without knowing MongoDB. Exact where plain JSON would
 * lose: integers keep every digit (Int64 beyond 2^53 too), NaN, ±Infinity and -0 are Extended JSON
 * `{"$numberDouble": …}`, binary (subtype 0) is `{"$binary": {base64, subType: "00"}}`; the
 * other Extended JSON tags of the value form are already plain JSON.
 */
export function documentJson(value: Value): JsonText {
  return new JsonText(json(value));
}

function json(value: Value): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return numberJson(value);
    case 'bigint':
      return value.toString();
  }
  if (value instanceof Uint8Array) {
    return `{"$binary":{"base64":"${Buffer.from(value).toString('base64')}","subType":"00"}}`;
  }
  if (value instanceof JsonText) return value.text;
  if (Array.isArray(value)) return `[${(value as readonly Value[]).map(json).join(',')}]`;
  const fields = Object.entries(value as { readonly [key: string]: Value });
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${json(v)}`).join(',')}}`;
}

function numberJson(value: number): string {
  if (Number.isNaN(value)) return '{"$numberDouble":"NaN"}';
  if (!Number.isFinite(value)) return `{"$numberDouble":"${value > 0 ? 'Infinity' : '-Infinity'}"}`;
  if (Object.is(value, -0)) return '{"$numberDouble":"-0.0"}';
  return String(value);
}

/**
 * The JSON text of a document's fields but `omit` — the same text as
 * `documentJson(documentToValue(rest))` (`document-form.ts`), written straight from the driver's
 * values: a snapshot converts every document, and building the intermediate value (a copy of every
 * object and array) cost more than the text itself. Values of the common types are written here;
 * the rare ones go through `bsonToValue`, so the form stays decided in one place.
 */
export function bsonDocumentJson(doc: Document, omit: string): JsonText {
  return new JsonText(fieldsJson(doc, omit));
}

/** The JSON text of one driver value: the same as `documentJson(bsonToValue(v))`. */
export function bsonJson(v: unknown): JsonText {
  return new JsonText(valueJson(v));
}

function valueJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      return numberJson(v);
    case 'bigint':
      return v.toString();
    case 'undefined':
      return 'null';
    case 'object':
      break;
    default:
      return json(bsonToValue(v));
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += i === 0 ? valueJson(v[i]) : `,${valueJson(v[i])}`;
    return `${out}]`;
  }
  switch ((v as { _bsontype?: string })._bsontype) {
    case undefined:
      if (v instanceof Date || v instanceof Uint8Array) break;
      return fieldsJson(v as Document, null);
    case 'Int32':
    case 'Double':
      return numberJson((v as { value: number }).value);
    case 'ObjectId':
      return `{"$oid":"${(v as { toHexString(): string }).toHexString()}"}`;
  }
  return json(bsonToValue(v));
}

/** `{…}` of a document's fields but `omit`; one lone `$`-led field wrapped as `{"$document": …}`. */
function fieldsJson(doc: Document, omit: string | null): string {
  let out = '{';
  let count = 0;
  let lone = '';
  for (const k in doc) {
    if (k === omit || !Object.hasOwn(doc, k)) continue;
    out += `${count === 0 ? '' : ','}${JSON.stringify(k)}:${valueJson(doc[k])}`;
    if (count === 0) lone = k;
    count++;
  }
  out += '}';
  return count === 1 && lone.startsWith('$') ? `{"$document":${out}}` : out;
}
