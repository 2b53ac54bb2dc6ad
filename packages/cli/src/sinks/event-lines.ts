import {
  type ChangeEvent,
  type Row,
  type SourceEvent,
  type SourceInfo,
  type TableSchema,
  toDebeziumEnvelope,
} from '@highwater/core';

/** How the `stdout` and `file` sinks write an event: one JSON object per line. */
export type EventFormat = 'native' | 'debezium';

/**
 * Turns events into JSON lines. Heartbeats are left out in both formats (they only move the
 * checkpoint); in `debezium` schema changes are left out too, as Debezium sends them elsewhere.
 *
 * `native` is the `SourceEvent` itself. Values JSON cannot hold become strings, as Debezium's JSON
 * shows them: a `bigint` is its decimal string, bytes are base64, non-finite numbers are
 * `"NaN"`/`"Infinity"`/`"-Infinity"`. (Core's `valueToJson` tags such values as `{"$bigint": …}`
 * to round-trip chunk keys exactly; a line consumer wants the plain value, so it is not used here.)
 */
export class EventLineEncoder {
  /** Latest schema per table, from schema-change events, so Debezium output can use column types. */
  readonly #schemas = new Map<string, TableSchema>();

  constructor(
    readonly format: EventFormat,
    /** Debezium `source.name` and topic prefix; the pipeline name. */
    readonly serverName = 'highwater',
  ) {}

  /** The lines of a batch, each ending in `\n`; `''` when nothing in it is written. */
  encode(events: readonly SourceEvent[]): string {
    let out = '';
    for (const event of events) {
      if (event.kind === 'heartbeat') continue;
      if (event.kind === 'schema') {
        if (event.schema === null) this.#schemas.delete(event.table);
        else this.#schemas.set(event.table, event.schema);
      }
      if (this.format === 'native') {
        out += event.kind === 'change' ? this.#changeLine(event) : `${JSON.stringify(event, plainValue)}\n`;
      } else {
        const record = toDebeziumEnvelope(event, { name: this.serverName, schemas: this.#schemas });
        if (record !== null) out += `${JSON.stringify(record)}\n`;
      }
    }
    return out;
  }

  /** The `source` of the last change written, and its JSON (a snapshot chunk's rows share one). */
  #lastSource: SourceInfo | null = null;
  #lastSourceText = '';

  /**
   * A change event's line, written in one pass: the same text as `JSON.stringify(event, plainValue)`
   * (same property order, same value forms), without calling a replacer for every property or
   * building anything but the string.
   */
  #changeLine(event: ChangeEvent): string {
    let out = '{';
    let first = true;
    for (const name in event) {
      const value = (event as unknown as Record<string, unknown>)[name];
      let text: string | undefined;
      if (name === 'key' || name === 'before' || name === 'after') text = rowText(value as Row | null);
      else if (name === 'source') text = this.#sourceText(value as SourceInfo);
      else text = valueText(value);
      if (text === undefined) continue;
      out += first ? `${nameText(name)}${text}` : `,${nameText(name)}${text}`;
      first = false;
    }
    return `${out}}\n`;
  }

  #sourceText(source: SourceInfo): string {
    if (source !== this.#lastSource) {
      this.#lastSource = source;
      this.#lastSourceText = JSON.stringify(source, plainValue);
    }
    return this.#lastSourceText;
  }
}

/** `"name":` of a property name, made once per name. */
const names = new Map<string, string>();

function nameText(name: string): string {
  let text = names.get(name);
  if (text === undefined) {
    text = `${JSON.stringify(name)}:`;
    names.set(name, text);
  }
  return text;
}

/** A row as a JSON object, each value as {@link valueText} writes it. */
function rowText(row: Row | null): string {
  if (row === null) return 'null';
  let out = '{';
  let first = true;
  for (const name in row) {
    const text = valueText(row[name]);
    if (text === undefined) continue;
    out += first ? `${nameText(name)}${text}` : `,${nameText(name)}${text}`;
    first = false;
  }
  return `${out}}`;
}

/** One value as JSON, in the forms `plainValue` gives; undefined where JSON leaves a property out. */
function valueText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : `"${value}"`;
    case 'bigint':
      return `"${value}"`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return undefined;
    case 'object':
      if (value === null) return 'null';
      if (value instanceof Uint8Array) return `"${base64(value)}"`;
      if (Array.isArray(value) && value.length === 0) return '[]';
      return JSON.stringify(value, plainValue);
    default:
      return JSON.stringify(value, plainValue);
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function plainValue(this: Record<string, unknown>, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  // Read from the holder: a Buffer (a Uint8Array drivers often return) has been through its toJSON by now.
  const original = this[key];
  if (original instanceof Uint8Array) return base64(original);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
