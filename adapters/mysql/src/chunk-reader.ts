import type { ChunkReader, Row, TableSchema, Value } from '@highwater/core';
import type { ChunkRange } from '@highwater/core';
import type mysql from 'mysql2';
import { type DescribedTable, describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { qualifiedName, quoteIdent } from './sql/identifiers.js';
import { keySql } from './sql/key-sql.js';

/**
 * Plain range reads: `SELECT … WHERE key >= ? AND key < ?` streamed with mysql2's query stream, no
 * lock, no transaction; every value through the column's snapshot decoder.
 */
export class MysqlChunkReader implements ChunkReader {
  private readonly described = new Map<string, DescribedTable>();

  constructor(
    private readonly db: mysql.Connection,
    private readonly batchSize: number,
    private readonly onClose: () => void = () => undefined,
  ) {}

  async *readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    let d: DescribedTable;
    try {
      d = await this.table(table);
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', qualifiedName(table.id));
    }
    const sql = keySql(table, d.columns);
    const where: string[] = [];
    const params: unknown[] = [];
    if (range.start !== null) {
      where.push(sql.compare('>='));
      params.push(...sql.params(range.start));
    }
    if (range.end !== null) {
      where.push(sql.compare('<'));
      params.push(...sql.params(range.end));
    }
    const columns = d.columns;
    const decoders = columns.map((c) => d.decoders.get(c.name));
    const select = columns.map((c, i) => `${decoders[i]?.select(quoteIdent(c.name)) ?? quoteIdent(c.name)} AS c${i}`);
    const text = `SELECT ${select.join(', ')} FROM ${qualifiedName(table.id)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
    const binary = new Set(columns.flatMap((_c, i) => (decoders[i]?.binary === true ? [`c${i}`] : [])));
    const stream = this.db
      .query({
        sql: text,
        values: params,
        rowsAsArray: true,
        typeCast: (field: mysql.TypeCastField, next: () => unknown) => {
          void next;
          return binary.has(field.name) ? field.buffer() : field.string();
        },
      })
      .stream();
    let batch: Row[] = [];
    try {
      for await (const raw of stream as AsyncIterable<(string | Buffer | null)[]>) {
        const row: Record<string, Value> = {};
        for (let i = 0; i < columns.length; i++) {
          const decoder = decoders[i];
          const value = raw[i] ?? null;
          row[(columns[i] as { name: string }).name] =
            decoder === undefined ? (value as Value) : decoder.fromQuery(value);
        }
        batch.push(row);
        if (batch.length >= this.batchSize) {
          yield batch;
          batch = [];
        }
      }
    } catch (error) {
      stream.destroy();
      throw toHighwaterError(error, 'readChunk', qualifiedName(table.id));
    }
    if (batch.length > 0) yield batch;
  }

  async close(): Promise<void> {
    this.onClose();
    await this.db
      .promise()
      .end()
      .catch(() => this.db.destroy());
  }

  private async table(table: TableSchema): Promise<DescribedTable> {
    const key = qualifiedName(table.id);
    const known = this.described.get(key);
    // A table re-described by the core (new columns) is described again here.
    if (known !== undefined && known.columns.length === table.columns.length) return known;
    const d = await describeTable(this.db.promise(), table.id);
    this.described.set(key, d);
    return d;
  }
}
