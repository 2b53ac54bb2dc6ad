import { OffsetUnavailableError } from '@highwater/core';
import type { OracleSession, ResultRow } from '../session/session.js';
import { SQL } from '../sql/statements.js';
import { type MiningScope, NON_CDB } from './container.js';

/** One row of `V$LOGMNR_CONTENTS` as the reader uses it (columns per Oracle Database Reference, V$LOGMNR_CONTENTS). */
export interface ContentRow {
  readonly scn: bigint;
  readonly xid: string;
  /** 1 insert, 2 delete, 3 update, 5 DDL, 6 start, 7 commit, 36 rollback. */
  readonly operationCode: number;
  readonly owner: string | null;
  readonly table: string | null;
  readonly sqlRedo: string;
  /** 1 when SQL_REDO continues in the next row of the same transaction. */
  readonly csf: boolean;
  /** 1 when the row undoes an earlier change of its transaction (a rollback to a savepoint). */
  readonly rollback: boolean;
  readonly thread: number;
  /** `ROW_ID`: the changed row's ROWID (DML only; LogMiner's placeholder `AAAAAAAAAAAAAAAAAA` otherwise). */
  readonly rowId: string | null;
  /** `TIMESTAMP` as `YYYY-MM-DD HH24:MI:SS` (the database's time zone). */
  readonly time: string | null;
}

function contentRow(r: ResultRow): ContentRow {
  return {
    scn: BigInt(String(r.SCN)),
    xid: String(r.XID),
    operationCode: Number(r.OPERATION_CODE),
    owner: r.SEG_OWNER === null || r.SEG_OWNER === undefined ? null : String(r.SEG_OWNER),
    table: r.TABLE_NAME === null || r.TABLE_NAME === undefined ? null : String(r.TABLE_NAME),
    sqlRedo: r.SQL_REDO === null || r.SQL_REDO === undefined ? '' : String(r.SQL_REDO),
    csf: Number(r.CSF) === 1,
    rollback: Number(r.ROLLBACK) === 1,
    thread: r['THREAD#'] === null || r['THREAD#'] === undefined ? 1 : Number(r['THREAD#']),
    rowId: r.ROW_ID === null || r.ROW_ID === undefined ? null : String(r.ROW_ID),
    time: r.TS === null || r.TS === undefined ? null : String(r.TS),
  };
}

interface LogFile {
  readonly name: string;
  readonly thread: number;
  readonly sequence: number;
  readonly first: bigint;
  readonly next: bigint | null;
}

function logFile(r: ResultRow): LogFile {
  const next = r['NEXT_CHANGE#'];
  return {
    name: String(r.NAME),
    thread: r['THREAD#'] === null || r['THREAD#'] === undefined ? 1 : Number(r['THREAD#']),
    sequence: Number(r['SEQUENCE#']),
    first: BigInt(String(r['FIRST_CHANGE#'])),
    next: next === null || next === undefined ? null : BigInt(String(next)),
  };
}

/**
 * The log files holding redo for SCNs `[start, end]`, of every redo thread (one per RAC instance;
 * LogMiner merges the threads' records in SCN order only when the logs of all threads are added):
 * archived copies first (V$ARCHIVED_LOG), online groups (V$LOG/V$LOGFILE) for sequences not archived
 * yet. Throws OffsetUnavailableError when a thread's logs no longer reach back to `start` (purged).
 */
export async function logsCovering(session: OracleSession, start: bigint, end: bigint): Promise<string[]> {
  const binds = { startScn: String(start), endScn: String(end) };
  const archived = (await session.execute(SQL.archivedLogs, binds)).rows.map(logFile);
  const online = (await session.execute(SQL.onlineLogs, binds)).rows.map(logFile);
  const byLog = new Map<string, LogFile>();
  for (const f of [...archived, ...online]) {
    const id = `${f.thread}/${f.sequence}`;
    if (!byLog.has(id)) byLog.set(id, f);
  }
  const files = [...byLog.values()].sort((a, b) => a.thread - b.thread || a.sequence - b.sequence);
  const threads = (await session.execute(SQL.redoThreads)).rows;
  if (files.length === 0) throw purged(start, 'none');
  for (const t of threads) {
    const thread = Number(t['THREAD#']);
    const first = files.find((f) => f.thread === thread);
    // A thread's sequence 1 is its first log ever: an instance added later has no older redo to miss.
    const bornAfter = (scn: bigint) => Number(t.FIRST_SEQUENCE) === 1 && BigInt(String(t.FIRST_SCN)) > scn;
    if (first === undefined) {
      if (!bornAfter(end)) throw purged(start, `nothing before SCN ${end} on redo thread ${thread}`);
    } else if (first.first > start && first.sequence > 1) {
      throw purged(start, `${first.first} on redo thread ${thread}`);
    }
  }
  return files.map((f) => f.name);
}

function purged(start: bigint, oldest: string): OffsetUnavailableError {
  return new OffsetUnavailableError(
    `oracle: no redo or archived log holds SCN ${start} any more (oldest available: ${oldest}). ` +
      'The archived logs were deleted before the pipeline read them: resume from a newer checkpoint or take a new snapshot, ' +
      'and keep archived logs longer (RMAN retention / archive deletion policy).',
  );
}

/**
 * Mines SCNs `[start, end]` (both inclusive, as DBMS_LOGMNR.START_LOGMNR's STARTSCN/ENDSCN) and
 * yields the rows in redo order, at most `batchRows` at a time: a window can hold any number of rows
 * (one bulk statement's changes can share an SCN), so it is never held whole. One LogMiner session per
 * window: ADD_LOGFILE, START_LOGMNR, read V$LOGMNR_CONTENTS, END_LOGMNR (DBMS_LOGMNR in Oracle Database
 * PL/SQL Packages and Types Reference), END_LOGMNR also when the caller stops early.
 * Per-PDB mining adds no log files (START_LOGMNR finds them); mining CDB$ROOT for one PDB keeps its rows only.
 */
export async function* mineWindow(
  session: OracleSession,
  start: bigint,
  end: bigint,
  scope: MiningScope = NON_CDB,
  batchRows = 4096,
): AsyncGenerator<ContentRow[]> {
  if (scope.addLogfiles) {
    const files = await logsCovering(session, start, end);
    for (let i = 0; i < files.length; i++) {
      await session.execute(i === 0 ? SQL.addFirstLogfile : SQL.addLogfile, { name: files[i] as string });
    }
  }
  await session.execute(SQL.startLogmnr, { startScn: String(start), endScn: String(end) });
  try {
    const contents =
      scope.sourcePdb === null
        ? session.stream(SQL.contents, {}, batchRows)
        : session.stream(SQL.contentsOfPdb, { pdb: scope.sourcePdb }, batchRows);
    for await (const rows of contents) yield rows.map(contentRow);
  } finally {
    await session.execute(SQL.endLogmnr);
  }
}
