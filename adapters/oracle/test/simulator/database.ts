import { encodeRowid } from '../../src/rowid/rowid.js';
import { familyOf, type OracleColumn, quoteIdent } from '../../src/types/oracle-column.js';
import { SimulatedOracleError } from './errors.js';
import { deleteRedo, insertRedo, type RawRow, sameRaw, splitCsf, updateRedo } from './redo-writer.js';
import { compareRaw, type Raw } from './values.js';

/**
 * SIMULATOR — an in-memory stand-in for an Oracle database, seen by the adapter only through
 * `SimulatedSession` (the `OracleSession` interface). Not Oracle: it keeps what the adapter's
 * capture depends on, modelled on Oracle's documented behaviour:
 *
 * - an SCN clock: every change and every commit takes the next SCN; `CURRENT_SCN` is the last one;
 * - multi-version rows: a commit stamps its changes with its commit SCN, so `AS OF SCN s` reads
 *   exactly the transactions committed at or before `s`, and plain reads see committed data only;
 * - a redo log of `V$LOGMNR_CONTENTS` rows (Oracle Database Reference, V$LOGMNR_CONTENTS): START (6),
 *   INSERT (1), DELETE (2), UPDATE (3), DDL (5), COMMIT (7), ROLLBACK (36), LOB_WRITE (10), with
 *   SQL_REDO in LogMiner's format (`redo-writer.ts`), CSF continuation rows, ROLLBACK = 1 undo rows
 *   for rollbacks to a savepoint and whole rollbacks, interleaved transactions in SCN order;
 * - log files: a sequence per log, three online groups reused in turn (V$LOG, V$LOGFILE), each log
 *   archived when it is switched out (V$ARCHIVED_LOG), archived logs that can be deleted (purge);
 * - RAC redo threads (`threads` > 1): each instance writes its own redo thread with its own log
 *   sequences and online groups (THREAD# in V$LOG and V$ARCHIVED_LOG; Oracle Real Application
 *   Clusters Administration, "Redo Log Files"), the SCN clock is shared, a transaction runs on one
 *   instance; LogMiner returns the records of the added logs of all threads merged in SCN order, and
 *   nothing of a thread whose logs were not added (Oracle Database Utilities, "Using LogMiner to
 *   Analyze Redo Log Files", on mining redo from several threads). Oracle does not document
 *   the order of records of different threads at one SCN; `sameScnOrder` picks one;
 * - the catalog views, session privileges, ARCHIVELOG and supplemental-logging flags;
 * - row addresses: each table is a segment with a data object number and extents of 8 blocks taken
 *   from one data file in turn (so tables' extents interleave, DBA_EXTENTS), each row in a slot of a
 *   block, its ROWID the extended format `OOOOOOFFFBBBBBBRRR` (Oracle Database Concepts, "Rowid
 *   Format"); `ALTER TABLE … MOVE` gives the segment a new data object number and new extents, so
 *   every row gets a new ROWID without a row change in the redo (as Oracle does).
 */
export interface SimTable {
  /** The pluggable database holding it (a CDB, `pdbs`), null in a non-CDB. */
  readonly container: string | null;
  readonly owner: string;
  readonly name: string;
  columns: OracleColumn[];
  readonly primaryKey: readonly string[];
  /** Table-level `SUPPLEMENTAL LOG DATA (ALL) COLUMNS`. */
  logAllColumns: boolean;
  /** rowid → versions, oldest first; `row: null` is a deletion. */
  readonly versions: Map<string, { scn: bigint; row: RawRow | null }[]>;
  /** SCN of the last DDL: flashback reads before it fail (ORA-01466). */
  ddlScn: bigint;
  /** DBA_OBJECTS.DATA_OBJECT_ID of the table's segment (a MOVE gives a new one). */
  dataObjectId: number;
  /** The segment's extents in allocation order (DBA_EXTENTS: RELATIVE_FNO, BLOCK_ID, BLOCKS). */
  extents: { file: number; block: number; blocks: number }[];
  /** Row slots used so far (slots are not reused after a delete, as a simplification). */
  slots: number;
}

