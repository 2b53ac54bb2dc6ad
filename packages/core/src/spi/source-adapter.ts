import type { OffsetCodec } from '../offset/offset-codec.js';
import type { TableId, TableSchema } from '../schema/table-schema.js';
import type { ChunkRange } from '../split/split.js';
import type { Key, Row } from '../values/value.js';
import type { LogItem } from './log-item.js';

/**
 * What an adapter can do. The core consults these flags before asking for anything optional, and
 * the conformance suite skips (and says so) what an adapter declares it lacks.
 */
export interface AdapterCapabilities {
  /** `startup: {mode: 'earliest'}`: the introspector implements `earliestOffset()`. */
  readonly startFromEarliest: boolean;
  /** `startup: {mode: 'timestamp'}`: the introspector implements `offsetAtTimestamp()`. */
  readonly startFromTimestamp: boolean;
  /** The log reports table definition changes as `schema` items. */
  readonly schemaChanges: boolean;
  /** The log reports `truncate` items. */
  readonly truncate: boolean;
  /** Tables can be added to a running log reader (`LogReader.addTables`). */
  readonly addTables: boolean;
}

/**
 * A database, as the core sees it: a small factory of connections, kysely-style.
 * Everything else (chunk splitting, the watermark merge, the gate, checkpoints) lives in the core.
 *
 * @example
 * const adapter = memoryAdapter(db);
 * const source = createSource({ adapter, tables: { include: ['shop.*'] } });
 */
export interface SourceAdapter<O> {
  /** Short name, used in event metadata (`source.connector`) and checkpoints. */
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  readonly offsets: OffsetCodec<O>;
  /**
   * Orders two chunk keys of a table as the database orders them in `readChunk` and
   * `nextChunkBoundary` (collation included). Called on every change during a snapshot: keep it cheap.
   */
  compareKeys(table: TableSchema, a: Key, b: Key): number;
  /** A control connection: metadata, watermarks and chunk boundaries. */
  createIntrospector(): Promise<Introspector<O>>;
  /** A connection that reads chunks; the core opens one per parallel reader. */
  createChunkReader(): Promise<ChunkReader>;
  /** The one log reader of a source. */
  createLogReader(request: LogReadRequest<O>): Promise<LogReader<O>>;
  /**
   * Drops what the adapter keeps in the database so that its log can be read later (Postgres: the
   * replication slot, which makes the server retain WAL, and the publication), once nothing will
   * resume from it. `created`: only what this adapter instance created (a run that ends before it
   * stored a checkpoint); `managed`: what the adapter creates when missing, whoever created it (a
   * `startup: snapshot` run that finished). Returns what was dropped, in words, for the log.
   * Optional: an adapter whose log needs no state in the database (MySQL's binlog) leaves it out.
   */
  dropLogState?(scope: 'created' | 'managed'): Promise<readonly string[]>;
}

/**
 * A control connection. Its methods may throw `ConnectionLostError`; the core then retries the
 * operation, so the introspector must be usable again afterwards (reconnect inside, e.g. use a pool).
 * The core calls its methods concurrently (every chunk reader takes its own watermarks): an
 * introspector on a connection that cannot overlap queries serialises them itself.
 */
export interface Introspector<O> {
  /** Every table the connection can see. */
  listTables(): Promise<readonly TableId[]>;
  /** Current definitions of the given tables (`chunkKey` defaults to the primary key). */
  describeTables(ids: readonly TableId[]): Promise<readonly TableSchema[]>;
  /**
   * A low watermark: an offset such that every change at or before it is visible to a read that
   * starts afterwards. It must be conservative where a commit reaches the log before it becomes
   * visible (see docs/algorithm.md, "Watermark safety"), and never smaller than one returned earlier.
   */
  lowWatermark(): Promise<O>;
  /**
   * A high watermark: an offset at or after every change visible to a read that finished before
   * the call. The log reader must later report progress at or past it (yield an item or a
   * `progress` at or after it), even when nothing is written; an adapter may write a marker to make sure.
   */
  highWatermark(): Promise<O>;
  /** The oldest offset the log still has. Required when `capabilities.startFromEarliest`. */
  earliestOffset?(): Promise<O>;
  /** The offset just before the first change committed at or after `time`. Required when `capabilities.startFromTimestamp`. */
  offsetAtTimestamp?(time: Date): Promise<O>;
  /** Smallest and largest chunk key, or `null` when the table is empty. */
  keyRange(table: TableSchema): Promise<{ readonly min: Key; readonly max: Key } | null>;
  /** A cheap estimate of the table's row count (statistics, not `count(*)`). */
  estimateRowCount(table: TableSchema): Promise<number>;
  /**
   * The chunk key `chunkSize` rows after `from` in key order: the smallest key k such that
   * `[from, k)` holds `chunkSize` rows (`from` null means the start of the table). `null` when no
   * row lies that far (the rest of the table fits in one chunk).
   */
  nextChunkBoundary(table: TableSchema, from: Key | null, chunkSize: number): Promise<Key | null>;
  close(): Promise<void>;
}

export interface ChunkReader {
  /**
   * The rows whose chunk key lies in `range`, in any order, as a plain read: no lock, no long
   * transaction. Yielded in batches so large chunks stream. Every row has each column of `table`
   * (null where the value is NULL), and no other.
   */
  readChunk(table: TableSchema, range: ChunkRange): AsyncIterable<readonly Row[]>;
  /**
   * The same rows as {@link readChunk}, left as the bytes or text the database sent until the core
   * emits the chunk (or the application takes its batch). Optional: a chunk waits for its high watermark after it is read, and rows held
   * as thousands of small objects over that time are what the garbage collector spends its time
   * copying; undecoded text is a few large strings. The core uses it when present.
   */
  readUndecodedChunk?(table: TableSchema, range: ChunkRange): AsyncIterable<UndecodedRows>;
  close(): Promise<void>;
}

/**
 * Rows read by {@link ChunkReader.readUndecodedChunk}, turned into objects by `decode()` (called once:
 * at the chunk's release, or later, when the application takes the chunk's batch — so it must depend
 * only on what it holds).
 */
export interface UndecodedRows {
  /** How many rows `decode()` returns (the core counts the chunk's rows from it before decoding). */
  readonly count: number;
  decode(): readonly Row[];
}

export interface LogReadRequest<O> {
  /** Deliver items strictly after this offset. */
  readonly from: O;
  /** The captured tables; items of other tables may be left out (the core ignores them). */
  readonly tables: readonly TableSchema[];
}

/**
 * The change log from an offset on, in log order, in batches. Iteration ends only when closed;
 * a lost connection is thrown as a `ConnectionLostError` (the core reopens from the last offset it
 * processed), a position the log no longer has as an `OffsetUnavailableError`.
 */
export interface LogReader<O> extends AsyncIterable<readonly LogItem<O>[]> {
  /** Everything at or before `offset` is safely stored downstream: the database may free it. */
  acknowledge(offset: O): Promise<void>;
  /** Start capturing more tables. Required when `capabilities.addTables`. */
  addTables?(tables: readonly TableSchema[]): Promise<void>;
  /**
   * Adapter-specific gauges, read whenever the application asks for metrics (keep it cheap and
   * synchronous: report what the reader already knows), e.g. `{ slotLagBytes: 4096 }`. Names in
   * lowerCamelCase ending in their unit; they appear under `SourceMetrics.log`. A name ending in
   * `Lsn` is a log position as a number, which `highwater` shows the way Postgres prints an LSN
   * (`0/16B3748`); one ending in `Bytes` is shown in KiB/MiB.
   */
  metrics?(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}
