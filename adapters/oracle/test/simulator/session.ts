import type {
  Binds,
  ExecuteResult,
  OracleConnectSettings,
  OracleConnector,
  OracleSession,
  ResultRow,
} from '../../src/session/session.js';
import { compareRowids } from '../../src/rowid/rowid.js';
import type { OracleColumn } from '../../src/types/oracle-column.js';
import { CDB_ROOT, type LogFile, type RedoRecord, SimulatedOracle, type SimTable, type SimUser } from './database.js';
import { SimulatedOracleError } from './errors.js';
import type { RawRow } from './redo-writer.js';
import { compareRaw, type Raw, sessionValue, toChar } from './values.js';

/**
 * SIMULATOR. A session on a `SimulatedOracle`, standing in for node-oracledb at the adapter's one
 * interface (`OracleSession`). It interprets the adapter's statements — a small fixed set
 * (`src/sql/statements.ts`) — by recognising each one's shape; anything else fails with ORA-00900
 * so a statement the simulator does not model never passes silently.
 */
const norm = (sql: string) => sql.replace(/\s+/g, ' ').trim();

interface MiningState {
  files: string[];
  range: { start: bigint; end: bigint; noRowid: boolean } | null;
}

/** `"A"` or `TO_CHAR("A", 'fmt') AS "A"` or `TO_CHAR("A") AS "A"` or the bare ROWID pseudo-column (the adapter's select lists). */
const SELECT_ITEM = /^(?:"((?:[^"]|"")+)"|TO_CHAR\("((?:[^"]|"")+)"(?:, '([^']*)')?\) AS "(?:[^"]|"")+"|(ROWID))$/;

/** A key or ORDER BY term: a row's value of a column, or its ROWID. */
type Term = { readonly kind: 'column'; readonly column: OracleColumn } | { readonly kind: 'rowid' };
const TABLE_QUERY =
  /^SELECT (.+?) FROM "((?:[^"]|"")+)"\."((?:[^"]|"")+)"( AS OF SCN :asOf)?( WHERE .+?)?(?: ORDER BY (.+?))?( OFFSET :skip ROWS FETCH NEXT 1 ROWS ONLY| FETCH FIRST 1 ROWS ONLY)?$/;

function splitTopLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i] as string;
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(list.slice(start).trim());
  return out;
}

const unquote = (s: string) => s.replaceAll('""', '"');

export class SimulatedSession implements OracleSession {
  private closed = false;
  private mining: MiningState = { files: [], range: null };

  constructor(
    private readonly db: SimulatedOracle,
    private readonly user: SimUser,
    /** A CDB's container the session is in (CDB$ROOT or a PDB); null in a non-CDB. */
    private container: string | null = null,
    private readonly userName = '',
  ) {
    db.openSessions++;
  }

  /** The PDB whose tables this session sees (null: a non-CDB's, or none in CDB$ROOT). */
  private get pdb(): string | null {
    return this.container === CDB_ROOT ? CDB_ROOT : this.container;
  }

  private inPdb(): boolean {
    return this.container !== null && this.container !== CDB_ROOT;
  }

  /**
   * ALTER SESSION SET CONTAINER (Oracle Database SQL Language Reference): a CDB only (ORA-65090), by a
   * common user (C##…) with SET CONTAINER (ORA-01031), to a container that exists (ORA-65011).
   */
  private setContainer(name: string): ResultRow[] {
    if (this.container === null)
      throw new SimulatedOracleError('ORA-65090', 'operation only allowed in a container database');
    if (!this.userName.startsWith('C##') || !this.user.privileges.has('SET CONTAINER'))
      throw new SimulatedOracleError('ORA-01031', 'insufficient privileges');
    if (name !== CDB_ROOT && !this.db.pdbs.includes(name))
      throw new SimulatedOracleError('ORA-65011', `Pluggable database ${name} does not exist.`);
    this.container = name;
    return [];
  }

  async execute(sql: string, binds: Binds = {}): Promise<ExecuteResult> {
    // A real round trip never completes synchronously: keep callers honest about interleaving.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.closed) throw new SimulatedOracleError('NJS-003', 'invalid or closed connection');
    this.db.beforeStatement?.(sql);
    return { rows: this.run(norm(sql), binds) };
  }

  /** The query's rows `batchRows` at a time, each batch a round trip (as a result set's getRows). */
  async *stream(sql: string, binds: Binds, batchRows: number): AsyncIterable<readonly ResultRow[]> {
    const { rows } = await this.execute(sql, binds);
    for (let i = 0; i < rows.length; i += batchRows) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed) throw new SimulatedOracleError('NJS-003', 'invalid or closed connection');
      const batch = rows.slice(i, i + batchRows);
      this.db.largestFetch = Math.max(this.db.largestFetch, batch.length);
      yield batch;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.openSessions--;
  }

  private needs(privilege: string): void {
    if (!this.user.privileges.has(privilege))
      throw new SimulatedOracleError('ORA-00942', 'table or view does not exist');
  }

  private run(sql: string, binds: Binds): ResultRow[] {
    const db = this.db;
    const container = /^ALTER SESSION SET CONTAINER = ([A-Za-z][\w$#]*)$/.exec(sql);
    if (container !== null) return this.setContainer((container[1] as string).toUpperCase());
    if (sql.startsWith('ALTER SESSION SET ')) return [];
    if (sql === 'SELECT PRIVILEGE FROM SESSION_PRIVS') return [...this.user.privileges].map((p) => ({ PRIVILEGE: p }));
    if (sql.includes('FROM V$DATABASE')) {
      this.needs('SELECT ANY DICTIONARY');
      return [
        {
          LOG_MODE: db.archivelog ? 'ARCHIVELOG' : 'NOARCHIVELOG',
          SUPPLEMENTAL_LOG_DATA_MIN: db.supplementalMin ? 'YES' : 'NO',
          SUPPLEMENTAL_LOG_DATA_ALL: db.supplementalAll ? 'YES' : 'NO',
          CURRENT_SCN: String(db.scn),
        },
      ];
    }
    if (sql === 'SELECT THREAD#, STATUS, LAST_REDO_CHANGE# FROM V$THREAD ORDER BY THREAD#') {
      // V$THREAD (Oracle Database Reference): per redo thread, OPEN or CLOSED, and the SCN of the last
      // redo LGWR wrote for it.
      this.needs('SELECT ANY DICTIONARY');
      return Array.from({ length: db.threads }, (_, i) => i + 1).map((t) => ({
        'THREAD#': String(t),
        STATUS: db.closedThreads.has(t) ? 'CLOSED' : 'OPEN',
        'LAST_REDO_CHANGE#': String(db.lastRedoScn(t)),
      }));
    }
    if (sql === 'SELECT MIN(START_SCN) AS START_SCN FROM V$TRANSACTION') {
      this.needs('SELECT ANY DICTIONARY');
      const oldest = db.oldestOpenStart();
      return [{ START_SCN: oldest === null ? null : String(oldest) }];
    }
    if (sql.startsWith('SELECT OWNER, TABLE_NAME FROM ALL_TABLES WHERE OWNER NOT IN')) {
      return [...db.tables.values()]
        .filter((t) => t.container === this.pdb)
        .sort((a, b) => (a.owner + a.name < b.owner + b.name ? -1 : 1))
        .map((t) => ({ OWNER: t.owner, TABLE_NAME: t.name }));
    }
    if (sql.startsWith('SELECT NUM_ROWS FROM ALL_TABLES')) {
      const t = this.maybeTable(binds);
      return t === null ? [] : [{ NUM_ROWS: String(db.rows(t, null).length) }];
    }
    if (sql.startsWith('SELECT NUM_ROWS, BLOCKS FROM ALL_TABLES')) {
      // Statistics as if just gathered: rows now, blocks below the high-water mark.
      const t = this.maybeTable(binds);
      return t === null ? [] : [{ NUM_ROWS: String(db.rows(t, null).length), BLOCKS: String(db.usedBlocks(t)) }];
    }
    if (
      sql.startsWith(
        'SELECT o.DATA_OBJECT_ID, e.RELATIVE_FNO, e.BLOCK_ID, e.BLOCKS FROM DBA_EXTENTS e JOIN DBA_OBJECTS o',
      )
    ) {
      // DBA_EXTENTS needs SELECT_CATALOG_ROLE (or SELECT ANY DICTIONARY).
      this.needs('SELECT ANY DICTIONARY');
      const t = this.maybeTable(binds);
      if (t === null) return [];
      return [...t.extents]
        .sort((a, b) => a.file - b.file || a.block - b.block)
        .map((e) => ({
          DATA_OBJECT_ID: String(t.dataObjectId),
          RELATIVE_FNO: String(e.file),
          BLOCK_ID: String(e.block),
          BLOCKS: String(e.blocks),
        }));
    }
    if (sql.startsWith('SELECT COLUMN_NAME, DATA_TYPE, DATA_PRECISION') && sql.includes('FROM ALL_TAB_COLUMNS')) {
      const t = this.maybeTable(binds);
      return t === null ? [] : t.columns.map(catalogRow);
    }
    if (sql.includes('FROM ALL_CONSTRAINTS c JOIN ALL_CONS_COLUMNS')) {
      const t = this.maybeTable(binds);
      return t === null ? [] : t.primaryKey.map((c) => ({ COLUMN_NAME: c }));
    }
    if (sql.startsWith('SELECT LOG_GROUP_TYPE FROM ALL_LOG_GROUPS')) {
      const t = this.maybeTable(binds);
      return t?.logAllColumns === true ? [{ LOG_GROUP_TYPE: 'ALL COLUMN LOGGING' }] : [];
    }
    if (sql.startsWith('SELECT NAME, THREAD#, SEQUENCE#, FIRST_CHANGE#, NEXT_CHANGE# FROM V$ARCHIVED_LOG')) {
      this.needs('SELECT ANY DICTIONARY');
      return db.logs
        .filter((l) => l.archived && !l.deleted && overlaps(l, binds))
        .map((l) => logRow(SimulatedOracle.archivedName(l), l));
    }
    if (
      sql.startsWith('SELECT MIN(f.MEMBER) AS NAME, l.THREAD#, l.SEQUENCE#') &&
      sql.includes('FROM V$LOG l JOIN V$LOGFILE f')
    ) {
      this.needs('SELECT ANY DICTIONARY');
      return db
        .onlineLogs()
        .filter((l) => overlaps(l, binds))
        .map((l) => ({
          ...logRow(SimulatedOracle.onlineName(l), l),
          STATUS: l.next === null ? 'CURRENT' : 'INACTIVE',
        }));
    }
    if (
      sql.startsWith(
        'SELECT THREAD#, MIN(SEQUENCE#) AS FIRST_SEQUENCE, MIN(FIRST_CHANGE#) AS FIRST_SCN FROM V$LOG GROUP BY THREAD#',
      )
    ) {
      this.needs('SELECT ANY DICTIONARY');
      const online = db.onlineLogs();
      const threads = [...new Set(online.map((l) => l.thread))].sort((a, b) => a - b);
      return threads.map((t) => {
        const own = online.filter((l) => l.thread === t);
        return {
          'THREAD#': String(t),
          FIRST_SEQUENCE: String(Math.min(...own.map((l) => l.sequence))),
          FIRST_SCN: String(own.reduce((m, l) => (l.first < m ? l.first : m), own[0]!.first)),
        };
      });
    }
    if (sql.startsWith('SELECT MAX(FIRST_SCN) AS SCN FROM (SELECT THREAD#, MIN(FIRST_CHANGE#)')) {
      this.needs('SELECT ANY DICTIONARY');
      const kept = db.logs.filter((l) => (l.archived && !l.deleted) || db.onlineLogs().includes(l));
      let scn: bigint | null = null;
      for (let t = 1; t <= db.threads; t++) {
        const first = kept.find((l) => l.thread === t)?.first;
        if (first !== undefined && (scn === null || first > scn)) scn = first;
      }
      return [{ SCN: String(scn ?? db.scn) }];
    }
    if (sql.includes('TIMESTAMP_TO_SCN(')) {
      const time = Date.parse(`${String(binds.ts).replace(' ', 'T')}Z`);
      return [{ SCN: String(db.timestampToScn(time)) }];
    }
    if (sql.startsWith('BEGIN DBMS_LOGMNR.ADD_LOGFILE(')) return this.addLogfile(sql, binds);
    if (sql.startsWith('BEGIN DBMS_LOGMNR.START_LOGMNR(')) return this.startLogmnr(sql, binds);
    if (sql === 'BEGIN DBMS_LOGMNR.END_LOGMNR; END;') {
      if (this.mining.files.length === 0 && this.mining.range === null)
        throw new SimulatedOracleError('ORA-01307', 'no LogMiner session is currently active');
      this.mining = { files: [], range: null };
      return [];
    }
    if (sql.includes('FROM V$LOGMNR_CONTENTS')) return this.contents(sql, binds);
    const table = TABLE_QUERY.exec(sql);
    if (table !== null) return this.tableQuery(table, binds);
    throw new SimulatedOracleError(
      'ORA-00900',
      `invalid SQL statement (the simulator does not model: ${sql.slice(0, 160)})`,
    );
  }

  private maybeTable(binds: Binds): SimTable | null {
    return this.db.findTable(String(binds.owner), String(binds.name), this.pdb);
  }

  // ---- LogMiner ---------------------------------------------------------------------------------

  /** Before per-PDB LogMiner (or for ADD_LOGFILE at all), DBMS_LOGMNR runs only in CDB$ROOT. */
  private notInPdb(): void {
    if (this.inPdb())
      throw new SimulatedOracleError('ORA-65040', 'operation not allowed from within a pluggable database');
  }

  private addLogfile(sql: string, binds: Binds): ResultRow[] {
    this.needs('LOGMINING');
    this.notInPdb();
    const name = String(binds.name);
    const exists = this.db.logs.some(
      (l) =>
        (l.archived && !l.deleted && SimulatedOracle.archivedName(l) === name) ||
        (this.db.onlineLogs().includes(l) && SimulatedOracle.onlineName(l) === name),
    );
    if (!exists) throw new SimulatedOracleError('ORA-01284', `file ${name} cannot be opened`);
    if (sql.includes('DBMS_LOGMNR.NEW')) this.mining = { files: [], range: null };
    else if (!sql.includes('DBMS_LOGMNR.ADDFILE'))
      throw new SimulatedOracleError('ORA-00900', 'ADD_LOGFILE option not simulated');
    if (this.mining.files.includes(name))
      throw new SimulatedOracleError('ORA-01289', `cannot add duplicate logfile ${name}`);
    this.mining.files.push(name);
    return [];
  }

  /** The log files added to this LogMiner session, resolved to logs. */
  private addedLogs(): LogFile[] {
    return this.db.logs.filter((l) =>
      this.mining.files.some(
        (f) =>
          f === SimulatedOracle.archivedName(l) ||
          (f === SimulatedOracle.onlineName(l) && this.db.onlineLogs().includes(l)),
      ),
    );
  }

  private startLogmnr(sql: string, binds: Binds): ResultRow[] {
    this.needs('LOGMINING');
    if (!sql.includes('DBMS_LOGMNR.DICT_FROM_ONLINE_CATALOG'))
      throw new SimulatedOracleError('ORA-01371', 'Complete LogMiner dictionary not found');
    if (sql.includes('COMMITTED_DATA_ONLY'))
      throw new SimulatedOracleError('ORA-00900', 'the simulator does not model COMMITTED_DATA_ONLY');
    const start = BigInt(String(binds.startScn));
    const end = BigInt(String(binds.endScn));
    if (this.inPdb()) {
      if (!this.db.perPdbMining) this.notInPdb();
      // Per-PDB mining: START_LOGMNR adds the logs holding the SCN range itself.
      this.mining.files = this.db.logs
        .filter((l) => (l.archived && !l.deleted) || this.db.onlineLogs().includes(l))
        .filter((l) => (l.next === null || l.next > start) && l.first <= end)
        .map((l) =>
          this.db.onlineLogs().includes(l) ? SimulatedOracle.onlineName(l) : SimulatedOracle.archivedName(l),
        );
    }
    if (this.mining.files.length === 0)
      throw new SimulatedOracleError('ORA-01292', 'no log file has been specified for the current LogMiner session');
    const logs = this.addedLogs();
    // STARTSCN must fall inside an added log (DBMS_LOGMNR.START_LOGMNR: "fails if there is no redo log file … containing the startScn").
    if (!logs.some((l) => l.first <= start && (l.next === null || start < l.next))) {
      throw new SimulatedOracleError('ORA-01291', 'missing logfile');
    }
    this.mining.range = { start, end, noRowid: sql.includes('DBMS_LOGMNR.NO_ROWID_IN_STMT') };
    return [];
  }

  private contents(sql: string, binds: Binds): ResultRow[] {
    this.needs('SELECT ANY TRANSACTION');
    const range = this.mining.range;
    if (range === null)
      throw new SimulatedOracleError(
        'ORA-01306',
        'dbms_logmnr.start_logmnr() must be invoked before selecting from v$logmnr_contents',
      );
    if (this.inPdb() && !this.db.perPdbMining) this.notInPdb();
    const codes = /OPERATION_CODE IN \(([\d, ]+)\)/.exec(sql);
    // From a PDB the view holds that PDB's redo only (V$LOGMNR_CONTENTS, Oracle Database Reference 21c);
    // from CDB$ROOT every container's, told apart by SRC_CON_NAME.
    const onlyPdb = this.inPdb() ? this.container : sql.includes('SRC_CON_NAME = :pdb') ? String(binds.pdb) : undefined;
    const wanted = codes === null ? null : new Set(codes[1]?.split(',').map((c) => Number(c.trim())));
    const logs = this.addedLogs();
    // Every SCN of the range must be in an added log of each thread added: a gap means a log is missing.
    for (const thread of new Set(logs.map((l) => l.thread))) {
      const sorted = logs.filter((l) => l.thread === thread).sort((a, b) => a.sequence - b.sequence);
      let covered = range.start;
      for (const l of sorted) {
        if (l.first > covered) break;
        if (l.next === null || l.next > range.end) {
          covered = range.end + 1n;
          break;
        }
        if (l.next > covered) covered = l.next;
      }
      if (covered <= range.end) throw new SimulatedOracleError('ORA-01291', 'missing logfile');
    }
    // Only redo in an added log is returned: a thread whose logs were not added is simply absent, and
    // redo LGWR has not written yet (still in the instance's log buffer) is in no log at all.
    const inAddedLog = (r: RedoRecord) =>
      logs.some((l) => l.thread === r.thread && l.first <= r.scn && (l.next === null || r.scn < l.next));
    const out: { record: RedoRecord; at: number }[] = [];
    this.db.redo.forEach((r, at) => {
      if (r.scn < range.start || r.scn > range.end) return;
      if (wanted !== null && !wanted.has(r.operationCode)) return;
      if (onlyPdb !== undefined && r.container !== onlyPdb) return;
      if (inAddedLog(r) && this.db.isWritten(at)) out.push({ record: r, at });
    });
    // Merged by SCN; records of different threads at one SCN in the simulator's chosen order.
    const direction = this.db.sameScnOrder === 'thread-asc' ? 1 : -1;
    out.sort((a, b) =>
      a.record.scn !== b.record.scn
        ? a.record.scn < b.record.scn
          ? -1
          : 1
        : a.record.thread !== b.record.thread
          ? (a.record.thread - b.record.thread) * direction
          : a.at - b.at,
    );
    return out.map((o) => contentsRow(o.record, range.noRowid));
  }

  // ---- table queries ----------------------------------------------------------------------------

  private tableQuery(m: RegExpExecArray, binds: Binds): ResultRow[] {
    const [, list, owner, name, asOf, where, orderBy, limit] = m;
    const table = this.db.table(unquote(owner as string), unquote(name as string), this.pdb);
    let rows: [string, RawRow][];
    if (asOf !== undefined) {
      this.needs('FLASHBACK ANY TABLE');
      rows = this.db.rowsAsOf(table, BigInt(String(binds.asOf)));
    } else rows = this.db.rows(table, null);
    const term = (ref: string): Term => {
      if (ref === 'ROWID') return { kind: 'rowid' };
      const mm = /^"((?:[^"]|"")+)"$/.exec(ref);
      const column = mm === null ? undefined : table.columns.find((c) => c.name === unquote(mm[1] as string));
      if (column === undefined) throw new SimulatedOracleError('ORA-00904', `${ref}: invalid identifier`);
      return { kind: 'column', column };
    };
    const order =
      (orderBy ?? '').length === 0
        ? []
        : splitTopLevel(orderBy as string).map((o) => {
            const desc = o.endsWith(' DESC');
            return { term: term(desc ? o.slice(0, -5) : o), desc };
          });
    if (where !== undefined)
      rows = rows.filter((r) =>
        inRange(
          order.map((o) => o.term),
          r,
          binds,
        ),
      );
    if (order.length > 0)
      rows.sort((a, b) => {
        for (const o of order) {
          const c = compareTerm(o.term, a, b);
          if (c !== 0) return o.desc ? -c : c;
        }
        return 0;
      });
    if (limit?.includes('OFFSET')) rows = rows.slice(Number(binds.skip), Number(binds.skip) + 1);
    else if (limit !== undefined) rows = rows.slice(0, 1);
    const items = splitTopLevel(list as string).map((item) => {
      const mm = SELECT_ITEM.exec(item);
      if (mm === null) throw new SimulatedOracleError('ORA-00900', `select item ${item} not simulated`);
      if (mm[4] !== undefined) return { rowid: true as const };
      const columnName = unquote((mm[1] ?? mm[2]) as string);
      const column = table.columns.find((c) => c.name === columnName);
      if (column === undefined) throw new SimulatedOracleError('ORA-00904', `"${columnName}": invalid identifier`);
      return { rowid: false as const, column, toChar: mm[2] !== undefined, format: mm[3] ?? null };
    });
    return rows.map(([rowid, r]) => {
      const out: Record<string, unknown> = {};
      for (const it of items) {
        // node-oracledb fetches ROWID as its 18-character text (node-oracledb docs, "Query Result Type Mapping").
        if (it.rowid) {
          out.ROWID = rowid;
          continue;
        }
        const raw = r[it.column.name] ?? null;
        out[it.column.name] = it.toChar ? toChar(it.column, raw, it.format) : sessionValue(it.column, raw);
      }
      return out;
    });
  }
}

