import {
  type LogItem,
  type LogReader,
  type LogReadRequest,
  OffsetUnavailableError,
  type Row,
  type TableSchema,
  tableName,
  type Value,
} from '@highwater/core';
import ZongJi from '@vlasky/zongji';
import type mysql from 'mysql2/promise';
import { type ConnectionSettings, closeConnection, connect, connectionOptions } from './connection.js';
import { type DescribedTable, describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { compareOffsets, fileNumber, type MysqlOffset, positionAt } from './offsets/mysql-offset.js';
import { qualifiedName } from './sql/identifiers.js';
import { checkServer } from './watermarks.js';
import { parseDdl } from './ddl.js';

export interface LogReaderSettings {
  readonly connection: ConnectionSettings;
  /** The replica server id of the binlog connection: unique among the server's replicas. */
  readonly serverId: number;
  /** Heartbeat period asked of the server: how soon an idle reader reports its position (ms). */
  readonly heartbeatMs: number;
}

/** How long the stream must pause before the position reached is reported (ms). */
const PROGRESS_QUIET_MS = 10;

/** Pause the binlog connection when this many items wait for the consumer. */
const HIGH_WATER = 20_000;
const MAX_BATCH = 2_000;

// --- small guards: zongji's events arrive as `unknown` and are narrowed here -------------------

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null;
const str = (o: Rec, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
const numOf = (o: Rec, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);

function eventName(event: unknown): string | undefined {
  if (!isRec(event) || typeof event.getEventName !== 'function') return undefined;
  const name: unknown = (event.getEventName as () => unknown).call(event);
  return typeof name === 'string' ? name : undefined;
}

/** The schema and table of a rows event, from zongji's table map. */
function rowsEventTable(event: Rec): { schema: string; table: string } | undefined {
  const tableId = event.tableId;
  const map = event.tableMap;
  if (typeof tableId !== 'number' || !isRec(map)) return undefined;
  const entry = map[tableId];
  if (!isRec(entry)) return undefined;
  const schema = str(entry, 'parentSchema');
  const table = str(entry, 'tableName');
  return schema === undefined || table === undefined ? undefined : { schema, table };
}

interface Captured {
  schema: TableSchema;
  described: DescribedTable;
  name: string;
}

class MysqlLogReader implements LogReader<MysqlOffset> {
  private readonly queue: LogItem<MysqlOffset>[] = [];
  private failure: unknown = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private paused = false;
  private readonly captured = new Map<string, Captured>();
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
  /** DDL handling is async (re-describe); binlog events wait behind it in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly zongji: ZongJi,
    private readonly control: mysql.Connection,
    private readonly from: MysqlOffset,
    tables: readonly Captured[],
  ) {
    this.file = from.file;
    this.txStart = from.pos;
    this.lastDelivered = from;
    for (const t of tables) this.captured.set(t.name, t);
  }

  /** The definition the reader decodes a captured table's rows with (updated at each DDL it reads). */
  capturedTable(schema: string, table: string): DescribedTable | undefined {
    return this.captured.get(`${schema}.${table}`)?.described;
  }

  /** Resolves once every event received so far has been handled. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Called for every zongji event, in order. */
  onEvent(event: unknown): void {
    if (this.closed) return;
    this.chain = this.chain.then(() => this.handle(event)).catch((error: unknown) => this.fail(error));
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
    this.queue.push(item);
    if (this.queue.length > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.zongji.connection?.pause();
    }
    this.notify();
  }

  private offset(eventIndex: number, rowIndex: number, gtid: unknown): MysqlOffset {
    const base = { file: this.file, pos: this.txStart, eventIndex, rowIndex };
    return typeof gtid === 'string' ? { ...base, gtid } : base;
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

  private async handle(event: unknown): Promise<void> {
    if (!isRec(event)) return;
    const name = eventName(event);
    const timestamp = numOf(event, 'timestamp') ?? null;
    const nextPosition = numOf(event, 'nextPosition') ?? 0;
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
        await this.ddl(sql, str(event, 'schema') ?? '', timestamp);
        this.endTransaction(nextPosition);
        return;
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

  private rows(name: string, event: Rec, timestamp: number | null, eventIndex: number): void {
    const where = rowsEventTable(event);
    const rows = event.rows;
    if (where === undefined || !Array.isArray(rows)) return;
    const captured = this.captured.get(`${where.schema}.${where.table}`);
    if (captured === undefined) return;
    const decode = (raw: unknown): Row => {
      const out: Record<string, Value> = {};
      if (!isRec(raw)) return out;
      // A row written before an ADD COLUMN and read after it has only the columns of its time.
      for (const [column, decoder] of captured.described.decoders)
        if (column in raw) out[column] = decoder.fromBinlog(raw[column]);
      return out;
    };
    const common = {
      table: captured.name,
      commitTime: timestamp,
      txId: typeof event.gtid === 'string' ? event.gtid : null,
    };
    rows.forEach((raw: unknown, rowIndex) => {
      const offset = this.offset(eventIndex, rowIndex, event.gtid);
      if (compareOffsets(offset, this.from) <= 0) return;
      if (name === 'writerows') {
        this.push({
          kind: 'change',
          op: 'c',
          offset,
          before: null,
          after: decode(raw),
          beforeImage: 'none',
          ...common,
        });
      } else if (name === 'deleterows') {
        this.push({
          kind: 'change',
          op: 'd',
          offset,
          before: decode(raw),
          after: null,
          beforeImage: 'full',
          ...common,
        });
      } else if (isRec(raw)) {
        this.push({
          kind: 'change',
          op: 'u',
          offset,
          before: decode(raw.before),
          after: decode(raw.after),
          beforeImage: 'full',
          ...common,
        });
      }
    });
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
      if (statement.kind === 'drop' && captured !== undefined) {
        this.push({ kind: 'schema', offset, table: captured.name, schema: null, ddl: sql, commitTime: timestamp });
        continue;
      }
      if (captured === undefined) continue;
      let described: DescribedTable | null = null;
      try {
        described = await describeTable(this.control, captured.schema.id);
      } catch {
        described = null; // renamed away or dropped since: the table is gone under this name
      }
      if (described === null) {
        this.push({ kind: 'schema', offset, table: captured.name, schema: null, ddl: sql, commitTime: timestamp });
        continue;
      }
      const schema: TableSchema = { ...described.schema, chunkKey: captured.schema.chunkKey };
      this.captured.set(key, { ...captured, schema, described });
      this.push({ kind: 'schema', offset, table: captured.name, schema, ddl: sql, commitTime: timestamp });
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<MysqlOffset>[]> {
    while (!this.closed) {
      if (this.queue.length > 0) {
        // Let the rest of what arrived with these items (typically the commit) be handled first, and
        // deliver the position reached in the same batch: the core then releases chunks together
        // with the changes instead of in a batch of its own.
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.flushProgress();
        const batch = this.queue.splice(0, MAX_BATCH);
        if (this.paused && this.queue.length < HIGH_WATER / 2) {
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

  async acknowledge(): Promise<void> {
    // The binlog is freed by the server's expiry settings, not by its readers.
  }

  async addTables(tables: readonly TableSchema[]): Promise<void> {
    for (const t of tables) {
      const described = await describeTable(this.control, t.id);
      this.captured.set(`${t.id.schema ?? ''}.${t.id.name}`, { schema: t, described, name: tableName(t.id) });
    }
    // On a running zongji, start() only updates the filters.
    this.zongji.start({ includeEvents: [...EVENTS], includeSchema: includeSchema([...this.captured.values()]) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer !== null) clearTimeout(this.progressTimer);
    this.notify();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      this.zongji.stop();
    });
    await closeConnection(this.control);
  }
}

const EVENTS = ['tablemap', 'writerows', 'updaterows', 'deleterows', 'rotate', 'xid', 'query', 'heartbeat'] as const;

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

/** Drops progress items followed by another item in the same batch. */
function coalesce(batch: LogItem<MysqlOffset>[]): LogItem<MysqlOffset>[] {
  return batch.filter((item, i) => item.kind !== 'progress' || i === batch.length - 1);
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
      const described = await describeTable(control, t.id);
      tables.push({ schema: t, described, name: tableName(t.id) });
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
        // Queued before the dump command: heartbeats while idle, in nanoseconds.
        const ns = BigInt(Math.max(1, Math.round(settings.heartbeatMs))) * 1_000_000n;
        zongji.connection?.query(`SET @master_heartbeat_period = ${ns}`, () => undefined);
        started = true;
        resolve();
      });
      zongji.start({
        serverId: settings.serverId,
        startAtEnd: false,
        filename: from.file,
        position: Math.max(4, from.pos),
        includeEvents: [...EVENTS],
        includeSchema: includeSchema(tables),
      });
    });
    return reader;
  } catch (error) {
    if (control !== undefined) await closeConnection(control);
    throw toHighwaterError(error, 'createLogReader', qualifiedName({ name: request.from.file }));
  }
}
