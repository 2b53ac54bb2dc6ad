import {
  createRowBuilder,
  type LogItem,
  type LogReader,
  type LogReadRequest,
  OffsetUnavailableError,
  type Row,
  TableNotFoundError,
  type RowBuilder,
  type RowChange,
  type TableSchema,
  tableName,
  type Value,
} from '@highwater/core';
import ZongJi from '@vlasky/zongji';
import type mysql from 'mysql2/promise';
import { type ConnectionSettings, closeConnection, connect, connectionOptions } from './connection.js';
import { type DescribedTable, describedFromSchema, describeTable } from './describe-tables.js';
import type { ColumnDecoder } from './types/decode.js';
import { toHighwaterError } from './errors.js';
import { type BinaryLog, binlogBytesAfter } from './binlog-lag.js';
import { compareOffsets, fileNumber, type MysqlOffset, mysqlOffset, positionAt } from './offsets/mysql-offset.js';
import { qualifiedName } from './sql/identifiers.js';
import { stopZongji } from './stop-zongji.js';
import { checkServer } from './watermarks.js';
import { parseDdl } from './ddl.js';
import { describedAsOfStatement } from './ddl-replay.js';
import {
  type BinlogPacket,
  RowsEventReader,
  RowsRead,
  readBeforeZongji,
  type ZongJiState,
} from './rows-before-zongji.js';

export interface LogReaderSettings {
  readonly connection: ConnectionSettings;
  /** The replica server id of the binlog connection: unique among the server's replicas. */
  readonly serverId: number;
  /** Heartbeat period asked of the server: how soon an idle reader reports its position (ms). */
  readonly heartbeatMs: number;
  /**
   * Who reads the values of rows events: `highwater` (default) reads them from the event's bytes
   * for tables whose column types `binlog-rows.ts` knows, and leaves the rest to zongji; `zongji`
   * leaves them all to zongji (the tests compare the two).
   */
  readonly rowsDecoder?: 'highwater' | 'zongji';
}

/** How often the reader measures how much binlog is left after its position (`binlogLagBytes`). */
const BINLOG_LAG_POLL_MS = 5_000;

/** How long the stream must pause before the position reached is reported (ms). */
const PROGRESS_QUIET_MS = 10;

/** Pause the binlog connection when this many items wait for the consumer. */
const HIGH_WATER = 20_000;
/**
 * Items per batch. Small, so an item is handed on soon after it is decoded: the items of a batch
 * all live until it is full and processed, and those that outlive a young-generation collection are
 * copied. Measured on the stream benchmark: 256 took 3.1–3.3 s where 2,000 took 3.6–3.7 s (zongji
 * itself: 2.7 s).
 */
const MAX_BATCH = 256;

// --- small guards: zongji's events arrive as `unknown` and are narrowed here -------------------

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null;
const str = (o: Rec, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
const numOf = (o: Rec, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);

/** Event names by event class: zongji's `getEventName()` lower-cases the class name anew at every call. */
const eventNames = new WeakMap<object, string | undefined>();

function eventName(event: Rec): string | undefined {
  const type = event.constructor;
  if (typeof type === 'function' && eventNames.has(type)) return eventNames.get(type);
  const get = event.getEventName;
  const name: unknown = typeof get === 'function' ? (get as () => unknown).call(event) : undefined;
  const known = typeof name === 'string' ? name : undefined;
  // Only a class of its own names its events; a plain object (or one built by Object) is asked each time.
  if (typeof type === 'function' && type !== Object) eventNames.set(type, known);
  return known;
}

/** zongji's table map entry of a rows event (the same object for every event of the table until its next describe). */
function tableMapEntry(event: Rec): Rec | undefined {
  const tableId = event.tableId;
  const map = event.tableMap;
  if (typeof tableId !== 'number' || !isRec(map)) return undefined;
  const entry = map[tableId];
  return isRec(entry) ? entry : undefined;
}

interface Captured {
  readonly schema: TableSchema;
  readonly described: DescribedTable;
  readonly name: string;
  /** `described.decoders` as parallel arrays: rows decode by index, not over the map's iterator. */
  readonly columns: readonly string[];
  readonly decoders: readonly ColumnDecoder[];
  /** Builds a row with every column (one shape per table). */
  readonly makeRow: RowBuilder;
  /** Scratch for the values of the row being decoded. */
  readonly values: Value[];
}

function capturedTable(schema: TableSchema, described: DescribedTable, name: string): Captured {
  const columns = [...described.decoders.keys()];
  return {
    schema,
    described,
    name,
    columns,
    decoders: [...described.decoders.values()],
    makeRow: createRowBuilder(columns),
    values: new Array<Value>(columns.length).fill(null),
  };
}

/** A row image decoded with a captured table's decoders. */
function decodeRow(table: Captured, raw: unknown): Row {
  if (!isRec(raw)) return {};
  const { columns, decoders, values } = table;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as string;
    const value = raw[column];
    // A row written before an ADD COLUMN and read after it has only the columns of its time.
    if (value === undefined && !(column in raw)) return decodePartialRow(table, raw);
    values[i] = (decoders[i] as ColumnDecoder).fromBinlog(value);
  }
  return table.makeRow(values);
}

