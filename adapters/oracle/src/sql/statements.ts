import type { Key } from '@highwater/core';
import type { Binds, BindValue } from '../session/session.js';
import { columnRef, familyOf, type OracleColumn, quoteIdent, selectExpression } from '../types/oracle-column.js';

/**
 * Every statement the adapter sends to Oracle. The set is small and fixed (only identifiers and
 * select lists vary), so a simulator can recognise each and a DBA can read what runs.
 */

/** Owners of Oracle's own schemas, never listed as capturable tables. */
const SYSTEM_OWNERS = [
  'SYS',
  'SYSTEM',
  'XDB',
  'MDSYS',
  'CTXSYS',
  'ORDSYS',
  'ORDDATA',
  'OLAPSYS',
  'WMSYS',
  'LBACSYS',
  'DVSYS',
  'AUDSYS',
  'GSMADMIN_INTERNAL',
  'OUTLN',
  'DBSNMP',
  'APPQOSSYS',
  'OJVMSYS',
  'DVF',
  'REMOTE_SCHEDULER_AGENT',
  'DBSFWUSER',
  'GGSYS',
  'ANONYMOUS',
  'GSMCATUSER',
  'SYSBACKUP',
  'SYSDG',
  'SYSKM',
  'SYSRAC',
  'SYS$UMF',
]
  .map((o) => `'${o}'`)
  .join(', ');

