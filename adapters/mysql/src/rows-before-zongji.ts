import type { Row, RowBuilder, Value } from '@highwater/core';
import type ZongJi from '@vlasky/zongji';
import {
  eventTypeCode,
  fieldReader,
  type MappedColumn,
  type RawValue,
  readRowImage,
  rowsEventHeader,
  rowsEventOp,
  type RowsOp,
  type SchemaColumn,
} from './binlog-rows.js';
import type { ColumnDecoder } from './types/decode.js';
import { enumValues } from './types/mysql-column.js';

/**
 * The log reader's way past zongji for most events (see `binlog-rows.ts`): zongji's binlog command
 * hands each packet to its state method `binlogData`; {@link readBeforeZongji} puts a look at the
 * packet first, and {@link RowsEventReader} reads what it can of it.
 */

/** The parts of a mysql2 packet read here. */
export interface BinlogPacket {
  readonly buffer: Buffer;
  readonly offset: number;
  readonly end: number;
  isEOF(): boolean;
  isError(): boolean;
}

/** The parts of zongji read here (its table map, checksum setting and current GTID). */
export interface ZongJiState {
  readonly tableMap: Record<number, unknown>;
  readonly useChecksum: boolean;
  readonly _currentGtid?: string;
  readonly stopped: boolean;
  readonly connection: unknown;
  /** Set at every table map: zongji keeps its own resume position out of a transaction's rows. */
  _positionFrozen?: boolean;
}

/** What the reader knows of a captured table: its columns in order, their decoders, a row builder. */
export interface RowsTable {
  readonly columns: readonly string[];
  readonly decoders: readonly ColumnDecoder[];
  readonly makeRow: RowBuilder;
  /** Scratch for the values of the row being decoded. */
  readonly values: Value[];
}

/** A rows event read here: its rows decoded. A class: the log reader tells it from zongji's events by it. */
export class RowsRead<T> {
  constructor(
    readonly op: RowsOp,
    readonly table: T,
    /** The row images in order (an update's before and after images alternate). */
    readonly rows: readonly Row[],
    /** The event header's time (ms). */
    readonly timestamp: number,
    readonly nextPosition: number,
    readonly gtid: string | undefined,
  ) {}
}

type FieldReader = NonNullable<ReturnType<typeof fieldReader>>;

/** How the rows of one zongji table map entry are read: a field reader per column, or null where zongji reads them. */
interface RowsPlan<T> {
  readonly table: T;
  readonly readers: readonly FieldReader[] | null;
  /** The {@link RowsEventReader.tablesChanged} count the plan was made at. */
  readonly version: number;
}

/** The type code of a table map event. */
const TABLE_MAP_EVENT = 19;

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null;

/** Reads rows events of captured tables from their packets, and skips repeated table maps. */
export class RowsEventReader<T extends RowsTable> {
  /** Per zongji table map entry (zongji keeps an entry until the table's next map). */
  private readonly plans = new WeakMap<object, RowsPlan<T>>();
  private version = 0;
  private readonly cursor = { at: 0 };
  private rawValues: RawValue[] = [];
  /** The body of the last table map event zongji handled, per table id. */
  private readonly tableMaps = new Map<number, Buffer>();
  /** Rows events read here (for the tests). */
  eventsRead = 0;

  /** `captured(schema, table)`: the reader's current definition of a captured table. */
  constructor(private readonly captured: (schema: string, table: string) => T | undefined) {}

  /** The reader's table definitions changed: plans are made again. */
  tablesChanged(): void {
    this.version++;
  }

  /**
   * The rows of a rows event of a captured table whose every column type `binlog-rows.ts` reads;
   * null for any other packet, or bytes not as expected (zongji then reads it, or reports what is
   * wrong).
   */
  read(packet: BinlogPacket, zongji: ZongJiState): RowsRead<T> | null {
    const bytes = packet.buffer;
    const start = packet.offset;
    if (bytes[start] !== 0) return null;
    const code = eventTypeCode(bytes, start);
    const op = rowsEventOp(code);
    if (op === undefined) return null;
    try {
      const read = this.decode(bytes, start, packet.end - (zongji.useChecksum ? 4 : 0), op, code, zongji);
      if (read !== null) this.eventsRead++;
      return read;
    } catch {
      return null;
    }
  }

