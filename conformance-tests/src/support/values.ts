import { JsonText, type Row, type Value, valueToJson } from '@highwater/core';

/**
 * Exact equality of two logical values: the same JavaScript type (a `bigint` never equals a
 * `number`: the value model fixes which one a value is), bytes compared bytewise, objects by key
 * set whatever the key order, JSON documents ({@link JsonText}) by their exact text.
 */
export function valueEquals(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Number.isNaN(a) && Number.isNaN(b as number);
  if (typeof a !== 'object') return false;
  const bo = b as object;
  // JSON documents: the same text, byte for byte (a JSON null document is not SQL NULL).
  if (a instanceof JsonText || bo instanceof JsonText)
    return a instanceof JsonText && bo instanceof JsonText && a.text === bo.text;
  if (a instanceof Uint8Array || bo instanceof Uint8Array) {
    if (!(a instanceof Uint8Array) || !(bo instanceof Uint8Array) || a.length !== bo.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== bo[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(bo)) {
    if (!Array.isArray(a) || !Array.isArray(bo)) return false;
    const x = a as readonly Value[];
    const y = bo as readonly Value[];
    return x.length === y.length && x.every((v, i) => valueEquals(v, y[i]));
  }
  return rowEquals(a as Row, bo as Row);
}

/** Same columns (ignoring ones set to `undefined`), each {@link valueEquals}. */
export function rowEquals(a: Row, b: Row): boolean {
  const keysA = definedKeys(a);
  const keysB = definedKeys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k) => k in b && valueEquals(a[k], b[k]));
}

function definedKeys(row: Row): string[] {
  return Object.keys(row).filter((k) => row[k] !== undefined);
}

/** The key columns of a row, as a row. */
export function keyRowOf(keyColumns: readonly string[], row: Row): Row {
  const out: Record<string, Value> = {};
  for (const c of keyColumns) out[c] = row[c] ?? null;
  return out;
}

/** A string identifying a key (same value and type → same string): for maps keyed by row key. */
export function keyId(keyColumns: readonly string[], row: Row): string {
  return JSON.stringify(keyColumns.map((c) => valueToJson(row[c] ?? null)));
}

/** A value as people read it in a failure message: `12n`, `0x00ff`, `"text"`. */
export function formatValue(value: Value | undefined): string {
  if (value === undefined) return '(absent)';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof JsonText) return `json ${value.text.length > 200 ? `${value.text.slice(0, 200)}…` : value.text}`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${(value as readonly Value[]).map(formatValue).join(', ')}]`;
  return formatRow(value as Row);
}

export function formatRow(row: Row | null | undefined): string {
  if (row === null || row === undefined) return String(row);
  return `{${Object.keys(row)
    .map((k) => `${k}: ${formatValue(row[k])}`)
    .join(', ')}}`;
}

/** Where two rows differ, column by column: `v: "a" ≠ "b"`. */
export function rowDifference(actual: Row, expected: Row): string {
  const columns = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  const parts: string[] = [];
  for (const c of columns) {
    if (!valueEquals(actual[c], expected[c]))
      parts.push(`${c}: ${formatValue(actual[c])} ≠ ${formatValue(expected[c])}`);
  }
  return parts.join('; ');
}
