import type { Checkpoint, EventBatch, Row, Sink, TableSchema } from '@highwater/core';
import type { SinkHarness, StoredState } from '../src/sink/index.js';

/** How a deliberately broken sink goes wrong (the suite must catch each). */
export type SinkFault =
  | 'checkpoint-before-rows'
  | 'deletes-first'
  | 'drops-added-columns'
  | 'appends-snapshot-rows'
  | 'ignores-truncate'
  | 'caps-batch';

interface Destination {
  checkpoint: Checkpoint | null;
  /** Source table → stored rows by key (a faulty sink may store a key twice, under a suffixed id). */
  tables: Map<string, Map<string, Row>>;
}

const keyOf = (table: TableSchema | undefined, row: Row) =>
  JSON.stringify((table?.primaryKey ?? []).map((k) => String(row[k])));

/**
 * A table sink in memory for testing the sink suite itself: correct unless given a fault. A write
 * applies the batch to a copy and swaps it in with the checkpoint after a 60 ms pause, so an abandon
 * during the pause leaves the old state (a rolled-back transaction).
 */
class MemoryTableSink implements Sink {
  readonly name = 'memory-table';
  readonly storesCheckpoints = true;
  crashed = false;
  #wake: (() => void) | null = null;

  constructor(
    private readonly destination: Destination,
    private readonly tables: readonly TableSchema[],
    private readonly fault: SinkFault | null,
  ) {}

  async open(): Promise<Checkpoint | null> {
    return this.destination.checkpoint;
  }

  async write(batch: EventBatch): Promise<void> {
    const schemas = new Map(this.tables.map((t) => [`${t.id.schema}.${t.id.name}`, t]));
    const initial = new Map(schemas);
    const next = new Map([...this.destination.tables].map(([t, rows]) => [t, new Map(rows)]));
    const rowsOf = (t: string) => next.get(t) ?? (next.set(t, new Map()).get(t) as Map<string, Row>);
    let events = batch.events;
    if (this.fault === 'caps-batch') events = events.slice(0, 10_000);
    if (this.fault === 'deletes-first') {
      const isDelete = (e: (typeof events)[number]) => e.kind === 'change' && e.op === 'd';
      events = [...events.filter(isDelete), ...events.filter((e) => !isDelete(e))];
    }
    for (const e of events) {
      if (e.kind === 'schema' && e.schema !== null) schemas.set(e.table, e.schema);
      if (e.kind === 'truncate' && this.fault !== 'ignores-truncate') next.set(e.table, new Map());
      if (e.kind !== 'change') continue;
      const table = schemas.get(e.source.table);
      const rows = rowsOf(e.source.table);
      if (e.before !== null) rows.delete(keyOf(table, e.before));
      if (e.after === null) continue;
      let id = keyOf(table, e.after);
      if (this.fault === 'appends-snapshot-rows' && e.op === 'r' && rows.has(id)) id += `#${rows.size}`;
      const columns = (this.fault === 'drops-added-columns' ? initial : schemas).get(e.source.table)?.columns ?? [];
      rows.set(id, Object.fromEntries(columns.map((c) => [c.name, e.after?.[c.name] ?? null])));
    }
    if (this.fault === 'checkpoint-before-rows') this.destination.checkpoint = batch.checkpoint;
    // The commit point: a crash before it leaves the destination as it was.
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      setTimeout(resolve, 60); // longer than the suite waits before abandoning: every crash lands here
    });
    if (this.crashed) return;
    this.destination.tables = next;
    this.destination.checkpoint = batch.checkpoint;
  }

  abandon(): void {
    this.crashed = true;
    this.#wake?.();
  }

  async close(): Promise<void> {}
}

/** A harness over {@link MemoryTableSink}, with one fault or none. */
export function memorySinkHarness(fault: SinkFault | null = null): SinkHarness {
  const destinations = new Map<string, Destination>();
  const destinationOf = (target: string) => {
    let d = destinations.get(target);
    if (d === undefined) {
      d = { checkpoint: null, tables: new Map() };
      destinations.set(target, d);
    }
    return d;
  };
  return {
    name: `memory table sink${fault === null ? '' : ` (fault: ${fault})`}`,
    stores: 'tables',
    storesCheckpoints: true,
    async createSink(target, tables) {
      return new MemoryTableSink(destinationOf(target), tables, fault);
    },
    async readBack(target, tables): Promise<StoredState> {
      const d = destinationOf(target);
      // As a database table does after ADD COLUMN: every row has every column, null where never set.
      const read = new Map<string, Row[]>();
      for (const t of tables) {
        const name = `${t.id.schema}.${t.id.name}`;
        const rows = d.tables.get(name);
        if (rows === undefined) continue;
        read.set(
          name,
          [...rows.values()].map((r) => Object.fromEntries(t.columns.map((c) => [c.name, r[c.name] ?? null]))),
        );
      }
      return { checkpoint: d.checkpoint, data: { kind: 'tables', tables: read } };
    },
    async abandon(sink, _target, pending) {
      (sink as MemoryTableSink).abandon();
      await pending.catch(() => undefined);
    },
  };
}