export interface RedoRecord {
  /** The PDB that generated it (V$LOGMNR_CONTENTS.SRC_CON_NAME); null in a non-CDB. */
  readonly container: string | null;
  readonly scn: bigint;
  /** THREAD#: the redo thread (instance) that wrote it. */
  readonly thread: number;
  readonly xid: string;
  readonly operationCode: number;
  readonly operation: string;
  readonly owner: string | null;
  readonly table: string | null;
  readonly sqlRedo: string;
  readonly sqlUndo: string | null;
  readonly csf: 0 | 1;
  readonly rollback: 0 | 1;
  readonly rsId: string;
  readonly ssn: number;
  readonly time: Date;
  readonly startScn: bigint | null;
  readonly rowid: string | null;
}

export interface LogFile {
  readonly thread: number;
  readonly sequence: number;
  readonly group: number;
  readonly first: bigint;
  next: bigint | null;
  archived: boolean;
  /** The archived copy was deleted (RMAN DELETE ARCHIVELOG). */
  deleted: boolean;
}

interface PendingChange {
  readonly table: SimTable;
  readonly rowid: string;
  readonly before: RawRow | null;
  readonly after: RawRow | null;
}

export class SimTransaction {
  readonly pending: PendingChange[] = [];
  readonly savepoints = new Map<string, number>();
  startScn: bigint | null = null;
  done = false;
  /** The PDB it writes in (a transaction stays in one container); set by its first change. */
  container: string | null = null;

  constructor(
    readonly xid: string,
    /** The redo thread of the instance the transaction runs on. */
    readonly thread: number = 1,
  ) {}
}

export interface SimUser {
  readonly password: string;
  readonly privileges: ReadonlySet<string>;
}

export interface SimulatorOptions {
  /** Redo records per log before an automatic log switch (default 500). */
  readonly recordsPerLog?: number;
  /** SQL_REDO bytes per V$LOGMNR_CONTENTS row before a CSF continuation (Oracle: 4000). */
  readonly csfBytes?: number;
  /** Row slots per block (default 16). */
  readonly rowsPerBlock?: number;
  /** Redo threads (RAC instances), default 1. */
  readonly threads?: number;
  /**
   * LGWR's timed write: redo older than this is in the online log even without a commit or a log
   * switch writing it (Oracle: every 3 s, the default). Tests set it low, or to Infinity to write only
   * on `flushRedo`.
   */
  readonly lgwrTimeoutMs?: number;
  /**
   * Pluggable databases: given, the database is a multitenant container database (CDB) with these
   * PDBs besides CDB$ROOT; tables live in a PDB (the first by default). Not given: a non-CDB.
   */
  readonly pdbs?: readonly string[];
  /**
   * Per-PDB LogMiner (Oracle Database Utilities 19c, "Understanding How to Run LogMiner Sessions"):
   * inside a PDB, START_LOGMNR with an SCN range finds the logs itself and V$LOGMNR_CONTENTS holds that
   * PDB's redo only. Default true; false models releases where DBMS_LOGMNR runs only in CDB$ROOT
   * (ORA-65040 inside a PDB).
   */
  readonly perPdbMining?: boolean;
}

/** The container a session of a CDB is in when it connects to the root's service. */
export const CDB_ROOT = 'CDB$ROOT';

const tableKey = (container: string | null, owner: string, name: string) =>
  container === null ? `${owner}.${name}` : `${container}:${owner}.${name}`;

/**
 * Timing for tests: the simulated LGWR writes idle buffers after 10 ms instead of Oracle's 3 s, and
 * the adapter's `mining.redoFlushMs` (which must not be below it) is set to match.
 */
export const FAST_LGWR = { lgwrTimeoutMs: 10 } as const;
export const FAST_REDO_FLUSH_MS = 25;

/** Blocks per extent, and the relative number of the one data file tables live in. */
/** The online group of a thread's log after sequence `previous`: three groups per thread, reused in turn. */
const groupOf = (thread: number, previous: number): number => (thread - 1) * 3 + (previous % 3) + 1;

const EXTENT_BLOCKS = 8;
const DATA_FILE = 7;

export const FULL_PRIVILEGES: ReadonlySet<string> = new Set([
  'CREATE SESSION',
  'LOGMINING',
  'SELECT ANY TRANSACTION',
  'FLASHBACK ANY TABLE',
  'SELECT ANY DICTIONARY',
]);