function compareTerm(term: Term, a: [string, RawRow], b: [string, RawRow]): number {
  if (term.kind === 'rowid') return compareRowids(a[0], b[0]);
  return compareRaw(term.column, a[1][term.column.name] ?? null, b[1][term.column.name] ?? null);
}

/**
 * The key predicate of the adapter's chunk and boundary queries, read from its binds: `ge<i>`/`gt<i>`
 * (lower bound) and `lt<i>` (upper bound) over the ORDER BY terms, compared as a row value.
 */
function inRange(terms: readonly Term[], row: [string, RawRow], binds: Binds): boolean {
  const cmp = (prefix: string): number | null => {
    if (!(`${prefix}0` in binds)) return null;
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i] as Term;
      const bound = (binds[`${prefix}${i}`] ?? null) as Raw;
      const r =
        t.kind === 'rowid'
          ? compareRowids(row[0], String(bound))
          : compareRaw(t.column, row[1][t.column.name] ?? null, bound);
      if (r !== 0) return r;
    }
    return 0;
  };
  const ge = cmp('ge');
  const gt = cmp('gt');
  const lt = cmp('lt');
  return (ge === null || ge >= 0) && (gt === null || gt > 0) && (lt === null || lt < 0);
}

function overlaps(l: LogFile, binds: Binds): boolean {
  const start = BigInt(String(binds.startScn));
  const end = BigInt(String(binds.endScn));
  return (l.next === null || l.next > start) && l.first <= end;
}