  private decode(
    bytes: Buffer,
    start: number,
    end: number,
    op: RowsOp,
    code: number,
    zongji: ZongJiState,
  ): RowsRead<T> | null {
    const header = rowsEventHeader(bytes, start, op, code);
    const entry = zongji.tableMap[header.tableId];
    if (!isRec(entry)) return null;
    const plan = this.planOf(entry, header.columnCount);
    if (plan?.readers == null || plan.readers.length !== header.columnCount) return null;
    const { table, readers } = plan;
    const decoders = table.decoders;
    const raw = this.rawValues;
    const cursor = this.cursor;
    cursor.at = header.rowsStart;
    const rows: Row[] = [];
    while (cursor.at < end) {
      for (let image = op === 'u' ? 2 : 1, present = header.present; image > 0; image--) {
        readRowImage(bytes, cursor, present, readers, raw);
        const values = table.values;
        for (let i = 0; i < readers.length; i++) values[i] = (decoders[i] as ColumnDecoder).fromBinlog(raw[i]);
        rows.push(table.makeRow(values));
        present = header.presentAfter;
      }
    }
    if (cursor.at !== end) throw new RangeError('binlog rows event: rows run past the end of the event');
    const timestamp = bytes.readUInt32LE(start + 1) * 1000;
    return new RowsRead(op, table, rows, timestamp, bytes.readUInt32LE(start + 14), zongji._currentGtid);
  }

  /**
   * True for a table map event that repeats, byte for byte, the last one zongji handled for its table
   * id while zongji still has that table's entry: zongji would find its entry current and change
   * nothing but freeze its resume position (done here), and the reader has no use for the event. A
   * server writes one per table per statement, so most are repeats.
   */
  skipRepeatedTableMap(packet: BinlogPacket, zongji: ZongJiState): boolean {
    const bytes = packet.buffer;
    const start = packet.offset;
    if (bytes[start] !== 0 || eventTypeCode(bytes, start) !== TABLE_MAP_EVENT) return false;
    const body = bytes.subarray(start + 20, packet.end - (zongji.useChecksum ? 4 : 0));
    if (body.length < 6) return false;
    const tableId = body.readUIntLE(0, 6);
    const last = this.tableMaps.get(tableId);
    const entry = zongji.tableMap[tableId];
    if (last !== undefined && isRec(entry) && Array.isArray(entry.columns) && last.equals(body)) {
      zongji._positionFrozen = true;
      return true;
    }
    this.tableMaps.set(tableId, Buffer.from(body));
    return false;
  }

  /** The plan of a table map entry: readers when it is a captured table's and every column type is read here. */
  private planOf(entry: Rec, columnCount: number): RowsPlan<T> | undefined {
    const known = this.plans.get(entry);
    if (known?.version === this.version) return known;
    const schema = entry.parentSchema;
    const name = entry.tableName;
    const table = typeof schema === 'string' && typeof name === 'string' ? this.captured(schema, name) : undefined;
    if (table === undefined) return undefined;
    const plan: RowsPlan<T> = { table, readers: fieldReaders(entry, table, columnCount), version: this.version };
    this.plans.set(entry, plan);
    if (this.rawValues.length < table.columns.length)
      this.rawValues = new Array<RawValue>(table.columns.length).fill(null);
    return plan;
  }
}

/**
 * The field readers of a captured table's rows as zongji's table map entry describes them, or null
 * when a column differs from the reader's definition or has a type `binlog-rows.ts` does not read.
 */
function fieldReaders(entry: Rec, table: RowsTable, columnCount: number): FieldReader[] | null {
  const columns = entry.columns;
  const schemas = entry.columnSchemas;
  if (!Array.isArray(columns) || !Array.isArray(schemas)) return null;
  if (columns.length !== columnCount || columns.length !== table.columns.length) return null;
  const readers: FieldReader[] = [];
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as MappedColumn;
    const schema = schemas[i] as SchemaColumn | undefined;
    if (!isRec(column) || schema === undefined || column.name !== table.columns[i]) return null;
    const reader = fieldReader(column, schema, () => enumValues(schema.COLUMN_TYPE));
    if (reader === undefined) return null;
    readers.push(reader);
  }
  return readers;
}

/**
 * Has `handle` look at every packet of zongji's binlog stream before zongji parses it; a packet it
 * handles (true) zongji never sees. zongji's binlog command hands each packet to its state method
 * `binlogData`, looked up on the command class zongji makes per start (call this on `ready`, after
 * zongji made it and before it runs). Where zongji no longer has that shape, every packet stays with
 * zongji.
 */
export function readBeforeZongji(zongji: ZongJi, handle: (packet: BinlogPacket, z: ZongJiState) => boolean): void {
  type State = (this: unknown, packet: BinlogPacket, connection: unknown) => unknown;
  const z = zongji as unknown as ZongJiState & { BinlogClass?: { prototype: { binlogData?: State } } };
  const proto = z.BinlogClass?.prototype;
  const original = proto?.binlogData;
  if (proto === undefined || typeof original !== 'function') return;
  proto.binlogData = function (this: unknown, packet: BinlogPacket, connection: unknown) {
    if (!z.stopped && connection === z.connection && !packet.isEOF() && !packet.isError() && handle(packet, z))
      return proto.binlogData;
    return original.call(this, packet, connection);
  };
}