export class SimulatedOracle {
  scn = 1000n;
  readonly tables = new Map<string, SimTable>();
  readonly redo: RedoRecord[] = [];
  /** Every log of every thread, in creation order. */
  readonly logs: LogFile[] = [];
  /** V$LOGMNR_CONTENTS order of records of different threads at one SCN (not documented by Oracle). */
  sameScnOrder: 'thread-asc' | 'thread-desc' = 'thread-asc';
  readonly threads: number;
  readonly users = new Map<string, SimUser>([['cdc', { password: 'secret', privileges: FULL_PRIVILEGES }]]);
  archivelog = true;
  supplementalMin = true;
  supplementalAll = true;
  /** Open sessions (the graceful-close check counts them). */
  openSessions = 0;
  /** The most rows a session's `stream` handed out in one batch (what a reader holds of a result at once). */
  largestFetch = 0;
  /** SCN → wall-clock time of its tick, for TIMESTAMP_TO_SCN. */
  private readonly times: { scn: bigint; time: number }[] = [];
  private readonly open = new Set<SimTransaction>();
  private xidSeq = 0;
  private nextObjectId = 73_000;
  /**
   * The next free block of the data file: extents of all tables are cut from it in turn. Starting at
   * 176 (last base-64 digit 'w'), the first table's first extent already runs from lower-case letters
   * into digits ('z' is 51, '0' is 52), where a ROWID's text order is not its order.
   */
  private nextBlock = 176;
  private readonly recordsInLog = new Map<number, number>();
  /** A hook run before each statement a session executes (fault injection in tests). */
  beforeStatement: ((sql: string) => void) | null = null;
  readonly recordsPerLog: number;
  readonly csfBytes: number;
  readonly rowsPerBlock: number;
  readonly lgwrTimeoutMs: number;
  readonly pdbs: readonly string[];
  readonly perPdbMining: boolean;
  /**
   * LGWR, per redo thread: the length of `redo` when the thread's log buffer was last written to its
   * online log. The thread's records before it are on disk; later ones sit in the log buffer until a
   * commit that waits, a log switch, `flushRedo` or `lgwrTimeoutMs` writes them.
   */
  private readonly writtenUpTo = new Map<number, number>();
  /** Instances shut down (V$THREAD.STATUS = 'CLOSED'): their redo is all written, they start no transaction. */
  readonly closedThreads = new Set<number>();

  constructor(options: SimulatorOptions = {}) {
    this.recordsPerLog = options.recordsPerLog ?? 500;
    this.lgwrTimeoutMs = options.lgwrTimeoutMs ?? 3000;
    this.pdbs = options.pdbs ?? [];
    this.perPdbMining = options.perPdbMining ?? true;
    this.csfBytes = options.csfBytes ?? 4000;
    this.rowsPerBlock = options.rowsPerBlock ?? 16;
    this.threads = options.threads ?? 1;
    for (let thread = 1; thread <= this.threads; thread++) {
      this.logs.push({
        thread,
        sequence: 1,
        group: groupOf(thread, 0),
        first: 1n,
        next: null,
        archived: false,
        deleted: false,
      });
    }
  }

  /** The ROWID of the table's next free slot, allocating an extent when the last one is full. */
  private allocateRowid(table: SimTable): string {
    const slot = table.slots++;
    const blockIndex = Math.floor(slot / this.rowsPerBlock);
    const extentIndex = Math.floor(blockIndex / EXTENT_BLOCKS);
    while (table.extents.length <= extentIndex) {
      table.extents.push({ file: DATA_FILE, block: this.nextBlock, blocks: EXTENT_BLOCKS });
      this.nextBlock += EXTENT_BLOCKS;
    }
    const extent = table.extents[extentIndex] as { file: number; block: number };
    return encodeRowid({
      objectId: table.dataObjectId,
      file: extent.file,
      block: extent.block + (blockIndex % EXTENT_BLOCKS),
      row: slot % this.rowsPerBlock,
    });
  }

  /** Blocks below the high-water mark (ALL_TABLES.BLOCKS after statistics are gathered). */
  usedBlocks(table: SimTable): number {
    return Math.ceil(table.slots / this.rowsPerBlock);
  }

  private tick(): bigint {
    this.scn += 1n;
    this.times.push({ scn: this.scn, time: Date.now() });
    return this.scn;
  }

  /** The first SCN taken at or after `time` (what TIMESTAMP_TO_SCN answers, without Oracle's ~3 s granularity). */
  timestampToScn(time: number): bigint {
    for (const t of this.times) if (t.time >= time) return t.scn;
    return this.scn + 1n;
  }

