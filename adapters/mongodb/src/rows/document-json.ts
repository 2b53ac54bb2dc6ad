import { JsonText, type Value } from '@highwater/core';

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
      if (Number.isNaN(value)) return '{"$numberDouble":"NaN"}';
      if (!Number.isFinite(value)) return `{"$numberDouble":"${value > 0 ? 'Infinity' : '-Infinity'}"}`;
      if (Object.is(value, -0)) return '{"$numberDouble":"-0.0"}';
      return String(value);
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
