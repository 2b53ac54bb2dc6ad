import type { ChunkRange, ChunkReader, Row, TableSchema, Value } from '@highwater/core';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CopyLineSplitter, splitCopyLine } from './copy-text.js';
import { describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { quoteIdent, quoteLiteral, qualifiedName } from './sql/identifiers.js';
import { keySql, toParam } from './sql/key-sql.js';
import { decoderFor, type TextDecoder } from './types/decode.js';
import { TypeCatalog } from './types/type-catalog.js';

interface Plan {
  readonly columns: readonly string[];
  readonly decoders: readonly TextDecoder[];
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
  private readonly plans = new Map<string, Plan>();

  constructor(
    private readonly client: pg.Client,
    private readonly batchSize: number,
  ) {
    this.catalog = new TypeCatalog(client);
  }

  async *readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    const name = qualifiedName(table.id);
    let plan: Plan;
    let stream: NodeJS.ReadableStream;
    try {
      plan = await this.plan(table);
      const select = `SELECT ${plan.columns.map(quoteIdent).join(', ')} FROM ${name}${chunkPredicate(table, range)}`;
      stream = this.client.query(copyTo(`COPY (${select}) TO STDOUT`));
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', name);
    }
    const { columns, decoders } = plan;
    const width = columns.length;
    const splitter = new CopyLineSplitter();
    let batch: Row[] = [];
    try {
      for await (const chunk of stream) {
        for (const line of splitter.push(chunk as Buffer)) {
          const fields = splitCopyLine(line);
          const row: Record<string, Value> = {};
          for (let i = 0; i < width; i++) {
            const f = fields[i] ?? null;
            row[columns[i] as string] = f === null ? null : (decoders[i] as TextDecoder)(f);
          }
          batch.push(row);
          if (batch.length >= this.batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      splitter.end();
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', name);
    }
    if (batch.length > 0) yield batch;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /** The columns the core knows of (its schema), decoded by their current Postgres types. */
  private async plan(table: TableSchema): Promise<Plan> {
    const columns = table.columns.map((c) => c.name);
    const cacheKey = `${qualifiedName(table.id)}(${columns.join(',')})`;
    let plan = this.plans.get(cacheKey);
    if (plan === undefined) {
      const described = await describeTable(this.client, this.catalog, table.id);
      const decoders = columns.map((c) => {
        const type = described.types.get(c);
        if (type === undefined) throw new Error(`column ${c} of ${qualifiedName(table.id)} no longer exists`);
        return decoderFor(type);
      });
      plan = { columns, decoders };
      this.plans.set(cacheKey, plan);
    }
    return plan;
  }
}
