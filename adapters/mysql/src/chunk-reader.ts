import {
  AdapterError,
  type ChunkRange,
  type ChunkReader,
  createRowBuilder,
  decodedBatches,
  type Row,
  type RowBuilder,
  type TableSchema,
  type UndecodedRows,
  type Value,
} from '@highwater/core';
import mysql from 'mysql2';
import { type DescribedTable, describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { qualifiedName, quoteIdent } from './sql/identifiers.js';
import { keySql } from './sql/key-sql.js';
import type { ColumnDecoder } from './types/decode.js';
import { captureRowPackets, type FieldReading, readTextRow, RowPacketBatch } from './raw-rows.js';

const { Types } = mysql;

/** Result column types the server sends as ASCII text (numbers, dates and times). */
const ASCII_TYPES: ReadonlySet<number> = new Set([
  Types.DECIMAL,
  Types.TINY,
  Types.SHORT,
  Types.LONG,
  Types.FLOAT,
  Types.DOUBLE,
  Types.NULL,
  Types.TIMESTAMP,
  Types.LONGLONG,
  Types.INT24,
  Types.DATE,
  Types.TIME,
  Types.DATETIME,
  Types.YEAR,
  Types.NEWDATE,
  Types.NEWDECIMAL,
]);
const BINARY_CHARSET = 63;
/** Integer result types (not YEAR: its decoder reads text), read straight into numbers. */
const INTEGER_TYPES: ReadonlySet<number> = new Set([Types.TINY, Types.SHORT, Types.LONG, Types.INT24, Types.LONGLONG]);

/**
 * How each result column is read from the row packets, as mysql2's own reader would give it to the
 * decoders: bytes for the columns a decoder reads as bytes and for other binary-charset columns,
 * ASCII for numbers and dates, UTF-8 (the connection's result charset) for the rest — JSON too,
 * which MySQL labels binary.
 */
function fieldReadings(
  fields: readonly mysql.FieldPacket[],
  decoders: readonly (ColumnDecoder | undefined)[],
): FieldReading[] {
  if (fields.length !== decoders.length) {
    throw new Error(`the SELECT returned ${fields.length} columns, ${decoders.length} were asked for`);
  }
  return fields.map((f, i) => {
    const type = f.columnType ?? -1;
    if (decoders[i]?.binary === true) return 'bytes';
    if (INTEGER_TYPES.has(type)) return 'integer';
    if (ASCII_TYPES.has(type)) return 'ascii';
    if (type === Types.JSON) return 'text';
    return f.characterSet === BINARY_CHARSET ? 'bytes' : 'text';
  });
}

/** How each table is read, by table; see {@link MysqlChunkReader}'s constructor. */
export type ChunkPlans = Map<string, Promise<Plan>>;

interface Plan {
  readonly described: DescribedTable;
  readonly decoders: readonly (ColumnDecoder | undefined)[];
  readonly select: string;
  readonly makeRow: RowBuilder;
}

/** A batch of row packets, decoded into rows with the table's decoders when the core emits the chunk. */
class UndecodedRowPackets implements UndecodedRows {
  readonly count: number;

  constructor(
    private readonly packets: RowPacketBatch,
    private readonly reading: readonly FieldReading[],
    private readonly plan: Plan,
    private readonly table: string,
  ) {
    this.count = packets.count;
  }

  decode(): readonly Row[] {
    const { decoders, makeRow } = this.plan;
    const reading = this.reading;
    const width = reading.length;
    const fields: (string | number | Buffer | null)[] = new Array(width).fill(null);
    const values: Value[] = new Array(width).fill(null);
    const rows: Row[] = [];
    try {
      this.packets.forEach((bytes, start, end, text, textStart) => {
        readTextRow(bytes, start, end, reading, fields, text, textStart);
        for (let i = 0; i < width; i++) {
          const decoder = decoders[i];
          const field = fields[i] as string | number | Buffer | null;
          values[i] = decoder === undefined ? field : decoder.fromQuery(field);
        }
        rows.push(makeRow(values));
      });
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', this.table);
    }
    return rows;
  }
}

/** Batches of rows waiting for the consumer before the connection stops reading. */
const MAX_READY = 2;

/**
 * Plain range reads: `SELECT … WHERE key >= ? AND key < ?` streamed with mysql2 (its row packets
 * taken unparsed, with backpressure by pausing the connection), no lock, no transaction; every
 * value through the column's snapshot decoder when the rows are decoded.
 */
export class MysqlChunkReader implements ChunkReader {
  /**
   * `plans` may be shared by the readers of one adapter: the first to read a table describes it,
   * the others use that (they would otherwise each query the catalog before their first chunk).
   */
  constructor(
    private readonly db: mysql.Connection,
    private readonly batchSize: number,
    private readonly onClose: () => void = () => undefined,
    private readonly plans: ChunkPlans = new Map(),
  ) {}

  readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]> {
    return decodedBatches(this.readUndecodedChunk(table, range), this.batchSize);
  }

  /**
   * The chunk's rows as the server sent them (text-protocol row packets, copied into one buffer per
   * batch of about `batchSize` rows), decoded when asked: a chunk waiting for its high watermark
   * then holds a few buffers outside the JavaScript heap instead of a row object per row.
   */
  async *readUndecodedChunk(table: TableSchema, range: ChunkRange): AsyncIterable<UndecodedRows> {
    const name = qualifiedName(table.id);
    let plan: Plan;
    try {
      plan = await this.plan(table);
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', name);
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
    const text = `SELECT ${plan.select} FROM ${name}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
    const ready: RowPacketBatch[] = [];
    let batch = new RowPacketBatch(this.batchSize);
    let reading: FieldReading[] | null = null;
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
    const query = this.db.query({ sql: text, values: params });
    try {
      captureRowPackets(query, (bytes, start, end) => {
        if (discard || failure !== null) return;
        batch.add(bytes, start, end);
        if (batch.count >= this.batchSize) {
          ready.push(batch);
          batch = new RowPacketBatch(this.batchSize);
          if (ready.length >= MAX_READY && !paused) {
            paused = true;
            this.db.pause();
          }
          notify();
        }
      });
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', name);
    }
    query.on('fields', (fields: mysql.FieldPacket[]) => {
      try {
        reading = fieldReadings(fields, plan.decoders);
      } catch (error) {
        if (failure === null) failure = error;
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
    const undecoded = (rows: RowPacketBatch): UndecodedRows => {
      if (reading === null)
        throw toHighwaterError(new Error('rows before their column definitions'), 'readChunk', name);
      return new UndecodedRowPackets(rows, reading, plan, name);
    };
    try {
      for (;;) {
        if (failure !== null) throw this.failed(failure, table, name);
        const next = ready.shift();
        if (next !== undefined) {
          if (paused && ready.length < MAX_READY) {
            paused = false;
            this.db.resume();
          }
          yield undecoded(next);
          continue;
        }
        if (ended) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } catch (error) {
      throw toHighwaterError(error, 'readChunk', name);
    } finally {
      this.db.off('error', onConnectionError);
      if (!ended) {
        // Stopped early: let the query run to its end unread, so the connection stays usable.
        discard = true;
        if (paused) this.db.resume();
      }
    }
    if (batch.count > 0) yield undecoded(batch);
  }

  async close(): Promise<void> {
    this.onClose();
    await this.db
      .promise()
      .end()
      .catch(() => this.db.destroy());
  }

  /**
   * A column renamed or dropped since the plan was made (DDL during the snapshot, before the core
   * has seen it): the plan is forgotten and the read is retried (the retry describes the table again).
   */
  private failed(error: unknown, table: TableSchema, name: string): unknown {
    if ((error as { errno?: unknown } | null)?.errno !== 1054) return error; // ER_BAD_FIELD_ERROR
    this.plans.delete(qualifiedName(table.id));
    return new AdapterError(
      `mysql: readChunk: ${name} changed while it was read (${(error as Error).message}); read again`,
      {
        cause: error,
        retriable: true,
      },
    );
  }

  private async plan(table: TableSchema): Promise<Plan> {
    const key = qualifiedName(table.id);
    const known = this.plans.get(key);
    // A table re-described by the core (new columns) is described again here.
    if (known !== undefined) {
      const plan = await known;
      const names = plan.described.columns;
      if (names.length === table.columns.length && names.every((c, i) => c.name === table.columns[i]?.name))
        return plan;
      if (this.plans.get(key) === known) this.plans.delete(key);
      return this.plan(table);
    }
    const plan = this.describe(table);
    this.plans.set(key, plan);
    // A failed description is not kept: the next read tries again.
    plan.catch(() => {
      if (this.plans.get(key) === plan) this.plans.delete(key);
    });
    return plan;
  }

  private async describe(table: TableSchema): Promise<Plan> {
    const d = await describeTable(this.db.promise(), table.id);
    const columns = d.columns;
    const decoders = columns.map((c) => d.decoders.get(c.name));
    const select = columns
      .map((c, i) => `${decoders[i]?.select(quoteIdent(c.name)) ?? quoteIdent(c.name)} AS c${i}`)
      .join(', ');
    return { described: d, decoders, select, makeRow: createRowBuilder(columns.map((c) => c.name)) };
  }
}