function logRow(name: string, l: LogFile): ResultRow {
  // V$LOG shows NEXT_CHANGE# of the current log as the highest SCN (18446744073709551615).
  return {
    NAME: name,
    'THREAD#': String(l.thread),
    'SEQUENCE#': String(l.sequence),
    'FIRST_CHANGE#': String(l.first),
    'NEXT_CHANGE#': l.next === null ? '18446744073709551615' : String(l.next),
  };
}

function catalogRow(c: OracleColumn): ResultRow {
  const character = ['VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR'].includes(c.dataType);
  return {
    COLUMN_NAME: c.name,
    DATA_TYPE: c.dataType,
    DATA_PRECISION: c.precision === null ? null : String(c.precision),
    DATA_SCALE: c.scale === null ? null : String(c.scale),
    CHAR_LENGTH: character ? String(c.length ?? 0) : '0',
    DATA_LENGTH: c.dataType === 'RAW' ? String(c.length ?? 0) : '22',
    NULLABLE: c.nullable ? 'Y' : 'N',
  };
}

function contentsRow(r: RedoRecord, noRowid: boolean): ResultRow {
  const withRowid = !noRowid && r.rowid !== null && (r.operationCode === 2 || r.operationCode === 3);
  const sql = withRowid ? r.sqlRedo : r.sqlRedo.replace(/ and ROWID = '[^']*'/, '');
  const p = (n: number) => String(n).padStart(2, '0');
  const t = r.time;
  return {
    SCN: String(r.scn),
    // START_SCN/COMMIT_SCN are only filled with COMMITTED_DATA_ONLY (V$LOGMNR_CONTENTS): null here.
    START_SCN: null,
    XID: r.xid,
    OPERATION_CODE: String(r.operationCode),
    SEG_OWNER: r.owner,
    TABLE_NAME: r.table,
    SQL_REDO: sql,
    // SRC_CON_NAME: the PDB that generated the record (NULL in a non-CDB; V$LOGMNR_CONTENTS in a CDB).
    SRC_CON_NAME: r.container,
    CSF: String(r.csf),
    ROLLBACK: String(r.rollback),
    RS_ID: r.rsId,
    SSN: String(r.ssn),
    'THREAD#': String(r.thread),
    // ROW_ID: the row's address for DML, LogMiner's all-A placeholder otherwise (V$LOGMNR_CONTENTS).
    ROW_ID: r.rowid ?? 'AAAAAAAAAAAAAAAAAA',
    TS: `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())}`,
  };
}

/**
 * SIMULATOR. A connector (the adapter's `connect` option) onto `db`: user and password checked
 * against `db.users` (ORA-01017), every session counted in `db.openSessions`.
 */
export function simulatedConnector(db: SimulatedOracle): OracleConnector {
  return async (settings: OracleConnectSettings) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const user = db.users.get(settings.user);
    if (user === undefined || user.password !== settings.password) {
      throw new SimulatedOracleError('ORA-01017', 'invalid credential or not authorized; logon denied');
    }
    // A CDB's listener knows the root's service and one per PDB (`host:port/SERVICE`).
    let container: string | null = null;
    if (db.pdbs.length > 0) {
      const service = (settings.connectString.split('/').pop() ?? '').toUpperCase();
      if (service === 'FREE' || service === CDB_ROOT) container = CDB_ROOT;
      else if (db.pdbs.includes(service)) container = service;
      else
        throw new SimulatedOracleError(
          'ORA-12514',
          `listener does not currently know of service requested: ${service}`,
        );
    }
    return new SimulatedSession(db, user, container, settings.user);
  };
}
