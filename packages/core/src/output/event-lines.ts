import type { SourceEvent } from '../events/source-event.js';
import type { TableSchema } from '../schema/table-schema.js';
import { toDebeziumEnvelope } from './debezium.js';
import { toDebeziumSchemaChange } from './debezium-schema-change.js';

/** How the `stdout` and `file` sinks write an event: one JSON object per line. */
export type EventFormat = 'native' | 'debezium';

/**
 * Turns events into JSON lines. Heartbeats are left out in both formats (they only move the
 * checkpoint). A schema change carries the table's old and new definition: in `native` as the
 * event's `before` and `schema` (with `changes` listing what changed); in `debezium` as a record of
 * Debezium's schema-change topic (`tableChanges` with the new definition, plus `previousTable`).
 *
 * `native` is the `SourceEvent` itself. Values JSON cannot hold become strings, as Debezium's JSON
 * shows them: a `bigint` is its decimal string, bytes are base64, non-finite numbers are
 * `"NaN"`/`"Infinity"`/`"-Infinity"`, and a JSON document (`JsonText`) is its exact text as a string
 * (`JsonText.toJSON`), so a JSON null document (`"null"`) stays distinct from SQL NULL (`null`) and
 * no digit of a number is changed by a reader's JSON parser before it chooses how to read it.
 * (Core's `valueToJson` tags such values as `{"$bigint": …}` to round-trip chunk keys exactly; a
 * line consumer wants the plain value, so it is not used here.)
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
        // A replacer makes JSON.stringify several times slower; most change events do not need one.
        const plain =
          event.kind === 'change' && isJsonNative(event.key) && isJsonNative(event.before) && isJsonNative(event.after);
        out += `${plain ? JSON.stringify(event) : JSON.stringify(event, plainValue)}\n`;
      } else {
        const record =
          event.kind === 'schema'
            ? toDebeziumSchemaChange(event, { name: this.serverName })
            : toDebeziumEnvelope(event, { name: this.serverName, schemas: this.#schemas });
        out += `${JSON.stringify(record)}\n`;
      }
    }
    return out;
  }
}

/**
 * A value as JSON text the way event lines write it (a `bigint` as its decimal string, bytes as
 * base64, non-finite numbers as strings); for message headers that repeat part of an event, e.g. its key.
 */
export function toEventJson(value: unknown): string {
  return isJsonNative(value) ? JSON.stringify(value) : JSON.stringify(value, plainValue);
}

/**
 * True when JSON.stringify writes `value` as event lines do without a replacer: no `bigint`, no
 * bytes, no non-finite number anywhere in it (objects with their own `toJSON`, like `JsonText` and
 * `Date`, write themselves the same either way).
 */
function isJsonNative(value: unknown): boolean {
  switch (typeof value) {
    case 'bigint':
      return false;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      if (value === null) return true;
      if (value instanceof Uint8Array) return false;
      if (Array.isArray(value)) return value.every(isJsonNative);
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
      for (const key in value) if (!isJsonNative((value as Record<string, unknown>)[key])) return false;
      return true;
    default:
      return true;
  }
}

function plainValue(this: Record<string, unknown>, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  // Read from the holder: a Buffer (a Uint8Array drivers often return) has been through its toJSON by now.
  const original = this[key];
  if (original instanceof Uint8Array)
    return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
