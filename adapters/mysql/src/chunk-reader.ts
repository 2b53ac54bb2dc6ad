import {
  type ChunkRange,
  type ChunkReader,
  createRowBuilder,
  type Row,
  type RowBuilder,
  type TableSchema,
  type Value,
} from '@highwater/core';
import type mysql from 'mysql2';
import { type DescribedTable, describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { qualifiedName, quoteIdent } from './sql/identifiers.js';
import { keySql } from './sql/key-sql.js';
import type { ColumnDecoder } from './types/decode.js';
import type { MysqlColumn } from './types/mysql-column.js';

/**
 * Column types whose value mysql2's own text-protocol reader returns exactly as the decoders expect
 * with the adapter's connection options (`supportBigNumbers`, `bigNumberStrings`, `dateStrings`, no
 * `decimalNumbers`): integers up to 32 bits as numbers, BIGINT, DECIMAL, dates and times as text,
 * character types as text, binary types and BIT as a Buffer. FLOAT/DOUBLE (mysql2 computes them
 * digit by digit, not always as `Number(text)` does), JSON and spatial types go through `typeCast`.
 */
const NATIVE_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'year',
  'decimal',
  'numeric',
  'date',
  'datetime',
  'timestamp',
  'time',
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'bit',
]);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);

function readsNatively(column: MysqlColumn): boolean {
  if (column.json) return false;
  if (NATIVE_TYPES.has(column.dataType)) return true;
  return TEXT_TYPES.has(column.dataType) && column.charset !== null && column.charset !== 'binary';
}

/**
 * Rows wait in the core until their chunk's high watermark, so they outlive a few young-generation
 * collections. A decoder that assembles a string from pieces returns a chain of V8 cons strings;
 * reading one character flattens it in place, and the collector then keeps only the flat string.
 */
function flatten(value: Value): void {
  if (typeof value === 'string' && value.length > 12) value.charCodeAt(0);
}

interface Plan {
  readonly described: DescribedTable;
  readonly decoders: readonly (ColumnDecoder | undefined)[];
  readonly select: string;
  /** Column aliases read as bytes by `typeCast`; null when mysql2 reads every column natively. */
  readonly binary: ReadonlySet<string> | null;
  readonly makeRow: RowBuilder;
}

/** Batches of decoded rows waiting for the consumer before the connection stops reading. */
const MAX_READY = 2;

/**
 * Plain range reads: `SELECT … WHERE key >= ? AND key < ?` streamed with mysql2 (rows taken from
 * the query's events, with backpressure by pausing the connection), no lock, no transaction; every
 * value through the column's snapshot decoder.
 */
export class MysqlChunkReader implements ChunkReader {
  private readonly plans = new Map<string, Plan>();

  constructor(
    private readonly db: mysql.Connection,
    private readonly batchSize: number,
    private readonly onClose: () => void = () => undefined,
  ) {}

  async *readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    let plan: Plan;
    try {
      plan = await this.plan(table);
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', qualifiedName(table.id));
    }
    const sql = keySql(table, plan.described.columns);
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
    const text = `SELECT ${plan.select} FROM ${qualifiedName(table.id)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
    const { decoders, makeRow, binary } = plan;
    const width = decoders.length;
    const values: Value[] = new Array(width).fill(null);
    const ready: Row[][] = [];
    let batch: Row[] = [];
    let ended = false;
    let failure: unknown = null;
    let discard = false;
    let paused = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const query = this.db.query({
      sql: text,
      values: params,
      rowsAsArray: true,
      ...(binary === null
        ? {}
        : {
            typeCast: (field: mysql.TypeCastField, next: () => unknown) => {
              void next;
              return binary.has(field.name) ? field.buffer() : field.string();
            },
          }),
    });
    query.on('result', (raw: unknown) => {
      if (discard || failure !== null) return;
      const fields = raw as (string | number | Buffer | null)[];
      try {
        for (let i = 0; i < width; i++) {
          const decoder = decoders[i];
          const value = (fields[i] ?? null) as Value;
          const decoded = decoder === undefined ? value : decoder.fromQuery(value as string | Buffer | null);
          flatten(decoded);
          values[i] = decoded;
        }
      } catch (error) {
        failure = error;
        notify();
        return;
      }
      batch.push(makeRow(values));
      if (batch.length >= this.batchSize) {
        ready.push(batch);
        batch = [];
        if (ready.length >= MAX_READY && !paused) {
          paused = true;
          this.db.pause();
        }
        notify();
      }
    });
    query.on('error', (error: unknown) => {
      if (failure === null) failure = error;
      notify();
    });
    query.on('end', () => {
      ended = true;
      notify();
    });
    // mysql2 reports a connection lost mid-query to the connection, not to a query without a
    // callback: without this the read would wait for ever.
    const onConnectionError = (error: unknown) => {
      if (failure === null) failure = error;
      notify();
    };
    this.db.on('error', onConnectionError);
    try {
      for (;;) {
        if (failure !== null) throw failure;
        const next = ready.shift();
        if (next !== undefined) {
          if (paused && ready.length < MAX_READY) {
            paused = false;
            this.db.resume();
          }
          yield next;
          continue;
        }
        if (ended) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', qualifiedName(table.id));
    } finally {
      this.db.off('error', onConnectionError);
      if (!ended) {
        // Stopped early: let the query run to its end unread, so the connection stays usable.
        discard = true;
        if (paused) this.db.resume();
      }
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

  private async plan(table: TableSchema): Promise<Plan> {
    const key = qualifiedName(table.id);
    const known = this.plans.get(key);
    // A table re-described by the core (new columns) is described again here.
    if (known !== undefined && known.described.columns.length === table.columns.length) return known;
    const d = await describeTable(this.db.promise(), table.id);
    const columns = d.columns;
    const decoders = columns.map((c) => d.decoders.get(c.name));
    const select = columns
      .map((c, i) => `${decoders[i]?.select(quoteIdent(c.name)) ?? quoteIdent(c.name)} AS c${i}`)
      .join(', ');
    const native = columns.every((c, i) => readsNatively(c) && decoders[i]?.select('x') === 'x');
    const binary = native ? null : new Set(columns.flatMap((_c, i) => (decoders[i]?.binary === true ? [`c${i}`] : [])));
    const plan: Plan = {
      described: d,
      decoders,
      select,
      binary,
      makeRow: createRowBuilder(columns.map((c) => c.name)),
    };
    this.plans.set(key, plan);
    return plan;
  }
}
