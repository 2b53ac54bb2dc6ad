import type { PgType } from './types/pg-type.js';
import {
  type ChunkRange,
  type ChunkReader,
  createRowBuilder,
  decodedBatches,
  type Row,
  type RowBuilder,
  type TableSchema,
  tableName,
  type UndecodedRows,
  type Value,
} from '@highwater/core';
import type pg from 'pg';
import { CopyOutQuery } from './copy-out.js';
import { CopyFieldScanner, CopyTextChunks } from './copy-text.js';
import { describeTable } from './describe-tables.js';
import type { ColumnNumbers } from './log-reader.js';
import { toHighwaterError } from './errors.js';
import { quoteIdent, quoteLiteral, qualifiedName } from './sql/identifiers.js';
import { keySql, toParam } from './sql/key-sql.js';
import { type SpanDecoder, spanDecoderFor } from './types/decode.js';
import { TypeCatalog } from './types/type-catalog.js';

/** How each table is read, by table and columns; see {@link PgChunkReader}'s constructor. */
export type ChunkPlans = Map<string, Promise<Plan>>;

interface Plan {
  readonly columns: readonly string[];
  /** What the SELECT lists per column: the column, or its current name `AS` the name the core knows. */
  readonly select: readonly string[];
  /** The column numbers (`attnum`) of `columns`: a renamed column keeps its number. */
  readonly numbers: ReadonlyMap<string, number>;
  readonly oid: number;
  /** The table's storage when the plan was made (a rewrite makes a new one); null for partitioned tables. */
  readonly filenode: string | null;
  readonly decoders: readonly SpanDecoder[];
  /** Builds a row from the decoded values, in column order. */
  readonly makeRow: RowBuilder;
}