  /** Where tables go unless told: the first PDB of a CDB, none in a non-CDB. */
  get defaultContainer(): string | null {
    return this.pdbs[0] ?? null;
  }

  findTable(owner: string, name: string, container: string | null = this.defaultContainer): SimTable | null {
    return this.tables.get(tableKey(container, owner, name)) ?? null;
  }

  table(owner: string, name: string, container: string | null = this.defaultContainer): SimTable {
    const t = this.findTable(owner, name, container);
    if (t === null) throw new SimulatedOracleError('ORA-00942', 'table or view does not exist');
    return t;
  }

  oldestOpenStart(): bigint | null {
    let oldest: bigint | null = null;
    for (const tx of this.open)
      if (tx.startScn !== null && (oldest === null || tx.startScn < oldest)) oldest = tx.startScn;
    return oldest;
  }

  // ---- log files -------------------------------------------------------------------------------

  /** The current (last) log of a thread. */
  currentLog(thread = 1): LogFile {
    for (let i = this.logs.length - 1; i >= 0; i--)
      if ((this.logs[i] as LogFile).thread === thread) return this.logs[i] as LogFile;
    throw new Error(`simulator: no redo thread ${thread}`);
  }

  /**
   * ALTER SYSTEM SWITCH LOGFILE on the instance of `thread`: its current log is closed and archived;
   * its next group becomes current. Without a thread: every thread (ALTER SYSTEM ARCHIVE LOG CURRENT).
   */
  switchLogfile(thread?: number): void {
    const scn = this.tick();
    for (let t = 1; t <= this.threads; t++) {
      if (thread !== undefined && t !== thread) continue;
      // A log switch writes the thread's log buffer into the log it closes.
      this.flushRedo(t);
      const current = this.currentLog(t);
      current.next = scn;
      current.archived = true;
      this.logs.push({
        thread: t,
        sequence: current.sequence + 1,
        group: groupOf(t, current.sequence),
        first: scn,
        next: null,
        archived: false,
        deleted: false,
      });
      this.recordsInLog.set(t, 0);
    }
  }

  // ---- LGWR ------------------------------------------------------------------------------------

  /**
   * LGWR writes the log buffer of `thread` (every thread without one) to its online log: what a
   * commit that waits does for its own instance, and what the 3-second timeout does for an idle one.
   */
  flushRedo(thread?: number): void {
    for (let t = 1; t <= this.threads; t++)
      if (thread === undefined || t === thread) this.writtenUpTo.set(t, this.redo.length);
  }

  /** Whether `redo[index]` is in its thread's online log (LogMiner reads only what LGWR wrote). */
  isWritten(index: number): boolean {
    const r = this.redo[index] as RedoRecord;
    return index < (this.writtenUpTo.get(r.thread) ?? 0) || Date.now() - r.time.getTime() >= this.lgwrTimeoutMs;
  }

  /** V$THREAD.LAST_REDO_CHANGE#: the SCN of the thread's last redo written to its online log (0 if none). */
  lastRedoScn(thread: number): bigint {
    for (let i = this.redo.length - 1; i >= 0; i--) {
      const r = this.redo[i] as RedoRecord;
      if (r.thread === thread && this.isWritten(i)) return r.scn;
    }
    return 0n;
  }

  /** SHUTDOWN of the instance of `thread`: its buffer is written and its thread CLOSED. */
  closeThread(thread: number): void {
    for (const tx of this.open)
      if (tx.thread === thread) throw new Error(`simulator: thread ${thread} has an open transaction`);
    this.flushRedo(thread);
    this.closedThreads.add(thread);
  }

  /** Logs whose sequence still sits in an online group: the three newest of each thread. */
  onlineLogs(): LogFile[] {
    const out: LogFile[] = [];
    for (let t = 1; t <= this.threads; t++) out.push(...this.logs.filter((l) => l.thread === t).slice(-3));
    return out;
  }

  /** Deletes every archived log with a sequence below `sequence` (as RMAN would), on one thread or all. */
  purgeArchivedBefore(sequence: number, thread?: number): void {
    for (const l of this.logs)
      if (l.archived && l.sequence < sequence && (thread === undefined || l.thread === thread)) l.deleted = true;
  }

