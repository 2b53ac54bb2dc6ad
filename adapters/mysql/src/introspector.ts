import { type Introspector, type Key, PermissionError, type TableId, type TableSchema } from '@highwater/core';
import type mysql from 'mysql2/promise';
import { type DescribedTable, describeTable } from './describe-tables.js';
import { closeConnection } from './connection.js';
import { coreOf, type LossWatch, watchLoss } from './connection-loss.js';
import { isConnectionError, toHighwaterError } from './errors.js';
import { compareOffsets, type MysqlOffset, positionAt } from './offsets/mysql-offset.js';
import { qualifiedName } from './sql/identifiers.js';
import { keySql } from './sql/key-sql.js';
import { offsetAtTimestamp, type TimestampSearchSettings } from './timestamp-search.js';
import { hasProcessPrivilege } from './setup-check.js';
import { binlogStatus, busyStatements } from './watermarks.js';

export interface IntrospectorSettings {
  /** How long `lowWatermark()` waits for transactions writing when it sampled before using an older safe sample (ms). */
  readonly lowWatermarkPatienceMs: number;
  /** Connection ids of the adapter's own chunk readers (plain SELECTs: never a commit in flight). */
  readonly ownConnections: ReadonlySet<number>;
  /** How `offsetAtTimestamp` reads the binlog (its own short dumps, with their own replica id). */
  readonly timestampSearch: TimestampSearchSettings;
  /** Told of every table described (the adapter keeps the decoders for chunk reads). */
  readonly onDescribe?: (table: DescribedTable) => void;
}

interface Sample {
  readonly offset: MysqlOffset;
  /** When the binlog position had been read (ms). */
  readonly at: number;
  /** Statements (thread → statement id) running just after the sample; it is safe once all have ended. */
  readonly pending: Map<number, string>;
}

const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How long the sample a high watermark took may serve as the next low watermark instead of a new
 * one. Any earlier safe sample is sound (the next read sees every change before it); a recent one
 * keeps the chunk's window, and the binlog it merges, short.
 */
const REUSE_LOW_WATERMARK_MS = 1000;

/**
 * The control connection: metadata, watermarks and chunk boundaries. See the README ("Watermarks")
 * for why `lowWatermark()` is safe against group commit's binlog-before-visible race.
 */
export class MysqlIntrospector implements Introspector<MysqlOffset> {
  private samples: Sample[] = [];
  private lastLow: MysqlOffset | null = null;
  /** The sample the last high watermark took, until a low watermark uses it or a newer one replaces it. */
  private reusable: Sample | null = null;
  private processChecked = false;
  private closed = false;
  private readonly described = new Map<string, DescribedTable>();

  /** The connection in use; replaced after it is lost (the SPI wants the introspector usable after a ConnectionLostError). */
  private current: Promise<{ db: mysql.Connection; watch: LossWatch }> | null;

  constructor(
    first: mysql.Connection,
    private readonly reconnect: () => Promise<mysql.Connection>,
    private readonly settings: IntrospectorSettings,
  ) {
    this.current = Promise.resolve({ db: first, watch: watchLoss(coreOf(first)) });
  }

  async listTables(): Promise<readonly TableId[]> {
    return this.run('listTables', async (db) => {
      const [rows] = await db.query(
        `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES
          WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?) ORDER BY 1, 2`,
        [SYSTEM_SCHEMAS],
      );
      return (rows as { s: string; t: string }[]).map((r) => ({ schema: r.s, name: r.t }));
    });
  }

  async describeTables(ids: readonly TableId[]): Promise<readonly TableSchema[]> {
    return this.run('describeTables', async (db) => {
      const out: TableSchema[] = [];
      for (const id of ids) {
        const d = await describeTable(db, id);
        this.described.set(qualifiedName(d.schema.id), d);
        this.settings.onDescribe?.(d);
        out.push(d.schema);
      }
      return out;
    });
  }

