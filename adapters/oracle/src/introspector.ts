import type { Introspector, Key, TableId, TableSchema, Value } from '@highwater/core';
import { type DescribeOptions, describeTable, oracleColumnOf } from './catalog.js';
import { toHighwaterError } from './errors.js';
import { type OracleOffset, watermarkAt } from './offsets/oracle-offset.js';
import { blocksPerChunk, type Extent, nextRowidBoundary } from './rowid/rowid-ranges.js';
import type { OracleSession } from './session/session.js';
import { boundaryQuery, edgeKeyQuery, SQL } from './sql/statements.js';
import { decoderFor } from './types/decode.js';
import { familyOf, type OracleColumn } from './types/oracle-column.js';

const scnOf = (v: unknown): bigint => BigInt(String(v));

/**
 * The control connection. Watermarks are the database's `CURRENT_SCN`: chunk reads are flashback
 * queries at an SCN sampled after the low watermark and before the high one, so both bounds hold
 * exactly (docs/algorithm.md, "Oracle"). One session, so calls are serialised here.
 */
export class OracleIntrospector implements Introspector<OracleOffset> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly session: OracleSession,
    private readonly describe: DescribeOptions = {},
  ) {}

  /** Runs `task` after every earlier call: the session cannot overlap statements. */
  private serial<T>(what: string, task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task).catch((error: unknown) => {
      throw toHighwaterError(error, what);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  listTables(): Promise<readonly TableId[]> {
    return this.serial('listTables', async () =>
      (await this.session.execute(SQL.listTables)).rows.map((r) => ({
        schema: String(r.OWNER),
        name: String(r.TABLE_NAME),
      })),
    );
  }

  describeTables(ids: readonly TableId[]): Promise<readonly TableSchema[]> {
    return this.serial('describeTables', async () => {
      const out: TableSchema[] = [];
      for (const id of ids) out.push(await describeTable(this.session, id, this.describe));
      return out;
    });
  }

  /** `CURRENT_SCN` with the restart SCN of the oldest open transaction (read after it, so never later than needed). */
  private watermark(): Promise<OracleOffset> {
    return this.serial('watermark', async () => {
      const scn = scnOf((await this.session.execute(SQL.currentScn)).rows[0]?.CURRENT_SCN);
      const oldest = (await this.session.execute(SQL.oldestOpenTransaction)).rows[0]?.START_SCN;
      const restart = oldest === null || oldest === undefined ? scn + 1n : scnOf(oldest);
      return watermarkAt(scn, restart < scn + 1n ? restart : scn + 1n);
    });
  }

  lowWatermark(): Promise<OracleOffset> {
    return this.watermark();
  }

  highWatermark(): Promise<OracleOffset> {
    return this.watermark();
  }

  /** The oldest SCN the logs still hold; mining starts there (transactions begun earlier are not seen whole). */
  earliestOffset(): Promise<OracleOffset> {
    return this.serial('earliestOffset', async () => {
      const first = scnOf((await this.session.execute(SQL.earliestScn)).rows[0]?.SCN);
      return watermarkAt(first - 1n, first);
    });
  }

  /**
   * `TIMESTAMP_TO_SCN(time)`: the position before the first commit at or after it. Oracle maps times
   * to SCNs with a granularity of a few seconds (SMON_SCN_TIME), so on a real database the start may
   * be up to that much early; the reader never starts later than asked.
   */
  offsetAtTimestamp(time: Date): Promise<OracleOffset> {
    return this.serial('offsetAtTimestamp', async () => {
      const ts = time.toISOString().replace('T', ' ').replace('Z', '');
      const scn = scnOf((await this.session.execute(SQL.timestampToScn, { ts })).rows[0]?.SCN);
      return watermarkAt(scn - 1n, scn);
    });
  }

  keyRange(table: TableSchema): Promise<{ readonly min: Key; readonly max: Key } | null> {
    return this.serial('keyRange', async () => {
      const owner = table.id.schema ?? '';
      const min = (await this.session.execute(edgeKeyQuery(owner, table.id.name, keyColumnsOf(table), false))).rows[0];
      if (min === undefined) return null;
      const max = (await this.session.execute(edgeKeyQuery(owner, table.id.name, keyColumnsOf(table), true))).rows[0];
      if (max === undefined) return null;
      return { min: this.keyOf(table, min), max: this.keyOf(table, max) };
    });
  }

  estimateRowCount(table: TableSchema): Promise<number> {
    return this.serial('estimateRowCount', async () => {
      const row = (await this.session.execute(SQL.rowEstimate, { owner: table.id.schema ?? '', name: table.id.name }))
        .rows[0];
      const n = Number(row?.NUM_ROWS ?? 0);
      return Number.isFinite(n) ? n : 0;
    });
  }

  nextChunkBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null> {
    return this.serial('nextChunkBoundary', async () => {
      if (isRowidKeyed(table)) return this.rowidBoundary(table, from, chunkSize);
      const q = boundaryQuery(table.id.schema ?? '', table.id.name, keyColumnsOf(table), from, chunkSize);
      const row = (await this.session.execute(q.sql, q.binds)).rows[0];
      return row === undefined ? null : this.keyOf(table, row);
    });
  }

  close(): Promise<void> {
    return this.serial('close', () => this.session.close());
  }

  /**
   * A ROWID-keyed table is split on its extents (DBA_EXTENTS), not by counting rows in ROWID order
   * (which would sort the whole rest of the table for every boundary): each chunk spans the blocks
   * that hold about `chunkSize` rows at the statistics' rows per block.
   */
  private async rowidBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null> {
    const binds = { owner: table.id.schema ?? '', name: table.id.name };
    const stats = (await this.session.execute(SQL.tableBlocks, binds)).rows[0];
    const extents: Extent[] = (await this.session.execute(SQL.extents, binds)).rows.map((r) => ({
      objectId: Number(r.DATA_OBJECT_ID),
      file: Number(r.RELATIVE_FNO),
      block: Number(r.BLOCK_ID),
      blocks: Number(r.BLOCKS),
    }));
    const blocks = blocksPerChunk(chunkSize, numberOrNull(stats?.NUM_ROWS), numberOrNull(stats?.BLOCKS));
    const end = nextRowidBoundary(extents, from === null ? null : String(from[0]), blocks);
    return end === null ? null : [end];
  }

  private keyOf(table: TableSchema, row: Readonly<Record<string, unknown>>): Key {
    return keyColumnsOf(table).map((column): Value => decoderFor(column)(row[column.name]));
  }
}

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function isRowidKeyed(table: TableSchema): boolean {
  const keys = keyColumnsOf(table);
  return keys.length === 1 && familyOf(keys[0] as OracleColumn) === 'rowid';
}

function keyColumnsOf(table: TableSchema): OracleColumn[] {
  return table.chunkKey.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    if (column === undefined) throw new Error(`chunk key column ${name} is not a column of ${table.id.name}`);
    return oracleColumnOf(column);
  });
}
