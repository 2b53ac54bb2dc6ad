import { readFile } from 'node:fs/promises';
import {
  type Checkpoint,
  type EventBatch,
  type Row,
  type Sink,
  SinkError,
  valueToJson,
  writeFileAtomically,
} from '@highwater/core';

/** What the example sink keeps in its one file: every table's rows by key, and the checkpoint they belong to. */
export interface JsonTables {
  checkpoint: Checkpoint | null;
  tables: { [table: string]: { [key: string]: Row } };
}

export async function readJsonTables(path: string): Promise<JsonTables> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as JsonTables;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { checkpoint: null, tables: {} };
    throw new SinkError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The example of docs/writing-a-sink.md: an exactly-once table sink whose whole destination is one
 * JSON file, replaced atomically per batch. Rows and checkpoint are in the same file, so they are
 * committed together; a crash leaves the old file or the new one, whole. (Rewriting everything per
 * batch suits only small tables: it shows the contract, not a design for volume.)
 */
export function jsonTableSink(path: string): Sink {
  let state: JsonTables | null = null;
  return {
    name: 'json-tables',
    storesCheckpoints: true,
    async open() {
      state = await readJsonTables(path);
      return state.checkpoint;
    },
    async write(batch: EventBatch) {
      if (state === null) throw new SinkError('json-tables sink: write() before open()');
      // Apply to a copy: if anything below fails, the sink's view stays what the file holds.
      const next: JsonTables = { checkpoint: batch.checkpoint, tables: structuredClone(state.tables) };
      for (const event of batch.events) {
        if (event.kind === 'truncate') next.tables[event.table] = {};
        if (event.kind !== 'change') continue; // schema changes: rows are JSON objects, any columns fit
        next.tables[event.source.table] ??= {};
        const rows = next.tables[event.source.table] as { [key: string]: Row };
        // A row's key is its key columns' values; the before image finds the old row when the key changed.
        const keyOf = (row: Row) => JSON.stringify(Object.keys(event.key).map((k) => valueToJson(row[k] ?? null)));
        if (event.before !== null) delete rows[keyOf(event.before)];
        if (event.after !== null) {
          // valueToJson keeps what JSON cannot (bigints, bytes) recoverable with valueFromJson.
          rows[keyOf(event.after)] = Object.fromEntries(
            Object.entries(event.after).map(([c, v]) => [c, valueToJson(v)]),
          ) as Row;
        }
      }
      await writeFileAtomically(path, JSON.stringify(next)); // the commit point: rows and checkpoint at once
      state = next;
    },
    async close() {
      state = null;
    },
  };
}