/** {@link decodeRow} for an image without some of the table's columns: those stay absent. */
function decodePartialRow(table: Captured, raw: Rec): Row {
  const entries: [string, Value][] = [];
  const { columns, decoders } = table;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as string;
    if (column in raw) entries.push([column, (decoders[i] as ColumnDecoder).fromBinlog(raw[column])]);
  }
  // fromEntries defines own properties: a column named __proto__ stays a column.
  return Object.fromEntries(entries);
}

/**
 * A row change of the binlog. A class rather than an object literal: V8 moves the allocation site of
 * a literal whose objects outlive young-generation collections (rows waiting for the consumer in a
 * catch-up) to allocating in the old generation, where every row then costs a full collection's work.
 */
class ChangeItem implements RowChange<MysqlOffset> {
  // Declared, not initialised: plain assignments in the constructor, in the order of a literal.
  declare readonly kind: 'change';
  declare readonly op: 'c' | 'u' | 'd';
  declare readonly offset: MysqlOffset;
  declare readonly before: Row | null;
  declare readonly after: Row | null;
  declare readonly beforeImage: 'full' | 'none';
  declare readonly table: string;
  declare readonly commitTime: number | null;
  declare readonly txId: string | null;

  constructor(
    op: 'c' | 'u' | 'd',
    offset: MysqlOffset,
    before: Row | null,
    after: Row | null,
    beforeImage: 'full' | 'none',
    table: string,
    commitTime: number | null,
    txId: string | null,
  ) {
    this.kind = 'change';
    this.op = op;
    this.offset = offset;
    this.before = before;
    this.after = after;
    this.beforeImage = beforeImage;
    this.table = table;
    this.commitTime = commitTime;
    this.txId = txId;
  }
}

class MysqlLogReader implements LogReader<MysqlOffset> {
  /** Items waiting for the consumer: full batches of {@link MAX_BATCH}, then the one being filled. */
  private readonly full: LogItem<MysqlOffset>[][] = [];
  private filling: LogItem<MysqlOffset>[] = [];
  private queued = 0;
  private failure: unknown = null;
  private closed = false;
  private wake: (() => void) | null = null;
  /** Set while the consumer waits for a turn of the event loop: a batch filling up ends the wait. */
  private wakeFull: (() => void) | null = null;
  private paused = false;
  private readonly captured = new Map<string, Captured>();
  /** The captured table of the last rows event's table map entry (`undefined`: not captured). */
  private lastEntry: Rec | null = null;
  private lastTable: Captured | undefined;
  /** Position tracking, from rotate and commit events (zongji's own position is not fine enough). */
  private file: string;
  private txStart: number;
  private eventIndex = 0;
  /** Items inside a DDL "transaction" (schema and truncate items), numbered by rowIndex. */
  private ddlIndex = 0;
  private lastDelivered: MysqlOffset;
  private pendingProgress: MysqlOffset | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private reportedFrom = false;
  /**
   * Binlog events are handled synchronously as they arrive, except a DDL (it re-describes the table,
   * asynchronously): events arriving meanwhile wait in `backlog`, in order, and `busy` resolves once
   * every one of them has been handled.
   */
  private busy: Promise<void> | null = null;
  private backlog: unknown[] = [];
  /** Bytes of binlog after the last position decoded, as of the last `SHOW BINARY LOGS`; null before it. */
  private binlogLag: number | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  /** Reads rows events of captured tables before zongji does (see `rows-before-zongji.ts`). */
  readonly rowsReader = new RowsEventReader<Captured>((schema, table) => this.captured.get(`${schema}.${table}`));
  constructor(
    private readonly zongji: ZongJi,
    private readonly control: mysql.Connection,
    private readonly from: MysqlOffset,
    tables: readonly Captured[],
  ) {
    this.file = from.file;
    this.txStart = from.pos;
    this.lastDelivered = from;
    for (const t of tables) this.setCaptured(t.name, t);
  }