  /** A log's file name: the archived copy (`%t_%s_%r.arc`), or the online member of its group. */
  static archivedName(l: LogFile): string {
    return `/u01/arch/${l.thread}_${l.sequence}_1100000000.arc`;
  }

  static onlineName(l: LogFile): string {
    return `/u01/oradata/FREE/redo${String(l.group).padStart(2, '0')}.log`;
  }

  private write(record: Omit<RedoRecord, 'rsId' | 'ssn' | 'time' | 'csf'>): void {
    const thread = record.thread;
    const pieces =
      record.operationCode === 5 ||
      record.operationCode === 6 ||
      record.operationCode === 7 ||
      record.operationCode === 36
        ? [record.sqlRedo]
        : splitCsf(record.sqlRedo, this.csfBytes);
    const log = this.currentLog(thread);
    const rsId = ` 0x${log.sequence.toString(16).padStart(6, '0')}.${(this.redo.length + 1).toString(16).padStart(8, '0')}.0010 `;
    pieces.forEach((sqlRedo, i) => {
      this.redo.push({ ...record, sqlRedo, csf: i < pieces.length - 1 ? 1 : 0, rsId, ssn: 0, time: new Date() });
    });
    const inLog = (this.recordsInLog.get(thread) ?? 0) + 1;
    this.recordsInLog.set(thread, inLog);
    if (inLog >= this.recordsPerLog) this.switchLogfile(thread);
  }

  // ---- transactions ----------------------------------------------------------------------------

  /** Starts a transaction on the instance of redo thread `thread`. */
  begin(thread = 1): SimTransaction {
    if (thread < 1 || thread > this.threads) throw new Error(`simulator: no redo thread ${thread}`);
    if (this.closedThreads.has(thread)) throw new Error(`simulator: the instance of thread ${thread} is shut down`);
    const n = ++this.xidSeq;
    const xid =
      `${(n % 10).toString(16).padStart(4, '0')}${(n % 32).toString(16).padStart(4, '0')}${n.toString(16).padStart(8, '0')}`.toUpperCase();
    const tx = new SimTransaction(xid, thread);
    this.open.add(tx);
    return tx;
  }

  private started(tx: SimTransaction, table: SimTable): bigint {
    if (tx.done) throw new Error('simulator: the transaction has ended');
    if (tx.startScn !== null && tx.container !== table.container)
      throw new SimulatedOracleError('ORA-65023', 'active transaction exists in container');
    tx.container = table.container;
    const scn = this.tick();
    if (tx.startScn === null) {
      tx.startScn = scn;
      this.write({
        container: tx.container,
        scn,
        xid: tx.xid,
        thread: tx.thread,
        operationCode: 6,
        operation: 'START',
        owner: null,
        table: null,
        sqlRedo: 'set transaction read write;',
        sqlUndo: null,
        rollback: 0,
        startScn: scn,
        rowid: null,
      });
      return this.tick();
    }
    return scn;
  }

  /** The row `rowid` as `tx` sees it: its own pending change, else the newest committed version. */
  private visible(table: SimTable, rowid: string, tx: SimTransaction | null): RawRow | null {
    if (tx !== null) {
      for (let i = tx.pending.length - 1; i >= 0; i--) {
        const p = tx.pending[i] as PendingChange;
        if (p.table === table && p.rowid === rowid) return p.after;
      }
    }
    const versions = table.versions.get(rowid);
    return versions === undefined ? null : (versions[versions.length - 1] as { row: RawRow | null }).row;
  }

  /** Every row visible to `tx` (or committed, for `null`), with its rowid. */
  rows(table: SimTable, tx: SimTransaction | null): [string, RawRow][] {
    const ids = new Set(table.versions.keys());
    if (tx !== null) for (const p of tx.pending) if (p.table === table) ids.add(p.rowid);
    const out: [string, RawRow][] = [];
    for (const id of ids) {
      const row = this.visible(table, id, tx);
      if (row !== null) out.push([id, row]);
    }
    return out;
  }

  /** Rows committed at or before `scn` (a flashback query), with their ROWIDs. */
  rowsAsOf(table: SimTable, scn: bigint): [string, RawRow][] {
    if (scn < table.ddlScn)
      throw new SimulatedOracleError('ORA-01466', 'unable to read data - table definition has changed');
    const out: [string, RawRow][] = [];
    for (const [rowid, versions] of table.versions) {
      let row: RawRow | null = null;
      for (const v of versions) if (v.scn <= scn) row = v.row;
      if (row !== null) out.push([rowid, row]);
    }
    return out;
  }

