import {
  type Introspector,
  type Key,
  OffsetUnavailableError,
  type TableId,
  TableNotFoundError,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type { MemoryConnection } from '../database/connection.js';
import type { MemoryDatabase } from '../database/database.js';
import { parseTableName } from '../database/table.js';
import { chunksOnPrimaryKey, lowerBound, sortedChunkKeys } from './chunk-key.js';
import { toHighwaterError } from './errors.js';

/**
 * The control connection: metadata, watermarks and chunk boundaries.
 *
 * The low watermark is the heart of it. The memory database, like Postgres and MySQL, can have a
 * commit in its log that readers cannot see yet (a visibility-lag fault). A chunk read that starts
 * after `lowWatermark()` returned must see every change at or before it, so the watermark is the
 * offset just before the first change that is logged but not yet visible — the database's own
 * visibility fact, the analogue of Postgres's `pg_current_snapshot()` xmin. Held commits become
 * visible in log order, so the value never goes backwards.
 */
export class MemoryIntrospector implements Introspector<number> {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly connection: MemoryConnection,
    private readonly naiveLowWatermark: boolean,
  ) {}

  async listTables(): Promise<readonly TableId[]> {
    return this.run(() => this.db.tableNames().map(parseTableName));
  }

  async describeTables(ids: readonly TableId[]): Promise<readonly TableSchema[]> {
    return this.run(() =>
      ids.map((id) => {
        const name = tableName(id);
        if (!this.db.hasTable(name)) {
          const known = this.db.tableNames();
          throw new TableNotFoundError(
            name,
            `memory: table ${name} does not exist (the database has ${known.length === 0 ? 'no tables' : known.join(', ')})`,
          );
        }
        return this.db.schemaOf(name);
      }),
    );
  }

  async lowWatermark(): Promise<number> {
    // The naive variant exists only to prove that the core's tests catch it; see MemoryAdapterOptions.
    return this.run(() => (this.naiveLowWatermark ? this.db.logEnd() : this.db.visibleThrough()));
  }

  async highWatermark(): Promise<number> {
    // Everything visible is logged, so the log end is at or after it. The log reader reports
    // progress up to the log end even when no captured table changes, which the SPI requires.
    return this.run(() => this.db.logEnd());
  }

  async earliestOffset(): Promise<number> {
    // The position before the oldest entry kept: a reader starting after it loses nothing.
    return this.run(() => this.db.logStart());
  }

  async offsetAtTimestamp(time: Date): Promise<number> {
    const offset = this.run(() => this.db.offsetAtTime(time.getTime()));
    if (offset === undefined) {
      throw new OffsetUnavailableError(
        `memory: the changes committed at or after ${time.toISOString()} were truncated from the log; ` +
          `the oldest offset a reader can start from is ${this.db.logStart()}`,
      );
    }
    return offset;
  }

  async keyRange(table: TableSchema): Promise<{ readonly min: Key; readonly max: Key } | null> {
    const name = tableName(table.id);
    return this.run(() => {
      if (chunksOnPrimaryKey(table)) return this.db.keyRange(name);
      const keys = sortedChunkKeys(table, this.db.snapshotRows(name));
      return keys.length === 0 ? null : { min: keys[0] as Key, max: keys[keys.length - 1] as Key };
    }, name);
  }

  async estimateRowCount(table: TableSchema): Promise<number> {
    const name = tableName(table.id);
    // Exact: counting is free here. A real adapter reads statistics instead of `count(*)`.
    return this.run(() => this.db.rowCount(name), name);
  }

  async nextChunkBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null> {
    const name = tableName(table.id);
    return this.run(() => {
      if (chunksOnPrimaryKey(table)) return this.db.keyAfter(name, from, chunkSize);
      const keys = sortedChunkKeys(table, this.db.snapshotRows(name));
      return keys[(from === null ? 0 : lowerBound(keys, from)) + chunkSize] ?? null;
    }, name);
  }

  async close(): Promise<void> {
    this.connection.close();
  }

  /** Runs a query on this connection, translating the database's errors. */
  private run<T>(query: () => T, table?: string): T {
    try {
      this.connection.assertUsable();
      return query();
    } catch (error) {
      throw toHighwaterError(error, table);
    }
  }
}
