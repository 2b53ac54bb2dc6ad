import type { Introspector, Key, TableId, TableSchema } from '@highwater/core';
import type pg from 'pg';
import { describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { type Lsn, parseLsn } from './offsets/lsn.js';
import { type PgOffset, positionAt } from './offsets/pg-offset.js';
import { quoteLiteral, qualifiedName } from './sql/identifiers.js';
import { keySql } from './sql/key-sql.js';
import { type Queryable, SerialClient } from './sql/queryable.js';
import { decoderFor, type TextDecoder } from './types/decode.js';
import { TypeCatalog } from './types/type-catalog.js';
import { currentSnapshot, parseSnapshot } from './watermarks.js';

export interface IntrospectorSettings {
  /** Write a `pg_logical_emit_message` marker in `highWatermark()` so the log passes it even when idle. */
  readonly watermarkMessages: boolean;
  /** Prefix of the marker messages. */
  readonly messagePrefix: string;
  /** How long `lowWatermark()` waits for the transactions in progress when it sampled the LSN (ms). */
  readonly lowWatermarkPatienceMs: number;
  /** Told of every watermark returned. */
  readonly onWatermark?: (offset: PgOffset) => void;
  /** The oldest position the replication slot can still deliver (its confirmed flush position). */
  readonly earliest?: (db: Queryable) => Promise<PgOffset>;
  /** Called with the tables described (the adapter adds them to its publication). */
  readonly onDescribe?: ((ids: readonly TableId[], db: Queryable) => Promise<void>) | undefined;
}

interface Sample {
  readonly lsn: Lsn;
  /** A transaction id assigned after the LSN was read: the sample is safe once every id below it has finished. */
  readonly xid: bigint;
}

/**
 * One statement, evaluated inside out: the insert LSN, then a fresh transaction id, then the
 * statement's snapshot (`pg_current_snapshot()` is the snapshot the statement started with, taken
 * before the other two). `OFFSET 0` keeps each level a separate plan node, so the order holds.
 */
const SAMPLE_QUERY = `SELECT l::text AS l, x::text AS x, pg_current_snapshot()::text AS s
  FROM (SELECT l, pg_current_xact_id() AS x FROM (SELECT pg_current_wal_insert_lsn() AS l OFFSET 0) a OFFSET 0) b`;

/** The high watermark's message `m` (written first), then the sample of {@link SAMPLE_QUERY}. */
function messageSampleQuery(prefix: string): string {
  return `SELECT m::text AS m, l::text AS l, x::text AS x, pg_current_snapshot()::text AS s
  FROM (SELECT m, l, pg_current_xact_id() AS x
          FROM (SELECT m, pg_current_wal_insert_lsn() AS l
                  FROM (SELECT pg_logical_emit_message(false, ${quoteLiteral(prefix)}, 'hw') AS m OFFSET 0) f
                OFFSET 0) a OFFSET 0) b`;
}

interface SampleRow {
  readonly l: string;
  readonly x: string;
  readonly s: string;
}

function sampleOf(row: SampleRow): { sample: Sample; safeAtOnce: boolean } {
  const sample = { lsn: parseLsn(row.l), xid: BigInt(row.x) };
  // The statement's snapshot S was taken before L was read. If no transaction was running at S and
  // X is the id S expected next (its xmax), every id below X had finished at S: already safe.
  const before = parseSnapshot(row.s);
  return { sample, safeAtOnce: before.xip.size === 0 && before.xmax === sample.xid };
}

async function takeSample(client: Queryable): Promise<{ sample: Sample; safeAtOnce: boolean }> {
  const result = await client.query<SampleRow>(SAMPLE_QUERY);
  return sampleOf(result.rows[0] as SampleRow);
}

/**
 * How long a low watermark found safe by a high watermark's statement may be handed out instead of
 * sampling anew. Any earlier safe sample is sound (the next read sees every commit before it); a
 * recent one keeps the chunk's window, and the log it merges, short.
 */
const REUSE_LOW_WATERMARK_MS = 1000;

const LIST_QUERY = `
SELECT n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
 ORDER BY 1, 2`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The control connection: metadata, watermarks and chunk boundaries. See the README ("Watermarks")
 * for why `lowWatermark()` is safe against the commit-visible-later race.
 */
export class PgIntrospector implements Introspector<PgOffset> {
  private readonly catalog: TypeCatalog;
  /** Samples not known safe yet, oldest first. */
  private samples: Sample[] = [];
  private lastLow: Lsn = 0n;
  /** A sample a high watermark's statement found safe, and when (`performance.now()`). */
  private reusableLow: { readonly lsn: Lsn; readonly at: number } | null = null;
  private readonly messageSampleQuery: string;
  private readonly decoders = new Map<string, TextDecoder[]>();

  private readonly client: SerialClient;

  /** `reconnect` opens a new connection after the current one is lost (e.g. a server restart). */
  constructor(
    connection: pg.Client,
    private readonly settings: IntrospectorSettings,
    reconnect?: () => Promise<pg.Client>,
  ) {
    this.client = new SerialClient(connection, reconnect);
    this.messageSampleQuery = messageSampleQuery(settings.messagePrefix);
    this.catalog = new TypeCatalog(this.client);
  }

  async listTables(): Promise<readonly TableId[]> {
    return this.run('listTables', async () => {
      const result = await this.client.query<{ nspname: string; relname: string }>(LIST_QUERY);
      return result.rows.map((r) => ({ schema: r.nspname, name: r.relname }));
    });
  }

  async describeTables(ids: readonly TableId[]): Promise<readonly TableSchema[]> {
    return this.run('describeTables', async () => {
      const out: TableSchema[] = [];
      for (const id of ids) out.push((await describeTable(this.client, this.catalog, id)).schema);
      await this.settings.onDescribe?.(
        out.map((t) => t.id),
        this.client,
      );
      return out;
    });
  }

  /**
   * `L = pg_current_wal_insert_lsn()`, then `X = pg_current_xact_id()` (a fresh transaction id,
   * assigned after `L` was read). A transaction whose commit record lies before `L` had its id
   * assigned before that, so its id is below `X`. Once `pg_current_snapshot()` shows `xmin >= X`, no
   * transaction below `X` is running — including one whose commit record is written but which is not
   * yet visible (it stays in the proc array, so in the snapshot, until it is): every commit before
   * `L` is then visible to any read that starts, and `L` is a safe low watermark. We wait for that
   * (briefly, polling); under a long-running transaction we fall back to the newest earlier sample
   * known safe, and never go backwards.
   */
  async lowWatermark(): Promise<PgOffset> {
    return this.run('lowWatermark', async () => {
      const reusable = this.reusableLow;
      this.reusableLow = null;
      if (reusable !== null && performance.now() - reusable.at <= REUSE_LOW_WATERMARK_MS) {
        if (reusable.lsn > this.lastLow) this.lastLow = reusable.lsn;
        return this.issue(positionAt(this.lastLow));
      }
      const { sample, safeAtOnce } = await takeSample(this.client);
      if (safeAtOnce) {
        if (sample.lsn > this.lastLow) this.lastLow = sample.lsn;
        return this.issue(positionAt(this.lastLow));
      }
      this.samples.push(sample);
      if (this.samples.length > 1000) this.samples.shift();
      const deadline = Date.now() + this.settings.lowWatermarkPatienceMs;
      for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
        const { xmin } = await currentSnapshot(this.client);
        // Samples are in LSN order; every one whose transactions have all finished is safe.
        let safe: Lsn | null = null;
        const remaining: Sample[] = [];
        for (const s of this.samples) {
          if (xmin >= s.xid) safe = safe === null || s.lsn > safe ? s.lsn : safe;
          else remaining.push(s);
        }
        this.samples = remaining;
        if (safe !== null && safe > this.lastLow) this.lastLow = safe;
        const own = xmin >= sample.xid;
        if (own || (Date.now() >= deadline && this.lastLow > 0n)) return this.issue(positionAt(this.lastLow));
        await sleep(wait);
      }
    });
  }

  /**
   * An LSN after the commit record of every transaction visible now. With `watermarkMessages` it is
   * the position of a non-transactional logical message written now, which the log reader sees and
   * reports, so the watermark is passed even when no captured table changes.
   *
   * The same statement takes a low-watermark sample after it: when that is safe at once, the next
   * {@link lowWatermark} (the next chunk's, usually right after) hands it out without a query of its
   * own — one round trip per chunk fewer.
   */
  async highWatermark(): Promise<PgOffset> {
    return this.run('highWatermark', async () => {
      // With a message: it is not flushed by itself (the WAL writer would take up to
      // wal_writer_delay); the sample assigns a transaction id, so the statement commits, which
      // flushes the WAL through the message and the walsender sends it at once. pgoutput skips the
      // empty transaction.
      const query = this.settings.watermarkMessages ? this.messageSampleQuery : SAMPLE_QUERY;
      const result = await this.client.query<SampleRow & { m?: string }>(query);
      const row = result.rows[0] as SampleRow & { m?: string };
      const { sample, safeAtOnce } = sampleOf(row);
      this.reusableLow = safeAtOnce ? { lsn: sample.lsn, at: performance.now() } : null;
      return this.issue(positionAt(row.m === undefined ? sample.lsn : parseLsn(row.m)));
    });
  }

  /**
   * The slot's `confirmed_flush_lsn`: the server skips every transaction committed before it, so
   * nothing older can be read, and everything committed from it on (of the tables the publication
   * had when it was written) still is. See the README on `earliest`.
   */
  async earliestOffset(): Promise<PgOffset> {
    const earliest = this.settings.earliest;
    if (earliest === undefined) throw new Error('earliestOffset: the adapter did not configure the slot');
    return this.run('earliestOffset', async () => this.issue(await earliest(this.client)));
  }

  async keyRange(table: TableSchema): Promise<{ readonly min: Key; readonly max: Key } | null> {
    return this.run(
      'keyRange',
      async () => {
        const sql = keySql(table);
        const from = qualifiedName(table.id);
        const decode = await this.keyDecoders(table);
        const [first] = await this.client.queryArrays(
          `SELECT ${sql.select} FROM ${from} ORDER BY ${sql.orderBy} LIMIT 1`,
        );
        if (first === undefined) return null;
        const [max] = await this.client.queryArrays(
          `SELECT ${sql.select} FROM ${from} ORDER BY ${sql.orderByDesc} LIMIT 1`,
        );
        const last = max ?? first;
        return { min: decodeKey(first, decode), max: decodeKey(last, decode) };
      },
      table,
    );
  }

  /**
   * The planner's estimate, summed over the table's leaf partitions (the table itself when not
   * partitioned): `reltuples / relpages` scaled to the current number of pages. Leaves never
   * vacuumed or analysed (no density known) count exactly when small (64 MiB in all), else at 100
   * bytes a row.
   */
  async estimateRowCount(table: TableSchema): Promise<number> {
    return this.run(
      'estimateRowCount',
      async () => {
        const from = qualifiedName(table.id);
        const result = await this.client.query<{ estimate: string; unknown_bytes: string }>(
          `SELECT coalesce(sum(CASE WHEN c.relpages > 0 AND c.reltuples >= 0
                                 THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::int8)
                                 ELSE 0 END), 0)::float8 AS estimate,
                  coalesce(sum(CASE WHEN c.relpages > 0 AND c.reltuples >= 0 THEN 0
                                 ELSE pg_relation_size(c.oid) END), 0)::int8 AS unknown_bytes
             FROM (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf
                    UNION SELECT $1::regclass WHERE NOT EXISTS (SELECT FROM pg_partition_tree($1::regclass))) p
             JOIN pg_class c ON c.oid = p.relid`,
          [from],
        );
        const row = result.rows[0] as { estimate: string; unknown_bytes: string };
        const estimate = Number(row.estimate);
        const unknownBytes = Number(row.unknown_bytes);
        if (unknownBytes === 0) return Math.round(estimate);
        if (unknownBytes <= 64 * 1024 * 1024) {
          // Some leaves have no statistics: small enough to count them all exactly.
          const count = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${from}`);
          return Number((count.rows[0] as { n: string }).n);
        }
        return Math.round(estimate + unknownBytes / 100);
      },
      table,
    );
  }

  async nextChunkBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null> {
    return this.run(
      'nextChunkBoundary',
      async () => {
        const sql = keySql(table);
        const decode = await this.keyDecoders(table);
        const where = from === null ? '' : `WHERE ${sql.compare('>=', 1)}`;
        const params: unknown[] = from === null ? [] : sql.params(from);
        params.push(chunkSize);
        const [row] = await this.client.queryArrays(
          `SELECT ${sql.select} FROM ${qualifiedName(table.id)} ${where} ORDER BY ${sql.orderBy} OFFSET $${params.length} LIMIT 1`,
          params,
        );
        return row === undefined ? null : decodeKey(row, decode);
      },
      table,
    );
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private issue(offset: PgOffset): PgOffset {
    this.settings.onWatermark?.(offset);
    return offset;
  }

  private async keyDecoders(table: TableSchema): Promise<TextDecoder[]> {
    const cacheKey = `${qualifiedName(table.id)}(${table.chunkKey.join(',')})`;
    const known = this.decoders.get(cacheKey);
    if (known !== undefined) return known;
    const described = await describeTable(this.client, this.catalog, table.id);
    const decoders = table.chunkKey.map((c) => {
      const type = described.types.get(c);
      if (type === undefined) throw new Error(`chunk-key column ${c} is not a column of ${qualifiedName(table.id)}`);
      return decoderFor(type);
    });
    this.decoders.set(cacheKey, decoders);
    return decoders;
  }

  private async run<T>(where: string, body: () => Promise<T>, table?: TableSchema): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toHighwaterError(error, where, table === undefined ? undefined : qualifiedName(table.id));
    }
  }
}

function decodeKey(row: readonly (string | null)[], decoders: readonly TextDecoder[]): Key {
  return row.map((v, i) => (v === null ? null : (decoders[i] as TextDecoder)(v)));
}