/** The `WHERE` clause of a chunk, with the key values inlined as typed literals (COPY takes no parameters). */
export function chunkPredicate(table: TableSchema, range: ChunkRange): string {
  const sql = keySql(table);
  const parts: string[] = [];
  const literalize = (clause: string, key: readonly Value[]) => {
    let out = clause;
    // Parameters are numbered from 1 in each clause; replace from the highest so $1 does not eat $10.
    for (let i = key.length; i >= 1; i--) {
      const v = toParam(key[i - 1] ?? null);
      out = out.replace(`$${i}::`, `${v === null ? 'NULL' : quoteLiteral(v)}::`);
    }
    return out;
  };
  if (range.start !== null) parts.push(literalize(sql.compare('>=', 1), range.start));
  if (range.end !== null) parts.push(literalize(sql.compare('<', 1), range.end));
  return parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`;
}

/**
 * Reads chunks with `COPY (SELECT … WHERE key >= start AND key < end) TO STDOUT`: a plain read in
 * its own short statement (no lock beyond ACCESS SHARE, no long transaction), parsed from COPY's
 * text format with the same decoder the log path uses.
 */
export class PgChunkReader implements ChunkReader {
  private readonly catalog: TypeCatalog;

  /**
   * `plans` may be shared by the readers of one adapter: the first to read a table describes it,
   * the others use that (they would otherwise each query the catalog before their first chunk).
   */
  constructor(
    private readonly client: pg.Client,
    private readonly batchSize: number,
    private readonly plans: ChunkPlans = new Map(),
    /** Column numbers as the log reader last saw them (see {@link ColumnNumbers}). */
    private readonly numbers: ColumnNumbers = new Map(),
  ) {
    this.catalog = new TypeCatalog(client);
  }

  readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    return decodedBatches(this.readUndecodedChunk(table, range), this.batchSize);
  }

  /**
   * The chunk's COPY output in pieces of about `batchSize` lines, decoded only when asked: a chunk
   * waiting for its high watermark then holds the bytes the server sent (outside the JavaScript
   * heap) instead of a row object per line.
   */
  async *readUndecodedChunk(table: TableSchema, range: ChunkRange): AsyncIterable<UndecodedRows> {
    const name = qualifiedName(table.id);
    // A column renamed or dropped since the plan was made (DDL during the snapshot, before the log
    // reader has seen it) fails the SELECT before any row: the plan is made again from the catalog.
    let stale: Plan | undefined;
    for (let attempt = 1; ; attempt++) {
      let plan: Plan;
      let copy: CopyOutQuery;
      try {
        plan = await this.plan(table, stale);
        const select = `SELECT ${plan.select.join(', ')} FROM ${name}${chunkPredicate(table, range)}`;
        copy = this.client.query(new CopyOutQuery(`COPY (${select}) TO STDOUT`));
      } catch (error) {
        throw toHighwaterError(error, 'readChunk', name);
      }
      // A piece may end inside a line: the line counts where it ends, and is decoded with the next piece.
      let pieces: Buffer[] = [];
      let lines = 0;
      let over = false;
      let yielded = false;
      try {
        for (let bytes = await copy.nextBytes(); bytes !== null; bytes = await copy.nextBytes()) {
          pieces.push(bytes);
          lines += countLines(bytes);
          if (lines >= this.batchSize && bytes[bytes.length - 1] === NEWLINE) {
            yielded = true;
            yield new CopyLines(plan, name, pieces, lines);
            pieces = [];
            lines = 0;
          }
        }
        over = true;
      } catch (error) {
        over = true;
        if (!yielded && attempt === 1 && isUndefinedColumn(error)) {
          stale = plan;
          continue;
        }
        throw toHighwaterError(error, 'readChunk', name);
      } finally {
        // The consumer stopped early: the COPY's rest cannot be skipped, so its connection goes.
        if (!over) copy.abort();
      }
      if (pieces.length > 0) yield new CopyLines(plan, name, pieces, lines);
      else if (!yielded && attempt <= 2 && (await this.rewritten(plan, name))) {
        // Table-rewriting DDL (ALTER … TYPE) is not MVCC-safe: a read whose snapshot predates the
        // rewrite (taken before it waited for the DDL's lock) sees the table empty. Read again.
        stale = plan;
        continue;
      }
      return;
    }
  }

  /** True when the table's storage (`pg_relation_filenode`) is not what it was when `plan` was made. */
  private async rewritten(plan: Plan, name: string): Promise<boolean> {
    if (plan.filenode === null) return false;
    try {
      const now = await this.client.query<{ f: string | null }>('SELECT pg_relation_filenode($1::oid) AS f', [
        plan.oid,
      ]);
      return now.rows[0]?.f !== plan.filenode;
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', name);
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /**
   * The columns the core knows of (its schema), as the table has them now: a column renamed since
   * (DDL during the snapshot, before the log shows it) is read under its new name `AS` the old one,
   * found by its column number (in the `stale` plan that failed, else as the log reader last saw
   * it); a column dropped since is left out
   * (the row lacks it, as the core's schema change that follows says). Decoded by current types.
   */
  private plan(table: TableSchema, stale?: Plan): Promise<Plan> {
    const cacheKey = planKey(table);
    let plan = this.plans.get(cacheKey);
    if (plan === undefined || stale !== undefined) {
      const made = this.describe(table, stale);
      plan = made;
      this.plans.set(cacheKey, made);
      // A failed description is not kept: the next read tries again.
      made.catch(() => {
        if (this.plans.get(cacheKey) === made) this.plans.delete(cacheKey);
      });
    }
    return plan;
  }

  private async describe(table: TableSchema, stale?: Plan): Promise<Plan> {
    const described = await describeTable(this.client, this.catalog, table.id);
    const byNumber = new Map([...described.numbers].map(([name, n]) => [n, name]));
    const columns: string[] = [];
    const select: string[] = [];
    const decoders: SpanDecoder[] = [];
    const numbers = new Map<string, number>();
    const known = stale?.numbers ?? this.numbers.get(tableName(table.id));
    for (const { name } of table.columns) {
      const number = known?.get(name);
      const now = described.types.has(name) ? name : number === undefined ? undefined : byNumber.get(number);
      if (now === undefined) continue;
      columns.push(name);
      select.push(now === name ? quoteIdent(name) : `${quoteIdent(now)} AS ${quoteIdent(name)}`);
      decoders.push(spanDecoderFor(described.types.get(now) as PgType));
      numbers.set(name, described.numbers.get(now) as number);
    }
    const storage = await this.client.query<{ f: string | null }>('SELECT pg_relation_filenode($1::oid) AS f', [
      described.oid,
    ]);
    const filenode = storage.rows[0]?.f ?? null;
    return { columns, select, numbers, oid: described.oid, filenode, decoders, makeRow: createRowBuilder(columns) };
  }
}

/** Plans are kept per table and column list the core knows of: a schema event makes a new one. */
function planKey(table: TableSchema): string {
  return `${qualifiedName(table.id)}(${table.columns.map((c) => c.name).join(',')})`;
}

/** Postgres `undefined_column` (42703). */
function isUndefinedColumn(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '42703';
}

const NEWLINE = 0x0a;

/** COPY output of whole lines (the last piece ends a line), decoded into rows on demand. */
class CopyLines implements UndecodedRows {
  constructor(
    private readonly plan: Plan,
    private readonly table: string,
    private readonly pieces: readonly Buffer[],
    readonly count: number,
  ) {}

  decode(): readonly Row[] {
    const { decoders, makeRow } = this.plan;
    const width = decoders.length;
    if (width === 0) throw toHighwaterError(new Error('no columns to read'), 'readChunk', this.table);
    const lines = new CopyTextChunks();
    const scanner = new CopyFieldScanner();
    const values: Value[] = new Array(width).fill(null);
    const rows: Row[] = [];
    const decodeLines = (text: string): void => {
      scanner.reset(text);
      while (scanner.hasLine()) {
        for (let i = 0; i < width; i++) {
          scanner.field(i, width);
          if (scanner.isNull()) values[i] = null;
          else if (scanner.isEscaped()) {
            const unescaped = scanner.value();
            values[i] = (decoders[i] as SpanDecoder)(unescaped, 0, unescaped.length);
          } else values[i] = (decoders[i] as SpanDecoder)(text, scanner.start, scanner.end);
          scanner.next();
        }
        rows.push(makeRow(values));
      }
    };
    try {
      for (const piece of this.pieces) lines.pushEach(piece, decodeLines);
      lines.end();
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', this.table);
    }
    if (rows.length !== this.count) {
      throw toHighwaterError(new Error(`decoded ${rows.length} rows of ${this.count} lines`), 'readChunk', this.table);
    }
    return rows;
  }
}

function countLines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