  findRowid(table: SimTable, key: RawRow, tx: SimTransaction | null): string | null {
    const columns = table.primaryKey.length > 0 ? table.primaryKey : Object.keys(key);
    for (const [id, row] of this.rows(table, tx)) {
      if (columns.every((c) => sameRaw(row[c] ?? null, key[c] ?? null))) return id;
    }
    return null;
  }

  private checkKeyUnique(table: SimTable, row: RawRow, tx: SimTransaction, except: string | null): void {
    if (table.primaryKey.length === 0) return;
    const key: Record<string, Raw> = {};
    for (const c of table.primaryKey) key[c] = row[c] ?? null;
    const id = this.findRowid(table, key, tx);
    if (id !== null && id !== except)
      throw new SimulatedOracleError('ORA-00001', `unique constraint (${table.owner}.PK_${table.name}) violated`);
  }

  private logAll(table: SimTable): boolean {
    return this.supplementalAll || table.logAllColumns;
  }

  insert(tx: SimTransaction, table: SimTable, values: RawRow): void {
    const row: Record<string, Raw> = {};
    for (const c of table.columns) row[c.name] = values[c.name] ?? null;
    this.checkKeyUnique(table, row, tx, null);
    const scn = this.started(tx, table);
    const rowid = this.allocateRowid(table);
    tx.pending.push({ table, rowid, before: null, after: row });
    this.writeDml(tx, scn, table, rowid, null, row, 0);
  }

  update(tx: SimTransaction, table: SimTable, key: RawRow, changes: RawRow): void {
    const rowid = this.findRowid(table, key, tx);
    if (rowid === null) return; // UPDATE … WHERE matches nothing: 0 rows, no redo
    const before = this.visible(table, rowid, tx) as RawRow;
    const after = { ...before, ...changes };
    this.checkKeyUnique(table, after, tx, rowid);
    const scn = this.started(tx, table);
    tx.pending.push({ table, rowid, before, after });
    this.writeDml(tx, scn, table, rowid, before, after, 0);
  }

  delete(tx: SimTransaction, table: SimTable, key: RawRow): void {
    const rowid = this.findRowid(table, key, tx);
    if (rowid === null) return;
    const before = this.visible(table, rowid, tx) as RawRow;
    const scn = this.started(tx, table);
    tx.pending.push({ table, rowid, before, after: null });
    this.writeDml(tx, scn, table, rowid, before, null, 0);
  }

  private writeDml(
    tx: SimTransaction,
    scn: bigint,
    table: SimTable,
    rowid: string,
    before: RawRow | null,
    after: RawRow | null,
    rollback: 0 | 1,
  ): void {
    const opts = { allColumns: this.logAll(table), rowid };
    const { owner, name, columns, primaryKey } = table;
    let operationCode: number;
    let sqlRedo: string;
    let sqlUndo: string;
    if (before === null && after !== null) {
      operationCode = 1;
      sqlRedo = insertRedo(owner, name, columns, after);
      sqlUndo = deleteRedo(owner, name, columns, primaryKey, after, opts);
    } else if (after === null && before !== null) {
      operationCode = 2;
      sqlRedo = deleteRedo(owner, name, columns, primaryKey, before, opts);
      sqlUndo = insertRedo(owner, name, columns, before);
    } else {
      operationCode = 3;
      sqlRedo = updateRedo(owner, name, columns, primaryKey, before as RawRow, after as RawRow, opts);
      sqlUndo = updateRedo(owner, name, columns, primaryKey, after as RawRow, before as RawRow, opts);
    }
    this.write({
      container: table.container,
      scn,
      xid: tx.xid,
      thread: tx.thread,
      operationCode,
      operation: ['', 'INSERT', 'DELETE', 'UPDATE'][operationCode] as string,
      owner,
      table: name,
      sqlRedo,
      sqlUndo,
      rollback,
      startScn: tx.startScn,
      rowid,
    });
    // LOBs too long for SQL_REDO: their data follows in LOB_WRITE records, which the reader does not decode.
    if (after !== null && rollback === 0) {
      for (const c of columns) {
        const v = after[c.name] ?? null;
        const long =
          (familyOf(c) === 'clob' && typeof v === 'string' && v.length > 1000) ||
          (familyOf(c) === 'blob' && v instanceof Uint8Array && v.length > 1000);
        if (long && (before === null || !sameRaw(before[c.name] ?? null, v))) {
          this.write({
            container: table.container,
            scn,
            xid: tx.xid,
            thread: tx.thread,
            operationCode: 10,
            operation: 'LOB_WRITE',
            owner,
            table: name,
            sqlRedo: 'DECLARE loc_c CLOB; BEGIN … END;',
            sqlUndo: null,
            rollback: 0,
            startScn: tx.startScn,
            rowid,
          });
        }
      }
    }
  }

