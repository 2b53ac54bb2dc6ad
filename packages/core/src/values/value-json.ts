import { JsonText } from './json-text.js';
import type { JsonValue, Value } from './value.js';

// Values that JSON cannot carry are tagged with a one-key object whose key starts with '$'; a plain
// object value is wrapped too, so a tag can never be confused with user data.

/**
 * Encodes a value (e.g. a chunk boundary) as JSON without losing bigint, bytes, non-finite numbers or
 * JSON documents (`{"$json": "<the document's text>"}`, so a JSON `null` document stays distinct from null).
 */
export function valueToJson(value: Value): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value instanceof JsonText) return { $json: value.text };
  if (Array.isArray(value)) return value.map(valueToJson);
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value as { readonly [key: string]: Value })) out[k] = valueToJson(v);
  return { $object: out };
}

/** Inverse of {@link valueToJson}. */
export function valueFromJson(json: JsonValue): Value {
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) return json.map(valueFromJson);
  const tagged = json as { readonly [key: string]: JsonValue };
  if ('$bigint' in tagged) return BigInt(tagged.$bigint as string);
  if ('$bytes' in tagged) return new Uint8Array(Buffer.from(tagged.$bytes as string, 'base64'));
  if ('$json' in tagged) return new JsonText(tagged.$json as string);
  if ('$number' in tagged) return Number(tagged.$number as string);
  if ('$object' in tagged) {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(tagged.$object as { readonly [key: string]: JsonValue }))
      out[k] = valueFromJson(v);
    return out;
  }
  throw new TypeError(`not an encoded value: ${JSON.stringify(json)}`);
}