  /**
   * `P = binlog end`, then `S = the statements other sessions are executing` (PROCESSLIST, read
   * live). A transaction whose binlog entry lies before `P` but which is not yet visible (group
   * commit: binlog written, storage-engine commit pending) is inside the statement that commits it
   * (`COMMIT`, or an autocommit statement) — its session is busy, so that statement is in `S`. Once
   * every statement of `S` has ended (the session went idle, ran another statement, or is gone),
   * every change before `P` is visible to any read that starts: `P` is a safe low watermark.
   *
   * Usually `S` is empty or ends within milliseconds. Under a long statement we fall back, after the
   * patience, to the newest earlier sample proven safe. It never goes backwards.
   */
  async lowWatermark(): Promise<MysqlOffset> {
    return this.run('lowWatermark', async (db) => {
      if (this.processChecked === false) {
        if (!(await hasProcessPrivilege(db))) {
          throw new PermissionError(
            "mysql: the low watermark needs the PROCESS privilege (to see other sessions' commits in flight): GRANT PROCESS ON *.* TO the adapter's user.",
          );
        }
        this.processChecked = true;
      }
      const reused = await this.reuseSample(db);
      if (reused !== null) return reused;
      const status = await binlogStatus(db);
      const own: Sample = {
        offset: positionAt(status.file, status.pos),
        at: Date.now(),
        pending: await busyStatements(db, this.settings.ownConnections),
      };
      this.samples.push(own);
      if (this.samples.length > 1000) this.samples.shift();
      const deadline = Date.now() + this.settings.lowWatermarkPatienceMs;
      for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
        const running =
          own.pending.size === 0 && this.samples.length === 1
            ? new Map<number, string>()
            : await busyStatements(db, this.settings.ownConnections);
        let newest: Sample | null = null;
        for (const s of this.samples) {
          for (const [id, statement] of [...s.pending]) if (running.get(id) !== statement) s.pending.delete(id);
          if (s.pending.size === 0) newest = s;
        }
        if (newest !== null) {
          if (this.lastLow === null || compareOffsets(newest.offset, this.lastLow) > 0) this.lastLow = newest.offset;
          // Everything up to the newest safe sample is superseded.
          this.samples = this.samples.slice(this.samples.indexOf(newest) + 1);
        }
        if (this.lastLow !== null && (own.pending.size === 0 || Date.now() >= deadline)) return this.lastLow;
        await sleep(wait);
      }
    });
  }

  /**
   * The end of the binlog: at or after the commit of every transaction visible now.
   *
   * Then, as {@link lowWatermark} samples, the statements running: the position and those make a
   * low-watermark sample, which the next low watermark (usually the next chunk's, right after) uses
   * instead of reading the binlog position and the statements anew — one or two round trips per
   * chunk fewer.
   */
  async highWatermark(): Promise<MysqlOffset> {
    return this.run('highWatermark', async (db) => {
      const status = await binlogStatus(db);
      const offset = positionAt(status.file, status.pos);
      // Without the PROCESS privilege (checked by the first low watermark) the list would miss other users' statements.
      this.reusable = this.processChecked
        ? { offset, at: Date.now(), pending: await busyStatements(db, this.settings.ownConnections) }
        : null;
      return offset;
    });
  }

  /**
   * The high watermark's sample, when it is recent and safe: at once when no statement was running
   * after it, else once every one that was has ended (one look at the statements running now).
   */
  private async reuseSample(db: mysql.Connection): Promise<MysqlOffset | null> {
    const sample = this.reusable;
    this.reusable = null;
    if (sample === null || Date.now() - sample.at > REUSE_LOW_WATERMARK_MS) return null;
    if (sample.pending.size > 0) {
      const running = await busyStatements(db, this.settings.ownConnections);
      for (const [id, statement] of [...sample.pending]) if (running.get(id) !== statement) sample.pending.delete(id);
      if (sample.pending.size > 0) return null;
    }
    if (this.lastLow === null || compareOffsets(sample.offset, this.lastLow) > 0) this.lastLow = sample.offset;
    return this.lastLow;
  }

  /** The start of the oldest binlog file the server still has. */
  async earliestOffset(): Promise<MysqlOffset> {
    return this.run('earliestOffset', async (db) => {
      const [rows] = await db.query('SHOW BINARY LOGS');
      const first = (rows as { Log_name: string }[])[0];
      if (first === undefined) throw new Error('SHOW BINARY LOGS returned nothing: is log_bin on?');
      return positionAt(first.Log_name, 4);
    });
  }

  /** The offset just before the first transaction committed at or after `time` (see `timestamp-search.ts`). */
  async offsetAtTimestamp(time: Date): Promise<MysqlOffset> {
    return this.run('offsetAtTimestamp', (db) => offsetAtTimestamp(this.settings.timestampSearch, db, time));
  }

  async keyRange(table: TableSchema): Promise<{ readonly min: Key; readonly max: Key } | null> {
    return this.run(
      'keyRange',
      async (db) => {
        const d = await this.table(db, table);
        const sql = keySql(table, d.columns);
        const select = this.keySelect(table, d);
        const from = qualifiedName(table.id);
        const [first] = await this.queryKeys(
          db,
          `SELECT ${select} FROM ${from} ORDER BY ${sql.orderBy} LIMIT 1`,
          [],
          table,
          d,
        );
        if (first === undefined) return null;
        const [last] = await this.queryKeys(
          db,
          `SELECT ${select} FROM ${from} ORDER BY ${sql.orderByDesc} LIMIT 1`,
          [],
          table,
          d,
        );
        return { min: first, max: last ?? first };
      },
      table,
    );
  }

  /** `information_schema.TABLES.TABLE_ROWS`: InnoDB's sampled estimate. */
  async estimateRowCount(table: TableSchema): Promise<number> {
    return this.run(
      'estimateRowCount',
      async (db) => {
        const [rows] = await db.query(
          'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
          [table.id.schema ?? '', table.id.name],
        );
        const n = (rows as { n: string | number | null }[])[0]?.n;
        return n === null || n === undefined ? 0 : Number(n);
      },
      table,
    );
  }

  async nextChunkBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null> {
    return this.run(
      'nextChunkBoundary',
      async (db) => {
        const d = await this.table(db, table);
        const sql = keySql(table, d.columns);
        const where = from === null ? '' : `WHERE ${sql.compare('>=')}`;
        const params = from === null ? [] : sql.params(from);
        const [row] = await this.queryKeys(
          db,
          `SELECT ${this.keySelect(table, d)} FROM ${qualifiedName(table.id)} ${where} ORDER BY ${sql.orderBy} LIMIT 1 OFFSET ${Math.max(0, Math.floor(chunkSize))}`,
          params,
          table,
          d,
        );
        return row ?? null;
      },
      table,
    );
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = null;
    this.closed = true;
    const live = await current?.catch(() => null);
    if (live !== null && live !== undefined) await closeConnection(live.db);
  }

  private keySelect(table: TableSchema, d: DescribedTable): string {
    return table.chunkKey
      .map((c, i) => {
        const decoder = d.decoders.get(c);
        return `${decoder === undefined ? `\`${c}\`` : decoder.select(`\`${c.replace(/`/g, '``')}\``)} AS k${i}`;
      })
      .join(', ');
  }

  private async queryKeys(
    db: mysql.Connection,
    sql: string,
    params: unknown[],
    table: TableSchema,
    d: DescribedTable,
  ): Promise<Key[]> {
    const binary = new Set(table.chunkKey.map((c, i) => (d.decoders.get(c)?.binary === true ? `k${i}` : '')));
    const [rows] = await db.query({
      sql,
      values: params,
      rowsAsArray: true,
      typeCast: (field, next) => {
        void next;
        return binary.has(field.name) ? field.buffer() : field.string();
      },
    });
    return (rows as (string | Buffer | null)[][]).map((r) =>
      table.chunkKey.map((c, i) => {
        const decoder = d.decoders.get(c);
        const raw = r[i] ?? null;
        return decoder === undefined ? (raw as string | null) : decoder.fromQuery(raw);
      }),
    );
  }

  private async table(db: mysql.Connection, table: TableSchema): Promise<DescribedTable> {
    const known = this.described.get(qualifiedName(table.id));
    if (known !== undefined) return known;
    const d = await describeTable(db, table.id);
    this.described.set(qualifiedName(table.id), d);
    return d;
  }

  /** The live connection, opened again when the last one was lost. */
  private connection(): Promise<{ db: mysql.Connection; watch: LossWatch }> {
    if (this.closed) return Promise.reject(new Error('the introspector is closed'));
    if (this.current === null) {
      const opening = this.reconnect().then((db) => ({ db, watch: watchLoss(coreOf(db)) }));
      this.current = opening;
      // A failed reconnect is forgotten, so the core's next retry tries again.
      opening.catch(() => {
        if (this.current === opening) this.current = null;
      });
    }
    return this.current;
  }

  private async run<T>(where: string, body: (db: mysql.Connection) => Promise<T>, table?: TableSchema): Promise<T> {
    const used = this.connection();
    try {
      const live = await used;
      return await live.watch.race(() => body(live.db));
    } catch (error) {
      // Only the call that saw this connection fail drops it: a concurrent call may already have opened the next.
      if (isConnectionError(error) && this.current === used) {
        this.current = null;
        void used.then((live) => live.db.destroy()).catch(() => undefined);
      }
      throw toHighwaterError(error, where, table === undefined ? undefined : qualifiedName(table.id));
    }
  }
}