  savepoint(tx: SimTransaction, name: string): void {
    tx.savepoints.set(name, tx.pending.length);
  }

  /** ROLLBACK TO SAVEPOINT: each undone change is logged as its inverse with ROLLBACK = 1. */
  rollbackTo(tx: SimTransaction, name: string): void {
    const at = tx.savepoints.get(name);
    if (at === undefined)
      throw new SimulatedOracleError(
        'ORA-01086',
        `savepoint '${name}' never established in this session or is invalid`,
      );
    this.undoFrom(tx, at);
  }

  private undoFrom(tx: SimTransaction, at: number): void {
    while (tx.pending.length > at) {
      const p = tx.pending.pop() as PendingChange;
      this.writeDml(tx, this.tick(), p.table, p.rowid, p.after, p.before, 1);
    }
  }

  /**
   * COMMIT, or with `wait: false` COMMIT WRITE NOWAIT (Oracle Database SQL Language Reference, COMMIT;
   * the COMMIT_WRITE / COMMIT_WAIT parameters): NOWAIT returns before LGWR wrote the commit record, so
   * the commit is visible (its SCN is taken, `AS OF SCN` reads see it) while its redo is still only in
   * the log buffer — in no log LogMiner can read — until something writes the buffer.
   */
  commit(tx: SimTransaction, options: { readonly wait?: boolean } = {}): bigint | null {
    return this.commitTogether([tx], options);
  }

  /**
   * Commits several transactions — on different instances — at one SCN, their COMMIT records in the
   * order given (RAC: instances can commit at the same SCN). Returns the SCN (null if none wrote redo).
   * A commit that waits (the default) has LGWR write its instance's log buffer through its record
   * (Oracle Database Concepts, "Log Writer Process (LGWR)": a commit makes LGWR write the buffer);
   * other instances' buffers are untouched.
   */
  commitTogether(txs: readonly SimTransaction[], options: { readonly wait?: boolean } = {}): bigint | null {
    for (const tx of txs) if (tx.done) throw new Error('simulator: the transaction has ended');
    const writing = txs.filter((tx) => tx.startScn !== null);
    for (const tx of txs) {
      tx.done = true;
      this.open.delete(tx);
    }
    if (writing.length === 0) return null; // nothing written: no redo
    const scn = this.tick();
    for (const tx of writing) {
      for (const p of tx.pending) {
        let versions = p.table.versions.get(p.rowid);
        if (versions === undefined) {
          versions = [];
          p.table.versions.set(p.rowid, versions);
        }
        versions.push({ scn, row: p.after });
      }
      this.write({
        container: tx.container,
        scn,
        xid: tx.xid,
        thread: tx.thread,
        operationCode: 7,
        operation: 'COMMIT',
        owner: null,
        table: null,
        sqlRedo: 'commit;',
        sqlUndo: null,
        rollback: 0,
        startScn: tx.startScn,
        rowid: null,
      });
    }
    if (options.wait !== false) for (const thread of new Set(writing.map((tx) => tx.thread))) this.flushRedo(thread);
    return scn;
  }

  rollback(tx: SimTransaction): void {
    if (tx.done) return;
    if (tx.startScn !== null) {
      this.undoFrom(tx, 0);
      this.write({
        container: tx.container,
        scn: this.tick(),
        xid: tx.xid,
        thread: tx.thread,
        operationCode: 36,
        operation: 'ROLLBACK',
        owner: null,
        table: null,
        sqlRedo: 'rollback;',
        sqlUndo: null,
        rollback: 1,
        startScn: tx.startScn,
        rowid: null,
      });
    }
    tx.done = true;
    this.open.delete(tx);
  }