export const SQL = {
  /** ARCHIVELOG mode, database-level supplemental logging and the SCN, in one round trip. */
  database: 'SELECT LOG_MODE, SUPPLEMENTAL_LOG_DATA_MIN, SUPPLEMENTAL_LOG_DATA_ALL, CURRENT_SCN FROM V$DATABASE',
  currentScn: 'SELECT CURRENT_SCN FROM V$DATABASE',
  /**
   * Per redo thread (one per RAC instance): OPEN or CLOSED, and LAST_REDO_CHANGE#, the SCN of the last
   * redo LGWR wrote to its online log (V$THREAD, Oracle Database Reference). A window must not end past
   * what every open thread has written: LogMiner reads logs, not log buffers.
   */
  redoThreadState: 'SELECT THREAD#, STATUS, LAST_REDO_CHANGE# FROM V$THREAD ORDER BY THREAD#',
  /** The start of the oldest open transaction (null when none is open). */
  oldestOpenTransaction: 'SELECT MIN(START_SCN) AS START_SCN FROM V$TRANSACTION',
  sessionPrivileges: 'SELECT PRIVILEGE FROM SESSION_PRIVS',
  listTables: `SELECT OWNER, TABLE_NAME FROM ALL_TABLES WHERE OWNER NOT IN (${SYSTEM_OWNERS}) ORDER BY OWNER, TABLE_NAME`,
  tableColumns:
    'SELECT COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE, CHAR_LENGTH, DATA_LENGTH, NULLABLE FROM ALL_TAB_COLUMNS ' +
    'WHERE OWNER = :owner AND TABLE_NAME = :name ORDER BY COLUMN_ID',
  primaryKey:
    'SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS c JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME ' +
    "WHERE c.OWNER = :owner AND c.TABLE_NAME = :name AND c.CONSTRAINT_TYPE = 'P' ORDER BY cc.POSITION",
  /** Table-level supplemental log groups (needed when the database logs only minimal data). */
  logGroups: 'SELECT LOG_GROUP_TYPE FROM ALL_LOG_GROUPS WHERE OWNER = :owner AND TABLE_NAME = :name',
  rowEstimate: 'SELECT NUM_ROWS FROM ALL_TABLES WHERE OWNER = :owner AND TABLE_NAME = :name',
  /** Rows and blocks from the table's last statistics (null when never gathered): rows per block for ROWID chunks. */
  tableBlocks: 'SELECT NUM_ROWS, BLOCKS FROM ALL_TABLES WHERE OWNER = :owner AND TABLE_NAME = :name',
  /**
   * The table's extents with the data object number of their segment (partitions have one each), in
   * ROWID order: the ROWID ranges of a keyless table's chunks are cut from them (SELECT_CATALOG_ROLE).
   */
  extents:
    'SELECT o.DATA_OBJECT_ID, e.RELATIVE_FNO, e.BLOCK_ID, e.BLOCKS FROM DBA_EXTENTS e JOIN DBA_OBJECTS o ' +
    "ON o.OWNER = e.OWNER AND o.OBJECT_NAME = e.SEGMENT_NAME AND o.OBJECT_TYPE = e.SEGMENT_TYPE AND NVL(o.SUBOBJECT_NAME, '-') = NVL(e.PARTITION_NAME, '-') " +
    "WHERE e.OWNER = :owner AND e.SEGMENT_NAME = :name AND e.SEGMENT_TYPE IN ('TABLE', 'TABLE PARTITION', 'TABLE SUBPARTITION') " +
    'ORDER BY o.DATA_OBJECT_ID, e.RELATIVE_FNO, e.BLOCK_ID',
  /** Archived logs overlapping `[startScn, endScn]`, of every redo thread (V$ARCHIVED_LOG, first destination, still on disk). */
  archivedLogs:
    'SELECT NAME, THREAD#, SEQUENCE#, FIRST_CHANGE#, NEXT_CHANGE# FROM V$ARCHIVED_LOG ' +
    "WHERE DEST_ID = 1 AND STATUS = 'A' AND NEXT_CHANGE# > :startScn AND FIRST_CHANGE# <= :endScn ORDER BY THREAD#, SEQUENCE#",
  /** Online log groups overlapping `[startScn, endScn]` with one member each, of every redo thread (V$LOG, V$LOGFILE). */
  onlineLogs:
    'SELECT MIN(f.MEMBER) AS NAME, l.THREAD#, l.SEQUENCE#, l.FIRST_CHANGE#, l.NEXT_CHANGE#, l.STATUS FROM V$LOG l JOIN V$LOGFILE f ON f.GROUP# = l.GROUP# ' +
    'WHERE l.NEXT_CHANGE# > :startScn AND l.FIRST_CHANGE# <= :endScn GROUP BY l.THREAD#, l.SEQUENCE#, l.FIRST_CHANGE#, l.NEXT_CHANGE#, l.STATUS ORDER BY l.THREAD#, l.SEQUENCE#',
  /** Every redo thread with its oldest online log: a thread whose logs miss a window must have started after it. */
  redoThreads:
    'SELECT THREAD#, MIN(SEQUENCE#) AS FIRST_SEQUENCE, MIN(FIRST_CHANGE#) AS FIRST_SCN FROM V$LOG GROUP BY THREAD# ORDER BY THREAD#',
  /** The oldest SCN the logs (archived or online) of every redo thread still hold: the newest of the threads' oldest. */
  earliestScn:
    'SELECT MAX(FIRST_SCN) AS SCN FROM (SELECT THREAD#, MIN(FIRST_CHANGE#) AS FIRST_SCN FROM (' +
    "SELECT THREAD#, FIRST_CHANGE# FROM V$ARCHIVED_LOG WHERE DEST_ID = 1 AND STATUS = 'A' UNION ALL SELECT THREAD#, FIRST_CHANGE# FROM V$LOG" +
    ') GROUP BY THREAD#)',
  timestampToScn: "SELECT TIMESTAMP_TO_SCN(TO_TIMESTAMP(:ts, 'YYYY-MM-DD HH24:MI:SS.FF3')) AS SCN FROM DUAL",
  addFirstLogfile: 'BEGIN DBMS_LOGMNR.ADD_LOGFILE(LOGFILENAME => :name, OPTIONS => DBMS_LOGMNR.NEW); END;',
  addLogfile: 'BEGIN DBMS_LOGMNR.ADD_LOGFILE(LOGFILENAME => :name, OPTIONS => DBMS_LOGMNR.ADDFILE); END;',
  /**
   * The online catalog as dictionary, no ROWID predicate in SQL_REDO, and deliberately NOT
   * COMMITTED_DATA_ONLY (which stages whole transactions in server memory and loses those that span
   * two windows): the adapter buffers transactions itself.
   */
  startLogmnr:
    'BEGIN DBMS_LOGMNR.START_LOGMNR(STARTSCN => :startScn, ENDSCN => :endScn, ' +
    'OPTIONS => DBMS_LOGMNR.DICT_FROM_ONLINE_CATALOG + DBMS_LOGMNR.NO_ROWID_IN_STMT); END;',
  endLogmnr: 'BEGIN DBMS_LOGMNR.END_LOGMNR; END;',
  /** The rows the reader needs: DML (1–3), DDL (5), START (6), COMMIT (7), ROLLBACK (36), in redo order. */
  contents:
    `SELECT SCN, START_SCN, RAWTOHEX(XID) AS XID, OPERATION_CODE, SEG_OWNER, TABLE_NAME, SQL_REDO, CSF, "ROLLBACK", RS_ID, SSN, THREAD#, ROW_ID, TO_CHAR("TIMESTAMP", 'YYYY-MM-DD HH24:MI:SS') AS TS ` +
    'FROM V$LOGMNR_CONTENTS WHERE OPERATION_CODE IN (1, 2, 3, 5, 6, 7, 36)',
  /** The same, mining in CDB$ROOT for one pluggable database: its records only (SRC_CON_NAME, the PDB that generated the redo). */
  contentsOfPdb:
    `SELECT SCN, START_SCN, RAWTOHEX(XID) AS XID, OPERATION_CODE, SEG_OWNER, TABLE_NAME, SQL_REDO, CSF, "ROLLBACK", RS_ID, SSN, THREAD#, ROW_ID, TO_CHAR("TIMESTAMP", 'YYYY-MM-DD HH24:MI:SS') AS TS ` +
    'FROM V$LOGMNR_CONTENTS WHERE OPERATION_CODE IN (1, 2, 3, 5, 6, 7, 36) AND SRC_CON_NAME = :pdb',
} as const;

