import { type LogItem, type LogReader, type TableSchema, tableName } from '@highwater/core';
import type { LogEntry } from '../database/change-log.js';
import type { MemoryConnection } from '../database/connection.js';
import type { MemoryDatabase } from '../database/database.js';
import { MemoryDatabaseError } from '../database/errors.js';
import { toHighwaterError } from './errors.js';
import type { Shaper } from './image-shaping.js';

/**
 * The change log from an offset on, in batches: read what is there, yield it, and when caught up
 * wait for the next commit — on a promise the commit resolves, never by polling.
 *
 * Every batch ends at the reader's position: with the last entry read, or with a `progress` item
 * when that entry was left out; and a reader that is caught up before it yielded anything (opened
 * at the log end) yields a `progress` at its start. So once caught up the core has always been told
 * the log end, which is what lets a chunk's high watermark pass when nothing it captures changes.
 */
export class MemoryLogReader implements LogReader<number> {
  private position: number;
  /** The offset of the last item yielded; -1 before the first. */
  private reported = -1;
  /** Captured tables and their latest schema (the shaper needs primary keys). */
  private readonly tables = new Map<string, TableSchema | null>();
  private closed = false;

  constructor(
    private readonly db: MemoryDatabase,
    private readonly connection: MemoryConnection,
    from: number,
    tables: readonly TableSchema[],
    private readonly batchSize: number,
    private readonly shaper: Shaper | null,
  ) {
    this.position = from;
    for (const t of tables) this.tables.set(tableName(t.id), t);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<number>[]> {
    const connection = this.connection;
    while (!this.closed) {
      let entries: LogEntry[];
      try {
        entries = connection.readLog(this.position, this.batchSize);
      } catch (error) {
        if (this.closed) return;
        throw toHighwaterError(error);
      }
      if (entries.length === 0) {
        if (this.reported !== this.position) {
          // Caught up, and the core has not been told this position yet (a reader opened at the log
          // end has said nothing at all): a high watermark taken now must be seen to pass.
          this.reported = this.position;
          yield [{ kind: 'progress', offset: this.position }];
          continue;
        }
        // Resolved by the next commit, by close() or by an injected drop; the loop tells which.
        await connection.waitForLog(this.position);
        continue;
      }
      const batch = this.select(entries);
      this.position = (entries[entries.length - 1] as LogEntry).offset;
      if (batch.length === 0 || (batch[batch.length - 1] as LogItem<number>).offset !== this.position) {
        batch.push({ kind: 'progress', offset: this.position });
      }
      this.reported = this.position;
      yield batch;
    }
  }

  /**
   * Best effort: an acknowledgement lost with a dropped connection is harmless (the next one, on
   * the reopened reader, covers it), and the loss itself surfaces from the iterator, where the core
   * retries — so it is not reported twice, from a call the core makes outside its retry loop.
   */
  async acknowledge(offset: number): Promise<void> {
    if (this.closed) return;
    try {
      this.connection.acknowledge(offset);
    } catch (error) {
      if (error instanceof MemoryDatabaseError && error.code === 'connection_lost') return;
      throw toHighwaterError(error);
    }
  }

  async addTables(tables: readonly TableSchema[]): Promise<void> {
    for (const t of tables) this.tables.set(tableName(t.id), t);
  }

  /** How far the reader is behind the end of the log, in entries (the analogue of a replication slot's lag). */
  metrics(): Readonly<Record<string, number>> {
    return { entriesBehind: Math.max(0, this.db.logEnd() - this.position) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connection.close();
  }

  /**
   * The entries to deliver. Row changes and truncates of tables not captured are left out — but
   * only those already visible to readers. A table added later takes its low watermark no lower
   * than what is visible now, so its chunks see every change skipped here; a logged change still
   * invisible is delivered whatever its table, because a chunk of a table added later could miss it.
   * Schema changes are always delivered: they are rare, and tell the core about new tables.
   */
  private select(entries: LogEntry[]): LogItem<number>[] {
    const tables = this.tables;
    const shaper = this.shaper;
    let i = 0;
    if (shaper === null) {
      // Fast path: everything captured, nothing to reshape — deliver the slice as it is.
      while (i < entries.length && tables.has((entries[i] as LogEntry).table)) i++;
      if (i === entries.length) return entries;
    }
    const visible = this.db.visibleThrough();
    const out: LogItem<number>[] = entries.slice(0, i);
    for (; i < entries.length; i++) {
      const entry = entries[i] as LogEntry;
      if (!tables.has(entry.table)) {
        if (entry.kind !== 'schema' && entry.offset <= visible) continue;
        out.push(entry);
      } else if (entry.kind === 'change') {
        out.push(shaper === null ? entry : shaper(entry, tables.get(entry.table) ?? undefined));
      } else {
        if (entry.kind === 'schema') tables.set(entry.table, entry.schema);
        out.push(entry);
      }
    }
    return out;
  }
}