  /** Runs `work` in a transaction, committed when it returns, rolled back when it throws. */
  transaction<T>(work: (tx: SimTransaction) => T): T {
    const tx = this.begin();
    try {
      const result = work(tx);
      this.commit(tx);
      return result;
    } catch (error) {
      this.rollback(tx);
      throw error;
    }
  }

  // ---- DDL (each in its own transaction, as Oracle commits DDL implicitly) -------------------------

  private ddl(table: SimTable, sql: string): bigint {
    const { owner, name } = table;
    const tx = this.begin();
    const scn = this.started(tx, table);
    this.write({
      container: table.container,
      scn,
      xid: tx.xid,
      thread: tx.thread,
      operationCode: 5,
      operation: 'DDL',
      owner,
      table: name,
      sqlRedo: sql,
      sqlUndo: null,
      rollback: 0,
      startScn: tx.startScn,
      rowid: null,
    });
    return this.commit(tx) as bigint;
  }

  createTable(
    owner: string,
    name: string,
    columns: OracleColumn[],
    primaryKey: readonly string[],
    container: string | null = this.defaultContainer,
  ): SimTable {
    if (container !== null && !this.pdbs.includes(container)) throw new Error(`simulator: no PDB ${container}`);
    if (this.tables.has(tableKey(container, owner, name)))
      throw new SimulatedOracleError('ORA-00955', 'name is already used by an existing object');
    const table: SimTable = {
      container,
      owner,
      name,
      columns,
      primaryKey,
      logAllColumns: false,
      versions: new Map(),
      ddlScn: 0n,
      dataObjectId: this.nextObjectId++,
      extents: [],
      slots: 0,
    };
    this.tables.set(tableKey(container, owner, name), table);
    const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.dataType}`).join(', ');
    table.ddlScn = this.ddl(table, `create table ${quoteIdent(owner)}.${quoteIdent(name)} (${defs});`);
    return table;
  }

  addColumn(table: SimTable, column: OracleColumn): void {
    table.columns = [...table.columns, column];
    table.ddlScn = this.ddl(
      table,
      `alter table ${quoteIdent(table.owner)}.${quoteIdent(table.name)} add (${quoteIdent(column.name)} ${column.dataType});`,
    );
  }

  /**
   * ALTER TABLE … MOVE: the committed rows are copied into a new segment (new data object number,
   * new extents), so each gets a new ROWID; the redo has the DDL only, no row changes. Refused while
   * a transaction has uncommitted changes on the table (Oracle waits for or fails on its lock).
   */
  moveTable(table: SimTable): void {
    for (const tx of this.open)
      if (tx.pending.some((p) => p.table === table))
        throw new SimulatedOracleError('ORA-00054', 'resource busy and acquire with NOWAIT specified');
    const current = this.rowsAsOf(table, this.scn).map(([, row]) => row);
    const scn = this.ddl(table, `alter table ${quoteIdent(table.owner)}.${quoteIdent(table.name)} move;`);
    table.dataObjectId = this.nextObjectId++;
    table.extents = [];
    table.slots = 0;
    table.versions.clear();
    for (const row of current) table.versions.set(this.allocateRowid(table), [{ scn, row }]);
    table.ddlScn = scn;
  }

  truncate(table: SimTable): void {
    const scn = this.ddl(table, `truncate table ${quoteIdent(table.owner)}.${quoteIdent(table.name)};`);
    for (const versions of table.versions.values()) versions.push({ scn, row: null });
    table.ddlScn = scn;
  }

  dropTable(table: SimTable): void {
    this.tables.delete(tableKey(table.container, table.owner, table.name));
    this.ddl(table, `drop table ${quoteIdent(table.owner)}.${quoteIdent(table.name)} purge;`);
  }

  /** Orders rows by `columns` (Oracle's ORDER BY with NLS_SORT = BINARY). */
  sortRows(table: SimTable, rows: RawRow[], columns: readonly { name: string; desc: boolean }[]): RawRow[] {
    const defs = columns.map((c) => ({ ...c, column: table.columns.find((x) => x.name === c.name) as OracleColumn }));
    return rows.sort((a, b) => {
      for (const d of defs) {
        const r = compareRaw(d.column, a[d.name] ?? null, b[d.name] ?? null);
        if (r !== 0) return d.desc ? -r : r;
      }
      return 0;
    });
  }
}
