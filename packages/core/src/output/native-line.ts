import type { ChangeEvent, SourceEvent, SourceInfo } from '../events/source-event.js';
import type { LineBuffer } from './line-buffer.js';

/** A change event's own properties in the order `PlainChangeEvent` (and every adapter) makes them. */
const CHANGE_KEYS = ['kind', 'op', 'key', 'before', 'after', 'beforeImage', 'unknownColumns', 'source'] as const;
/** A `SourceInfo`'s properties in the order the core makes them. */
const SOURCE_KEYS = ['connector', 'table', 'tableId', 'opTs', 'offset', 'txId', 'snapshot'] as const;

/** The JSON of the strings `op` and `beforeImage` take. */
const QUOTED: ReadonlyMap<unknown, string> = new Map(
  ['r', 'c', 'u', 'd', 'none', 'key', 'full'].map((s) => [s, `"${s}"`]),
);

/** The JSON of a change event's parts, as {@link NativeLineWriter} joins them. */
interface ChangeParts {
  readonly key: string;
  readonly before: string;
  readonly after: string;
  /** `,"beforeImage":…,"unknownColumns":…,"source":`. */
  readonly tail: string;
}

/** `{"kind":"change","op":…,"key":` per op, as bytes. */
const HEAD_BYTES: ReadonlyMap<unknown, Buffer> = new Map(
  ['r', 'c', 'u', 'd'].map((op) => [op, Buffer.from(`{"kind":"change","op":"${op}","key":`)]),
);
const BEFORE_BYTES = Buffer.from(',"before":');
const BEFORE_NULL_BYTES = Buffer.from(',"before":null');
const AFTER_BYTES = Buffer.from(',"after":');
/** The tail of an event with no unknown columns, per `beforeImage`. */
const EMPTY_UNKNOWN_TAILS: ReadonlyMap<unknown, string> = new Map(
  ['none', 'key', 'full'].map((b) => [b, `,"beforeImage":"${b}","unknownColumns":[],"source":`]),
);

/** `{"kind":"change",…,"source":` of an event of the usual shape. */
function headOf(op: string, parts: ChangeParts): string {
  return `{"kind":"change","op":"${op}","key":${parts.key},"before":${parts.before},"after":${parts.after}${parts.tail}`;
}

/**
 * Writes events as `native` JSON lines (see `EventLineEncoder`), byte for byte what
 * `JSON.stringify(event)` — with the `plainValue` replacer where a value needs it — writes, but
 * faster for change events: it serialises only the rows with `JSON.stringify` and joins them with
 * the fixed text around them. A snapshot chunk's events share one `source` object, whose JSON is
 * kept while the next event has the same one; a stream event's `source` reuses the JSON of its
 * table's connector, name and id. Serialising the whole event took about 2.4 µs for a pgbench row
 * in V8, of which 1 µs was the `source` block.
 *
 * An event of any other shape (other properties or another order, a `toJSON`, a row with a value
 * JSON cannot hold, a property JSON leaves out) goes the general way, so the output never depends
 * on which way was taken.
 */