/** `"OWNER"."TABLE"`. */
export function qualified(owner: string, name: string): string {
  return `${quoteIdent(owner)}.${quoteIdent(name)}`;
}

/** A key value as a bind (NUMBER keys compare exactly when bound as their decimal text). */
export function bindOf(value: Key[number]): BindValue {
  if (value === null) return null;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  return JSON.stringify(value);
}

/**
 * `(k1, k2) > (:gt0, :gt1)` spelled out (Oracle has no row-value comparison):
 * `("K1" > :gt0 OR ("K1" = :gt0 AND "K2" > :gt1))`. `op` is `gt`, `ge` or `lt`; bind names are
 * `<op><i>`, which is also how a simulator reads the bound. A ROWID key compares the pseudo-column
 * with `CHARTOROWID(:ge0)`.
 */
export function keyPredicate(
  keyColumns: readonly OracleColumn[],
  key: Key,
  op: 'gt' | 'ge' | 'lt',
  binds: Record<string, BindValue>,
): string {
  const sign = op === 'lt' ? '<' : '>';
  const build = (i: number): string => {
    const column = keyColumns[i] as OracleColumn;
    const col = columnRef(column);
    const name = `${op}${i}`;
    const bind = familyOf(column) === 'rowid' ? `CHARTOROWID(:${name})` : `:${name}`;
    binds[name] = bindOf(key[i] ?? null);
    if (i === keyColumns.length - 1) return `${col} ${op === 'ge' ? '>=' : sign} ${bind}`;
    return `(${col} ${sign} ${bind} OR (${col} = ${bind} AND ${build(i + 1)}))`;
  };
  return build(0);
}

export interface ChunkQuery {
  readonly sql: string;
  readonly binds: Binds;
}

/** `SELECT <columns> FROM t AS OF SCN :asOf WHERE key >= start AND key < end ORDER BY key`. */
export function chunkQuery(
  owner: string,
  name: string,
  columns: readonly OracleColumn[],
  keyColumns: readonly string[],
  range: { readonly start: Key | null; readonly end: Key | null },
  asOfScn: string,
): ChunkQuery {
  const { start, end } = range;
  const binds: Record<string, BindValue> = { asOf: asOfScn };
  const where: string[] = [];
  const keys = keyColumns.map((k) => {
    const column = columns.find((c) => c.name === k);
    if (column === undefined) throw new Error(`chunk key column ${k} is not a column of ${owner}.${name}`);
    return column;
  });
  if (start !== null) where.push(keyPredicate(keys, start, 'ge', binds));
  if (end !== null) where.push(keyPredicate(keys, end, 'lt', binds));
  const sql =
    `SELECT ${columns.map(selectExpression).join(', ')} FROM ${qualified(owner, name)} AS OF SCN :asOf` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    (keys.length > 0 ? ` ORDER BY ${keys.map(columnRef).join(', ')}` : '');
  return { sql, binds };
}

/** The first (or last) key of the table in key order. */
export function edgeKeyQuery(owner: string, name: string, keyColumns: readonly OracleColumn[], last: boolean): string {
  const dir = last ? ' DESC' : '';
  return (
    `SELECT ${keyColumns.map(selectExpression).join(', ')} FROM ${qualified(owner, name)} ` +
    `ORDER BY ${keyColumns.map((c) => columnRef(c) + dir).join(', ')} FETCH FIRST 1 ROWS ONLY`
  );
}

/** The key `skip` rows after `from` (inclusive) in key order: the end of a chunk of `skip` rows starting at `from`. */
export function boundaryQuery(
  owner: string,
  name: string,
  keyColumns: readonly OracleColumn[],
  from: Key | null,
  skip: number,
): ChunkQuery {
  const binds: Record<string, BindValue> = { skip };
  const where = from === null ? '' : ` WHERE ${keyPredicate(keyColumns, from, 'ge', binds)}`;
  const sql =
    `SELECT ${keyColumns.map(selectExpression).join(', ')} FROM ${qualified(owner, name)}${where} ` +
    `ORDER BY ${keyColumns.map(columnRef).join(', ')} OFFSET :skip ROWS FETCH NEXT 1 ROWS ONLY`;
  return { sql, binds };
}
