import { type Checkpoint, type EventBatch, FencedWriteError, type Row, type Sink } from '@highwater/core';

/**
 * A table sink kept in memory: upserts and deletes by key, as the SQL sinks do, so any number of
 * members (and the leader) in one test process write to one target. `writes` counts rows applied.
 * It honours fencing tokens by the SQL sinks' rule (a batch whose token is below the highest one
 * applied for its scope is refused whole); the SQL sinks' own check is tested against real servers
 * in sinks/sql/test/write-fence.test.ts.
 */
export class InMemoryTableSink {
  readonly tables = new Map<string, Map<string, Row>>();
  rowsWritten = 0;
  /** Highest token applied per fencing scope. */
  readonly fences = new Map<string, number>();
  /** Batches refused by their fencing token. */
  refused = 0;

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
    if (batch.fence !== undefined) {
      const { scope, token } = batch.fence;
      const current = this.fences.get(scope) ?? token;
      if (current > token) {
        this.refused++;
        throw new FencedWriteError(scope, token, current, `test sink: token ${token} of ${scope} is below ${current}`);
      }
      this.fences.set(scope, token);
    }
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