export class NativeLineWriter {
  /** The last `source` object serialised whole, its JSON, and (once a second event shares it) its bytes with the line's end. */
  #source: SourceInfo | null = null;
  #sourceJson = '';
  #sourceTail: Buffer | null = null;
  /** The `{"connector":…,"table":…,"tableId":…` part of the last stream event's source, and what it was made of. */
  #prefixOf: { connector: string; table: string; tableId: unknown } | null = null;
  #prefix = '';
  /** The last event's parts (`#changeParts`), kept in one reused object rather than one per event. */
  readonly #parts: { key: string; before: string; after: string; tail: string } = {
    key: '',
    before: '',
    after: '',
    tail: '',
  };

  /** The event's line without its `\n`. */
  line(event: SourceEvent): string {
    if (event.kind === 'change') {
      const head = this.#changeHead(event);
      const source = head === null ? null : this.#sourceJsonOf(event.source);
      if (source !== null) return `${head}${source}}`;
    }
    return generalLine(event);
  }

  /** Appends the event's line and its `\n` to `out`. */
  writeLine(event: SourceEvent, out: LineBuffer): void {
    if (event.kind === 'change') {
      const parts = this.#changeParts(event);
      if (parts !== null) {
        const source = event.source;
        if (source === this.#source) {
          // A snapshot chunk's events share their source: its bytes are copied, not encoded again;
          // and the line goes into the buffer piece by piece, with no string of it made first.
          this.#sourceTail ??= Buffer.from(`${this.#sourceJson}}\n`, 'utf8');
          out.appendBytes(HEAD_BYTES.get(event.op) as Buffer);
          out.appendString(parts.key);
          if (parts.before === 'null') out.appendBytes(BEFORE_NULL_BYTES);
          else {
            out.appendBytes(BEFORE_BYTES);
            out.appendString(parts.before);
          }
          out.appendBytes(AFTER_BYTES);
          out.appendString(parts.after);
          out.appendString(parts.tail);
          out.appendBytes(this.#sourceTail);
          return;
        }
        const json = this.#sourceJsonOf(source);
        if (json !== null) {
          out.appendString(`${headOf(event.op, parts)}${json}}`);
          out.appendNewline();
          return;
        }
      }
    }
    out.appendString(generalLine(event));
    out.appendNewline();
  }

  /** `{"kind":"change",…,"source":` of an event of the usual shape whose rows JSON writes alike anywhere; else null. */
  #changeHead(event: ChangeEvent): string | null {
    const parts = this.#changeParts(event);
    return parts === null ? null : headOf(event.op, parts);
  }

  /** The JSON of an event's rows and of what follows `after` up to `"source":`; null for an event of another shape. */
  #changeParts(event: ChangeEvent): ChangeParts | null {
    if (!isPlainWithKeys(event, CHANGE_KEYS)) return null;
    if (!HEAD_BYTES.has(event.op)) return null;
    const beforeImage = QUOTED.get(event.beforeImage);
    if (beforeImage === undefined) return null;
    const key = rowJson(event.key);
    const before = event.before === null ? 'null' : rowJson(event.before);
    const after = event.after === null ? 'null' : rowJson(event.after);
    if (key === null || before === null || after === null) return null;
    const unknown = event.unknownColumns;
    const unknownJson =
      Array.isArray(unknown) && unknown.length === 0 && !hasToJSON(unknown)
        ? '[]'
        : isJsonNative(unknown)
          ? JSON.stringify(unknown)
          : undefined;
    if (typeof unknownJson !== 'string') return null;
    const tail =
      (unknownJson === '[]' ? EMPTY_UNKNOWN_TAILS.get(event.beforeImage) : undefined) ??
      `,"beforeImage":${beforeImage},"unknownColumns":${unknownJson},"source":`;
    const parts = this.#parts;
    parts.key = key;
    parts.before = before;
    parts.after = after;
    parts.tail = tail;
    return parts;
  }

  #sourceJsonOf(source: SourceInfo): string | null {
    // Sources are immutable (`readonly`); a chunk's events share one.
    if (source === this.#source) return this.#sourceJson;
    if (typeof source !== 'object' || source === null || !isPlainWithKeys(source, SOURCE_KEYS)) return null;
    const { connector, table, tableId, opTs, offset, txId, snapshot } = source;
    if (
      typeof connector !== 'string' ||
      typeof table !== 'string' ||
      !(opTs === null || (typeof opTs === 'number' && Number.isFinite(opTs))) ||
      !(txId === null || typeof txId === 'string') ||
      typeof snapshot !== 'boolean' ||
      !isJsonNative(offset)
    ) {
      return null;
    }
    const last = this.#prefixOf;
    if (last === null || last.connector !== connector || last.table !== table || last.tableId !== tableId) {
      if (!isJsonNative(tableId)) return null;
      const id = JSON.stringify(tableId);
      if (id === undefined) return null;
      this.#prefixOf = { connector, table, tableId };
      this.#prefix = `{"connector":${JSON.stringify(connector)},"table":${JSON.stringify(table)},"tableId":${id}`;
    }
    const offsetJson = JSON.stringify(offset);
    if (offsetJson === undefined) return null;
    const json = `${this.#prefix},"opTs":${opTs === null ? 'null' : String(opTs)},"offset":${offsetJson},"txId":${txId === null ? 'null' : JSON.stringify(txId)},"snapshot":${snapshot ? 'true' : 'false'}}`;
    this.#source = source;
    this.#sourceJson = json;
    this.#sourceTail = null;
    return json;
  }
}

/** The line of any event: `JSON.stringify`, with the replacer where a row needs it. */
export function generalLine(event: SourceEvent): string {
  const plain =
    event.kind === 'change' && isJsonNative(event.key) && isJsonNative(event.before) && isJsonNative(event.after);
  return plain ? JSON.stringify(event) : JSON.stringify(event, plainValue);
}

/** A row's JSON, or null when the row is not a plain object JSON writes the same wherever it stands. */
function rowJson(row: unknown): string | null {
  if (typeof row !== 'object' || row === null || Array.isArray(row) || hasToJSON(row)) return null;
  // A row with a bigint, bytes or a non-finite number takes the replacer; on the row alone it
  // writes what it writes there inside the whole event, since the replacer looks at one value at a time.
  const json = isJsonNative(row) ? JSON.stringify(row) : JSON.stringify(row, plainValue);
  return typeof json === 'string' ? json : null;
}

/**
 * True when `o` is a plain object (prototype `Object.prototype` or none) whose enumerable keys are
 * `keys`, in order: what JSON.stringify writes of it is then those properties in that order (a
 * `toJSON` of its own would be one more key).
 */
function isPlainWithKeys(o: object, keys: readonly string[]): boolean {
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  let i = 0;
  for (const k in o) {
    if (k !== keys[i]) return false;
    i++;
  }
  return i === keys.length;
}

function hasToJSON(o: object): boolean {
  return typeof (o as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * True when JSON.stringify writes `value` as event lines do without a replacer: no `bigint`, no
 * bytes, no non-finite number anywhere in it (objects with their own `toJSON`, like `JsonText` and
 * `Date`, write themselves the same either way).
 */
export function isJsonNative(value: unknown): boolean {
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

/** The replacer for values JSON cannot hold: a `bigint` as its decimal string, bytes as base64, non-finite numbers as strings. */
export function plainValue(this: Record<string, unknown>, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  // Read from the holder: a Buffer (a Uint8Array drivers often return) has been through its toJSON by now.
  const original = this[key];
  if (original instanceof Uint8Array)
    return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