  private setCaptured(key: string, table: Captured): void {
    this.captured.set(key, table);
    this.rowsReader.tablesChanged();
    this.lastEntry = null;
    this.lastTable = undefined;
  }

  /** The definition the reader decodes a captured table's rows with (updated at each DDL it reads). */
  capturedTable(schema: string, table: string): DescribedTable | undefined {
    return this.captured.get(`${schema}.${table}`)?.described;
  }

  /** Resolves once every event received so far has been handled. */
  settled(): Promise<void> {
    return this.busy ?? Promise.resolve();
  }

  /** Called for every zongji event, in order. */
  onEvent(event: unknown): void {
    if (this.closed) return;
    if (this.busy !== null) {
      this.backlog.push(event);
      return;
    }
    const pending = this.dispatch(event);
    if (pending !== undefined) this.busy = this.afterPending(pending);
  }

  /** Handles one event; a promise when it has to wait (a DDL), after which the backlog is handled. */
  private dispatch(event: unknown): Promise<void> | undefined {
    try {
      const pending = this.handle(event);
      return pending?.catch((error: unknown) => this.fail(error));
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }

  private async afterPending(pending: Promise<void>): Promise<void> {
    await pending;
    // Events that arrive while one of these waits join the end of the backlog.
    for (let i = 0; i < this.backlog.length; i++) {
      const event = this.backlog[i];
      this.backlog[i] = undefined; // handled: not kept until the whole backlog is
      const next = this.dispatch(event);
      if (next !== undefined) await next;
    }
    this.backlog = [];
    this.busy = null;
  }

  fail(error: unknown): void {
    if (this.failure === null && !this.closed) this.failure = error;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private push(item: LogItem<MysqlOffset>): void {
    // Only strictly after `from`, and never backwards (a progress item may repeat the last position).
    // Strictly increasing; one progress item may repeat `from` itself (caught up right at the start).
    const c = compareOffsets(item.offset, this.lastDelivered);
    if (c < 0 || (c === 0 && (item.kind !== 'progress' || this.reportedFrom))) return;
    if (item.kind === 'progress') this.reportedFrom = true;
    else if (this.pendingProgress !== null && compareOffsets(this.pendingProgress, item.offset) < 0)
      this.pendingProgress = null;
    this.lastDelivered = item.offset;
    let filling = this.filling;
    if (filling.length >= MAX_BATCH) {
      this.full.push(filling);
      filling = this.filling = [];
      const w = this.wakeFull;
      this.wakeFull = null;
      w?.();
    }
    filling.push(item);
    if (++this.queued > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.zongji.connection?.pause();
    }
    this.notify();
  }

  private offset(eventIndex: number, rowIndex: number, gtid: string | undefined): MysqlOffset {
    return mysqlOffset(this.file, this.txStart, eventIndex, rowIndex, gtid);
  }

  private endTransaction(nextPosition: number): void {
    if (nextPosition > 0) this.txStart = nextPosition;
    this.eventIndex = 0;
    this.ddlIndex = 0;
    this.progress(positionAt(this.file, this.txStart));
  }

  /**
   * Reports the position reached once the stream pauses ({@link PROGRESS_QUIET_MS}): a burst of
   * transactions (a catch-up after a restart, other tables' traffic) gives one progress item, not one
   * per transaction. A row item delivered meanwhile supersedes it.
   */
  private flushProgress(): void {
    const pending = this.pendingProgress;
    this.pendingProgress = null;
    if (this.progressTimer !== null) {
      clearTimeout(this.progressTimer);
      this.progressTimer = null;
    }
    if (pending !== null && !this.closed) this.push({ kind: 'progress', offset: pending });
  }

  private progress(offset: MysqlOffset): void {
    this.pendingProgress = offset;
    if (this.progressTimer !== null) return;
    this.progressTimer = setTimeout(() => this.flushProgress(), PROGRESS_QUIET_MS);
  }

  /**
   * Handles a packet before zongji: a rows event of a captured table read here, or a repeated table
   * map skipped; false (zongji handles it) otherwise. Rows are read only while no DDL is being
   * handled: rows read meanwhile would be decoded with the table's old definition.
   */
  beforeZongji(packet: BinlogPacket, zongji: ZongJiState): boolean {
    if (this.closed) return false;
    if (this.busy === null) {
      const read = this.rowsReader.read(packet, zongji);
      if (read !== null) {
        this.onEvent(read);
        return true;
      }
    }
    return this.rowsReader.skipRepeatedTableMap(packet, zongji);
  }

  /** Handles one binlog event: synchronously, but for a DDL statement (it re-describes tables). */
  private handle(event: unknown): Promise<void> | undefined {
    if (event instanceof RowsRead) {
      const index = event.nextPosition > 0 ? event.nextPosition : this.eventIndex + 1;
      this.decodedRows(event, index);
      this.eventIndex = index;
      return;
    }
    if (!isRec(event)) return;
    const name = eventName(event);
    const timestamp = typeof event.timestamp === 'number' ? event.timestamp : null;
    const nextPosition = typeof event.nextPosition === 'number' ? event.nextPosition : 0;
    switch (name) {
      case 'rotate': {
        const file = str(event, 'binlogName');
        const position = numOf(event, 'position');
        if (file === undefined || position === undefined) return;
        if (file !== this.file || position !== this.txStart) {
          this.file = file;
          this.txStart = position;
          this.eventIndex = 0;
          this.ddlIndex = 0;
        }
        return;
      }
      case 'xid':
        this.endTransaction(nextPosition);
        return;
      case 'heartbeat': {
        const file = str(event, 'binlogName');
        // Sent when the server has nothing more to send: we are at the end of a transaction.
        if (file === this.file && nextPosition >= this.txStart && this.eventIndex === 0) {
          this.txStart = nextPosition;
          this.progress(positionAt(this.file, this.txStart));
        }
        return;
      }
      case 'query': {
        const sql = str(event, 'query') ?? '';
        const upper = sql.trimStart().slice(0, 16).toUpperCase();
        if (upper.startsWith('BEGIN') || upper.startsWith('XA START') || upper.startsWith('SAVEPOINT')) return;
        if (upper.startsWith('COMMIT')) {
          this.endTransaction(nextPosition);
          return;
        }
        return this.ddl(sql, str(event, 'schema') ?? '', timestamp).then(() => this.endTransaction(nextPosition));
      }
      case 'writerows':
      case 'updaterows':
      case 'deleterows': {
        // The event's end position in the file identifies it whatever tables are captured (zongji only
        // delivers rows events of captured tables); servers that log 0 inside transactions (older
        // MariaDB) fall back to counting the delivered events.
        const index = nextPosition > 0 ? nextPosition : this.eventIndex + 1;
        this.rows(name, event, timestamp, index);
        this.eventIndex = index;
        return;
      }
      default:
        return;
    }
  }

  /** The captured table a rows event belongs to (remembered for its table map entry). */
  private tableOf(event: Rec): Captured | undefined {
    const entry = tableMapEntry(event);
    if (entry === undefined) return undefined;
    if (entry === this.lastEntry) return this.lastTable;
    const schema = str(entry, 'parentSchema');
    const table = str(entry, 'tableName');
    const found = schema === undefined || table === undefined ? undefined : this.captured.get(`${schema}.${table}`);
    this.lastEntry = entry;
    this.lastTable = found;
    return found;
  }

  private decodedRows(event: RowsRead<Captured>, eventIndex: number): void {
    const { op, table, rows, timestamp, gtid } = event;
    const txId = gtid ?? null;
    const step = op === 'u' ? 2 : 1;
    for (let i = 0, rowIndex = 0; i < rows.length; i += step, rowIndex++) {
      const offset = this.offset(eventIndex, rowIndex, gtid);
      if (compareOffsets(offset, this.from) <= 0) continue;
      const row = rows[i] as Row;
      if (op === 'c') this.push(new ChangeItem(op, offset, null, row, 'none', table.name, timestamp, txId));
      else if (op === 'd') this.push(new ChangeItem(op, offset, row, null, 'full', table.name, timestamp, txId));
      else this.push(new ChangeItem(op, offset, row, rows[i + 1] as Row, 'full', table.name, timestamp, txId));
    }
  }

  private rows(name: string, event: Rec, timestamp: number | null, eventIndex: number): void {
    const rows = event.rows;
    if (!Array.isArray(rows)) return;
    const captured = this.tableOf(event);
    if (captured === undefined) return;
    const table = captured.name;
    const gtid = typeof event.gtid === 'string' ? event.gtid : undefined;
    const txId = gtid ?? null;
    const op = name === 'writerows' ? 'c' : name === 'deleterows' ? 'd' : 'u';
    for (let rowIndex = 0; rowIndex < rows.length; rowIndex++) {
      const raw: unknown = rows[rowIndex];
      const offset = this.offset(eventIndex, rowIndex, gtid);
      if (compareOffsets(offset, this.from) <= 0) continue;
      if (op === 'c') {
        this.push(new ChangeItem(op, offset, null, decodeRow(captured, raw), 'none', table, timestamp, txId));
      } else if (op === 'd') {
        this.push(new ChangeItem(op, offset, decodeRow(captured, raw), null, 'full', table, timestamp, txId));
      } else if (isRec(raw)) {
        const before = decodeRow(captured, raw.before);
        const after = decodeRow(captured, raw.after);
        this.push(new ChangeItem(op, offset, before, after, 'full', table, timestamp, txId));
      }
    }
  }

  /** DDL of a captured table: a schema item (re-described now) or a truncate item. */
  private async ddl(sql: string, defaultSchema: string, timestamp: number | null): Promise<void> {
    const statement = parseDdl(sql, defaultSchema);
    if (statement === null) return;
    for (const target of statement.tables) {
      const key = `${target.schema}.${target.name}`;
      const captured = this.captured.get(key);
      if (captured === undefined && statement.kind !== 'create' && statement.kind !== 'rename') continue;
      if (captured === undefined && statement.kind === 'create') continue;
      const offset = this.offset(0, this.ddlIndex++, undefined);
      if (statement.kind === 'truncate' && captured !== undefined) {
        this.push({ kind: 'truncate', offset, table: captured.name, commitTime: timestamp, txId: null });
        continue;
      }
      if (statement.kind === 'rename' && captured !== undefined) {
        // RENAME TABLE a TO b[, c TO d]: names come in pairs; ALTER TABLE a RENAME TO b likewise.
        const index = statement.tables.indexOf(target);
        const to = index % 2 === 0 ? statement.tables[index + 1] : undefined;
        if (to !== undefined) {
          const renamedTo = `${to.schema}.${to.name}`;
          this.push({
            kind: 'schema',
            offset,
            table: captured.name,
            schema: null,
            ddl: sql,
            commitTime: timestamp,
            renamedTo,
          });
          continue;
        }
      }
      if (statement.kind === 'drop' && captured !== undefined) {
        this.push({ kind: 'schema', offset, table: captured.name, schema: null, ddl: sql, commitTime: timestamp });
        continue;
      }
      if (captured === undefined) continue;
      let described: DescribedTable | null = null;
      try {
        const now = await describeTable(this.control, captured.schema.id);
        // The catalog may be ahead (a later DDL ran before the reader got here): replay this one.
        described = (statement.kind === 'alter' ? describedAsOfStatement(captured.described, now, sql) : null) ?? now;
      } catch {
        described = null; // renamed away or dropped since: the table is gone under this name
      }
      if (described === null) {
        this.push({ kind: 'schema', offset, table: captured.name, schema: null, ddl: sql, commitTime: timestamp });
        continue;
      }
      const schema: TableSchema = { ...described.schema, chunkKey: captured.schema.chunkKey };
      this.setCaptured(key, capturedTable(schema, described, captured.name));
      const renamedColumns = statement.renamedColumns;
      this.push({
        kind: 'schema',
        offset,
        table: captured.name,
        schema,
        ddl: sql,
        commitTime: timestamp,
        ...(renamedColumns === undefined ? {} : { renamedColumns }),
      });
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<MysqlOffset>[]> {
    while (!this.closed) {
      if (this.queued > 0) {
        // A full batch goes at once (also one that fills up while waiting below): the consumer keeps up
        // with a burst (a catch-up) between the socket's reads instead of once per turn of the event
        // loop, so items wait in memory briefly. Row items that outlive a few young-generation
        // collections are copied to the old generation; that garbage collection cost more than the
        // rest of the reader.
        let batch = this.full.shift();
        if (batch === undefined) {
          // Let the rest of what arrived with these items (typically the commit) be handled first, and
          // deliver the position reached in the same batch: the core then releases chunks together
          // with the changes instead of in a batch of its own.
          await new Promise<void>((resolve) => {
            this.wakeFull = resolve;
            setImmediate(resolve);
          });
          this.wakeFull = null;
          batch = this.full.shift();
          if (batch === undefined) {
            this.flushProgress();
            batch = this.full.shift() ?? this.takeFilling();
          }
        }
        this.queued -= batch.length;
        if (this.paused && this.queued < HIGH_WATER / 2) {
          this.paused = false;
          this.zongji.connection?.resume();
        }
        yield coalesce(batch);
        continue;
      }
      if (this.failure !== null) throw toHighwaterError(this.failure, 'binlog');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private takeFilling(): LogItem<MysqlOffset>[] {
    const batch = this.filling;
    this.filling = [];
    return batch;
  }

  /** `binlogLagBytes`: binlog the reader has yet to read (exported as `highwater_log_binlog_lag_bytes`). */
  metrics(): Readonly<Record<string, number>> {
    return this.binlogLag === null ? {} : { binlogLagBytes: this.binlogLag };
  }

  /** Measures the binlog left after the reader's position now, and then every `intervalMs`. */
  pollBinlogLag(intervalMs = BINLOG_LAG_POLL_MS): void {
    void this.measureBinlogLag();
    this.lagTimer = setInterval(() => void this.measureBinlogLag(), intervalMs);
    this.lagTimer.unref();
  }

  async measureBinlogLag(): Promise<void> {
    if (this.closed) return;
    try {
      const [logs] = await this.control.query('SHOW BINARY LOGS');
      this.binlogLag = binlogBytesAfter(logs as BinaryLog[], this.lastDelivered);
    } catch {
      // A lost connection is reported by the binlog connection; the figure is left out until a poll works.
      this.binlogLag = null;
    }
  }

  async acknowledge(): Promise<void> {
    // The binlog is freed by the server's expiry settings, not by its readers.
  }

  async addTables(tables: readonly TableSchema[]): Promise<void> {
    for (const t of tables) {
      const described = await describeTable(this.control, t.id);
      this.setCaptured(`${t.id.schema ?? ''}.${t.id.name}`, capturedTable(t, described, tableName(t.id)));
    }
    // On a running zongji, start() only updates the filters.
    this.zongji.start({ includeEvents: [...BINLOG_EVENTS], includeSchema: includeSchema([...this.captured.values()]) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer !== null) clearTimeout(this.progressTimer);
    if (this.lagTimer !== null) clearInterval(this.lagTimer);
    this.notify();
    await stopZongji(this.zongji);
    await closeConnection(this.control);
  }
}

/** The binlog events the reader asks zongji for: each is needed (table maps to decode rows, rotate/XID/query for positions and DDL, heartbeats for progress). */
export const BINLOG_EVENTS = [
  'tablemap',
  'writerows',
  'updaterows',
  'deleterows',
  'rotate',
  'xid',
  'query',
  'heartbeat',
] as const;

/**
 * zongji's table filter: only captured tables are described (it looks every other table up in
 * information_schema, which fails for a table dropped since or one the user may not read).
 */
function includeSchema(tables: readonly Captured[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const schema = t.schema.id.schema ?? '';
    out[schema] ??= [];
    out[schema].push(t.schema.id.name);
  }
  return out;
}

interface TableMapEvent {
  readonly tableId: number;
  readonly schemaName: string;
  readonly tableName: string;
}

interface ZongJiTables {
  tableMap: Record<number, unknown>;
  _fetchTableInfo(event: TableMapEvent, next: () => void): void;
}

/**
 * Has zongji name the columns of a captured table from the reader's own definition instead of
 * asking information_schema when it meets the table map. The table may be gone by the time its
 * rows are read (renamed or dropped since; zongji would stop with "Insufficient permissions"), and
 * the reader's definition is the one its decoders use, kept current by the DDL events it reads.
 */
function describeFromReader(zongji: ZongJi, reader: MysqlLogReader): void {
  const z = zongji as unknown as ZongJiTables;
  const fetch = z._fetchTableInfo.bind(zongji);
  z._fetchTableInfo = (event, next) => {
    // zongji asks as soon as it meets the table map, before the reader has handled the events before
    // it (a DDL re-describes the table asynchronously): answer once those are done.
    void reader.settled().then(() => {
      const known = reader.capturedTable(event.schemaName, event.tableName);
      if (known === undefined) {
        fetch(event, next);
        return;
      }
      // Copies: zongji writes signedness into them.
      z.tableMap[event.tableId] = {
        columnSchemas: known.binlogColumns.map((c) => ({ ...c })),
        parentSchema: event.schemaName,
        tableName: event.tableName,
      };
      next();
    });
  };
}

/** Drops progress items followed by another item in the same batch (the batch itself when there are none). */
function coalesce(batch: LogItem<MysqlOffset>[]): LogItem<MysqlOffset>[] {
  const last = batch.length - 1;
  for (let i = 0; i < last; i++)
    if (batch[i]?.kind === 'progress') return batch.filter((item, j) => item.kind !== 'progress' || j === last);
  return batch;
}

/**
 * Opens the one binlog reader of a source: one zongji connection for every captured table, from the
 * transaction that holds `from`, skipping up to `from` exactly (inside a multi-row event too).
 */
export async function createMysqlLogReader(
  settings: LogReaderSettings,
  request: LogReadRequest<MysqlOffset>,
): Promise<LogReader<MysqlOffset>> {
  let control: mysql.Connection | undefined;
  try {
    control = await connect(settings.connection);
    await checkServer(control);
    const [logs] = await control.query('SHOW BINARY LOGS');
    const files = (logs as { Log_name: string }[]).map((l) => l.Log_name);
    const from = request.from;
    if (!files.includes(from.file)) {
      const oldest = files[0];
      const purged = oldest !== undefined && fileNumber(from.file) < fileNumber(oldest);
      throw new OffsetUnavailableError(
        `mysql: binlog file ${from.file} (position ${from.pos}) is ${purged ? 'purged' : 'not on the server'}; the oldest binlog is ${oldest ?? 'none'}. ` +
          'Start again with a new snapshot, and keep binlogs longer (binlog_expire_logs_seconds / expire_logs_days).',
      );
    }
    const tables: Captured[] = [];
    for (const t of request.tables) {
      // `t` may be older than the catalog: a resumed pipeline's stored definition, with DDL made
      // while it was down. The binlog's changes up to that DDL are then decoded with `t`, and the DDL
      // is reported, replayed on `t`, when the reader gets to it; a table gone now (dropped or
      // renamed) likewise.
      let now: DescribedTable | null = null;
      try {
        now = await describeTable(control, t.id);
      } catch (error) {
        if (!(error instanceof TableNotFoundError)) throw error;
      }
      const described = now !== null && sameDefinition(now.schema, t) ? now : describedFromSchema(t);
      tables.push(capturedTable(t, described, tableName(t.id)));
    }
    const zongji = new ZongJi(connectionOptions(settings.connection));
    const reader = new MysqlLogReader(zongji, control, from, tables);
    describeFromReader(zongji, reader);
    await new Promise<void>((resolve, reject) => {
      let started = false;
      zongji.on('error', (error: Error) => {
        if (!started) reject(error);
        else reader.fail(error);
      });
      zongji.on('binlog', (event: unknown) => reader.onEvent(event));
      zongji.on('ready', () => {
        // zongji has made its binlog command class and not yet started it.
        if (settings.rowsDecoder !== 'zongji') readBeforeZongji(zongji, (packet, z) => reader.beforeZongji(packet, z));
        // Queued before the dump command: heartbeats while idle, in nanoseconds.
        const ns = BigInt(Math.max(1, Math.round(settings.heartbeatMs))) * 1_000_000n;
        zongji.connection?.query(`SET @master_heartbeat_period = ${ns}`, () => undefined);
        started = true;
        reader.pollBinlogLag();
        resolve();
      });
      zongji.start({
        serverId: settings.serverId,
        startAtEnd: false,
        filename: from.file,
        position: Math.max(4, from.pos),
        includeEvents: [...BINLOG_EVENTS],
        includeSchema: includeSchema(tables),
      });
    });
    return reader;
  } catch (error) {
    if (control !== undefined) await closeConnection(control);
    throw toHighwaterError(error, 'createLogReader', qualifiedName({ name: request.from.file }));
  }
}

/** Same column names and native types, in the same order: the catalog's description decodes what `known` would. */
function sameDefinition(catalog: TableSchema, known: TableSchema): boolean {
  return (
    catalog.columns.length === known.columns.length &&
    catalog.columns.every((c, i) => c.name === known.columns[i]?.name && c.nativeType === known.columns[i]?.nativeType)
  );
}
