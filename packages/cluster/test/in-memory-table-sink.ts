import type { Checkpoint, EventBatch, Row, Sink } from '@highwater/core';

/**
 * A table sink kept in memory: upserts and deletes by key, as the SQL sinks do, so any number of
 * members (and the leader) in one test process write to one target. `writes` counts rows applied.
 */
export class InMemoryTableSink {
  readonly tables = new Map<string, Map<string, Row>>();
  rowsWritten = 0;

  /** A handle for one writer (a member's chunk reader, or the leader). */
  open(): Sink {
    return {
      name: 'memory-table',
      storesCheckpoints: false,
      open: async (): Promise<Checkpoint | null> => null,
      write: async (batch: EventBatch) => this.apply(batch),
      close: async () => undefined,
    };
  }

  rows(table: string): Row[] {
    return [...(this.tables.get(table)?.values() ?? [])].sort((a, b) => Number(a.id) - Number(b.id));
  }

  private apply(batch: EventBatch): void {
    for (const event of batch.events) {
      if (event.kind === 'truncate') this.tables.get(event.table)?.clear();
      if (event.kind !== 'change') continue;
      const table = this.tables.get(event.source.table) ?? new Map<string, Row>();
      this.tables.set(event.source.table, table);
      if (event.before !== null || event.op === 'd') table.delete(JSON.stringify(event.before?.id ?? event.key.id));
      if (event.after !== null) {
        table.set(JSON.stringify(event.after.id), event.after);
        this.rowsWritten++;
      }
    }
  }
}
