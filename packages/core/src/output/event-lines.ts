import type { SourceEvent } from '../events/source-event.js';
import type { TableSchema } from '../schema/table-schema.js';
import { toDebeziumEnvelope } from './debezium.js';
import { toDebeziumSchemaChange } from './debezium-schema-change.js';
import type { LineBuffer } from './line-buffer.js';
import { isJsonNative, NativeLineWriter, plainValue } from './native-line.js';

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
  readonly #native = new NativeLineWriter();

  constructor(
    readonly format: EventFormat,
    /** Debezium `source.name` and topic prefix; the pipeline name. */
    readonly serverName = 'highwater',
  ) {}

  /** The lines of a batch, each ending in `\n`; `''` when nothing in it is written. */
  encode(events: readonly SourceEvent[]): string {
    let out = '';
    for (const event of events) {
      const line = this.line(event);
      if (line !== null) out += `${line}\n`;
    }
    return out;
  }

  /**
   * Appends the lines of `events` to `out`, each ending in `\n` (the bytes of {@link encode}'s text):
   * from `events[start]` on, and only until `out` holds `maxBytes` or more. Returns the index of the
   * first event not encoded (`events.length` when all are). The file and stdout sinks write this
   * way: with no string of the whole batch in between.
   */
  encodeInto(events: readonly SourceEvent[], out: LineBuffer, start = 0, maxBytes = Number.POSITIVE_INFINITY): number {
    let i = start;
    while (i < events.length && out.length < maxBytes) {
      const event = events[i++] as SourceEvent;
      if (this.format === 'native' && event.kind === 'change') {
        this.#native.writeLine(event, out);
        continue;
      }
      const line = this.line(event);
      if (line === null) continue;
      out.appendString(line);
      out.appendNewline();
    }
    return i;
  }

  /**
   * One event's line without its `\n`, or null for an event that is not written (a heartbeat). Feed
   * every event through here or {@link encode}, in order: schema changes set what later lines of
   * their table look like.
   */
  line(event: SourceEvent): string | null {
    if (event.kind === 'heartbeat') return null;
    if (event.kind === 'schema') {
      if (event.schema === null) this.#schemas.delete(event.table);
      else this.#schemas.set(event.table, event.schema);
    }
    if (this.format === 'native') return this.#native.line(event);
    const record =
      event.kind === 'schema'
        ? toDebeziumSchemaChange(event, { name: this.serverName })
        : toDebeziumEnvelope(event, { name: this.serverName, schemas: this.#schemas });
    return JSON.stringify(record);
  }
}

/**
 * A value as JSON text the way event lines write it (a `bigint` as its decimal string, bytes as
 * base64, non-finite numbers as strings); for message headers that repeat part of an event, e.g. its key.
 */
export function toEventJson(value: unknown): string {
  return isJsonNative(value) ? JSON.stringify(value) : JSON.stringify(value, plainValue);
}
