import {
  AdapterError,
  type LogItem,
  type LogReader,
  MissingKeyError,
  type Row,
  type RowChange,
  type TableSchema,
  TableNotFoundError,
  tableName,
} from '@highwater/core';
import { type DescribeOptions, describeTable, oracleColumnsOf } from './catalog.js';
import { toHighwaterError } from './errors.js';
import { type MiningScope, NON_CDB } from './logminer/container.js';
import { type ContentRow, mineWindow } from './logminer/mining-window.js';
import { WrittenRedo } from './logminer/written-redo.js';
import {
  type BufferedChange,
  OpenTransactions,
  type TransactionBuffer,
  tempSpill,
} from './logminer/transaction-buffer.js';
import { compareOracleOffsets, isDelivered, type OracleOffset, watermarkAt } from './offsets/oracle-offset.js';
import { decodeRedo } from './redo/redo-scanner.js';
import { RedoRowDecoder, UnknownColumnError } from './redo/redo-values.js';
import type { OracleSession } from './session/session.js';
import { SQL } from './sql/statements.js';
import { ROWID } from './types/oracle-column.js';

/** How the reader sizes its SCN windows and how often it polls when caught up. */
export interface MiningOptions {
  /** First window, in SCNs (default 10 000). */
  readonly windowScns: number;
  /** Bounds of the adaptive window (default 100 and 1 000 000). */
  readonly minWindowScns: number;
  readonly maxWindowScns: number;
  /** Rows a window should return: more halves the window, under a quarter of it doubles it (default 20 000). */
  readonly targetRowsPerWindow: number;
  /** Pause between polls once caught up with CURRENT_SCN (default 500 ms). */
  readonly pollMs: number;
  /** SQL_REDO characters one open transaction may hold in memory before it spills to disk (default 16 M). */
  readonly spillThresholdChars: number;
  /** Where spill files go (default the system temp directory; a fresh subdirectory per reader). */
  readonly spillDirectory?: string;
  /** V$LOGMNR_CONTENTS rows fetched and held at once (default 4096): a window is read in such batches. */
  readonly fetchRows: number;
  /**
   * How long after an SCN was current every redo thread has surely written its redo up to it (default
   * 5000 ms: LGWR writes at least every 3 s). Windows end no later than that SCN or the last redo
   * each thread wrote (`WrittenRedo`); lower it only where LGWR is known to write sooner.
   */
  readonly redoFlushMs: number;
}

export const DEFAULT_MINING: MiningOptions = {
  windowScns: 10_000,
  minWindowScns: 100,
  maxWindowScns: 1_000_000,
  targetRowsPerWindow: 20_000,
  pollMs: 500,
  spillThresholdChars: 16_000_000,
  redoFlushMs: 5000,
  fetchRows: 4096,
};

/** Items per yielded batch while a large transaction is emitted. */
const BATCH = 1024;

interface CapturedTable {
  schema: TableSchema;
  decoder: RedoRowDecoder;
  /** Has the ROWID pseudo-column (`rowidKeys`): its rows get ROW_ID as their `ROWID` column. */
  rowidColumn: boolean;
  /** ROWID is its chunk key too (no `chunkKeys` entry replaced it): events are keyed by it. */
  rowidKeyed: boolean;
}

const key = (owner: string, table: string) => `${owner}\u0000${table}`;

/** A DDL row that empties a table (operation code 5 with a TRUNCATE statement). */
const TRUNCATE = /^\s*truncate\s+table\b/i;

/**
 * DDL that gives a table's rows new ROWIDs without logging them as row changes (Oracle Database
 * Concepts, "Rowid Format": a rowid can change with table moves, shrinks, Flashback Table and
 * partition maintenance): `ALTER TABLE … MOVE`, `SHRINK SPACE`, partition `MOVE`/`SPLIT`/`MERGE`/
 * `EXCHANGE`/`COALESCE`, `FLASHBACK TABLE`.
 */
const MOVES_ROWS =
  /^\s*(?:alter\s+table\b.*\b(?:move|shrink\s+space|split\s+(?:sub)?partition|merge\s+(?:sub)?partitions|exchange\s+(?:sub)?partition|coalesce\s+(?:sub)?partition)\b|flashback\s+table\b)/is;

/** ROW_ID of a row LogMiner does not know the address of (e.g. an insert whose LOB follows separately). */
const NO_ROWID = 'AAAAAAAAAAAAAAAAAA';

/**
 * The LogMiner reader: SCN windows mined one LogMiner session at a time, rows buffered per
 * transaction here (not COMMITTED_DATA_ONLY), each transaction emitted at its COMMIT in commit
 * order, dropped at ROLLBACK. Offsets: see `OracleOffset`.
 */
export class OracleLogReader implements LogReader<OracleOffset> {
  private readonly tables = new Map<string, CapturedTable>();
  private readonly spill: ReturnType<typeof tempSpill>;
  private readonly open: OpenTransactions;
  /** Transactions continuing SQL_REDO over several rows (CSF = 1): the text so far. */
  private readonly continued = new Map<string, { row: ContentRow; text: string }>();
  private window: number;
  private minedThrough: bigint;
  private lastCommit: { scn: bigint; seq: number } | null = null;
  /** Per redo thread, its last commit mined (every commit counts, captured or not): `OracleOffset.threads`. */
  private readonly threadCommits = new Map<number, { scn: bigint; seq: number }>();
  private closed = false;
  private wake: (() => void) | null = null;
  private lagScns = 0;
  /** Where emission stands: the offset of the last item yielded (`from` before any). */
  private emitted: OracleOffset;
  /** Tables `addTables` asked for, applied at the reader's next internal restart. */
  private added: TableSchema[] | null = null;
  /** Where a window may end: redo every open thread has written to its online log. */
  private readonly written: WrittenRedo;

  /**
   * `session` mines; `catalog` reads table definitions — the same session except when mining runs in
   * CDB$ROOT for tables of a pluggable database (`scope.sourcePdb`), where `catalog` is in that PDB.
   */
  constructor(
    private readonly session: OracleSession,
    private from: OracleOffset,
    tables: readonly TableSchema[],
    private readonly options: MiningOptions,
    private readonly describe: DescribeOptions = {},
    private readonly scope: MiningScope = NON_CDB,
    private readonly catalog: OracleSession = session,
  ) {
    for (const t of tables) this.track(t);
    this.spill = tempSpill(options.spillThresholdChars, options.spillDirectory);
    this.open = new OpenTransactions(this.spill);
    this.window = options.windowScns;
    this.written = new WrittenRedo(options.redoFlushMs);
    this.minedThrough = BigInt(from.restartScn) - 1n;
    this.emitted = from;
  }

  /**
   * Starts capturing more tables. Their changes may already sit in transactions open now, which the
   * reader did not buffer (it keeps captured tables only), so it restarts itself where its emission
   * stands: it drops its open transactions and mines again from that position's restart SCN (the
   * start of the oldest transaction then open) with the new tables, emitting only what lies after
   * the last item it yielded — as a resume from a checkpoint would.
   */
  async addTables(tables: readonly TableSchema[]): Promise<void> {
    this.added = [...(this.added ?? []), ...tables];
    this.wake?.();
  }

  /** Applies `addTables`: the internal restart at the last yielded position. */
  private restartWithAddedTables(): void {
    for (const t of this.added ?? []) this.track(t);
    this.added = null;
    this.from = this.emitted;
    this.minedThrough = BigInt(this.emitted.restartScn) - 1n;
    this.open.discardAll();
    this.continued.clear();
    this.lastCommit = null;
    this.threadCommits.clear();
  }

  /** Records what the consumer is about to receive. */
  private noteYield(batch: readonly LogItem<OracleOffset>[]): readonly LogItem<OracleOffset>[] {
    const last = batch[batch.length - 1];
    if (last !== undefined) this.emitted = last.offset;
    return batch;
  }

  private track(schema: TableSchema): void {
    this.tables.set(key(schema.id.schema ?? '', schema.id.name), {
      schema,
      decoder: new RedoRowDecoder(oracleColumnsOf(schema).filter((c) => c.name !== ROWID || c.dataType !== 'ROWID')),
      rowidColumn: schema.columns.some((c) => c.name === ROWID && c.nativeType === 'ROWID'),
      rowidKeyed: schema.chunkKey.length === 1 && schema.chunkKey[0] === ROWID && schema.primaryKey.length === 0,
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<OracleOffset>[]> {
    try {
      while (!this.closed) {
        if (this.added !== null) this.restartWithAddedTables();
        const current = BigInt(String((await this.session.execute(SQL.currentScn)).rows[0]?.CURRENT_SCN));
        this.lagScns = Number(current - this.minedThrough);
        // Not past what every redo thread has written: a commit still in a log buffer would be missed.
        const written = await this.written.bound(this.session, current);
        if (written <= this.minedThrough) {
          const progress = this.progress();
          if (progress !== null) yield this.noteYield([progress]);
          if (this.added === null) await this.pause();
          continue;
        }
        const start = this.minedThrough + 1n;
        const limit = this.minedThrough + BigInt(this.window);
        const end = written < limit ? written : limit;
        let mined = 0;
        for await (const rows of mineWindow(this.session, start, end, this.scope, this.options.fetchRows)) {
          if (this.closed) return;
          mined += rows.length;
          for await (const batch of this.process(rows)) {
            if (this.closed) return;
            yield this.noteYield(batch);
            // Tables were added: the rest of this window is mined again with them (restartWithAddedTables).
            if (this.added !== null) break;
          }
          if (this.added !== null) break;
        }
        if (this.closed) return;
        if (this.added !== null) continue;
        this.minedThrough = end;
        this.adapt(mined);
        const progress = this.progress();
        if (progress !== null) yield this.noteYield([progress]);
      }
    } catch (error) {
      if (this.closed) return;
      throw toHighwaterError(error, 'mine');
    }
  }

  private adapt(rows: number): void {
    const o = this.options;
    if (rows > o.targetRowsPerWindow) this.window = Math.max(o.minWindowScns, Math.floor(this.window / 2));
    else if (rows < o.targetRowsPerWindow / 4) this.window = Math.min(o.maxWindowScns, this.window * 2);
  }

  /** Everything committed through `minedThrough` is delivered: a progress item there, unless it is before `from`. */
  private progress(): LogItem<OracleOffset> | null {
    const oldest = this.open.oldestStart();
    const next = this.minedThrough + 1n;
    const offset = watermarkAt(this.minedThrough, oldest !== null && oldest < next ? oldest : next);
    return compareOracleOffsets(offset, this.from) >= 0 ? { kind: 'progress', offset } : null;
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, this.options.pollMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The window's rows as items, in batches of at most BATCH (a large transaction does not become one array). */
  private async *process(rows: readonly ContentRow[]): AsyncGenerator<LogItem<OracleOffset>[]> {
    let items: LogItem<OracleOffset>[] = [];
    for (let row of rows) {
      // CSF: SQL_REDO longer than one row continues in the next row(s) of the transaction.
      const pending = this.continued.get(row.xid);
      if (pending !== undefined) {
        row = { ...pending.row, sqlRedo: pending.text + row.sqlRedo, csf: row.csf };
        this.continued.delete(row.xid);
      }
      if (row.csf) {
        this.continued.set(row.xid, { row, text: row.sqlRedo });
        continue;
      }
      switch (row.operationCode) {
        case 6:
          this.open.open(row.xid, row.scn);
          break;
        case 1:
        case 2:
        case 3:
        case 5:
          this.buffer(row);
          break;
        case 7:
          for await (const item of this.commit(row)) {
            items.push(item);
            if (items.length >= BATCH) {
              yield items;
              items = [];
            }
          }
          break;
        case 36:
          this.open.close(row.xid)?.discard();
          break;
      }
    }
    if (items.length > 0) yield items;
  }

  private buffer(row: ContentRow): void {
    if (row.owner === null || row.table === null || !this.tables.has(key(row.owner, row.table))) return;
    const tx = this.open.open(row.xid, row.scn);
    const change: BufferedChange = {
      operationCode: row.operationCode,
      owner: row.owner,
      table: row.table,
      sqlRedo: row.sqlRedo,
      ...(row.rowId !== null && row.operationCode !== 5 ? { rowId: row.rowId } : {}),
    };
    if (row.rollback) tx.undo(change);
    else tx.add(change);
  }

  private async *commit(row: ContentRow): AsyncGenerator<LogItem<OracleOffset>> {
    const seq = this.lastCommit !== null && this.lastCommit.scn === row.scn ? this.lastCommit.seq + 1 : 0;
    this.lastCommit = { scn: row.scn, seq };
    const previous = this.threadCommits.get(row.thread);
    const threadSeq = previous !== undefined && previous.scn === row.scn ? previous.seq + 1 : 0;
    this.threadCommits.set(row.thread, { scn: row.scn, seq: threadSeq });
    const oldest = this.open.oldestStart();
    const tx = this.open.close(row.xid);
    if (tx === undefined) return;
    try {
      const restart = oldest !== null && oldest < row.scn ? oldest : row.scn;
      const commitTime = row.time === null ? null : Date.parse(`${row.time.replace(' ', 'T')}Z`);
      const threads: Record<string, { commitScn: string; txSeq: number }> = {};
      for (const [t, p] of this.threadCommits) threads[String(t)] = { commitScn: String(p.scn), txSeq: p.seq };
      const at = { commitScn: String(row.scn), txSeq: seq, restartScn: String(restart), thread: row.thread, threads };
      yield* this.emit(tx, at, threadSeq, commitTime);
    } finally {
      tx.discard();
    }
  }

  private async *emit(
    tx: TransactionBuffer,
    at: Omit<OracleOffset, 'index'>,
    threadSeq: number,
    commitTime: number | null,
  ): AsyncGenerator<LogItem<OracleOffset>> {
    let index = -1;
    for await (const change of tx.changes()) {
      index++;
      const offset: OracleOffset = {
        commitScn: at.commitScn,
        txSeq: at.txSeq,
        index,
        restartScn: at.restartScn,
        thread: at.thread,
        threads: at.threads,
      };
      if (isDelivered(this.from, at.thread, at.commitScn, threadSeq, index)) {
        // Already delivered before a restart; a DDL's new definition still applies to what follows.
        if (change.operationCode === 5) await this.redescribe(change.owner, change.table);
        continue;
      }
      if (change.operationCode === 5 && TRUNCATE.test(change.sqlRedo)) {
        yield {
          kind: 'truncate',
          offset,
          table: tableName({ schema: change.owner, name: change.table }),
          commitTime,
          txId: tx.xid,
        };
        continue;
      }
      if (change.operationCode === 5) {
        this.refuseRowMove(change);
        const schema = await this.redescribe(change.owner, change.table);
        yield {
          kind: 'schema',
          offset,
          table: tableName({ schema: change.owner, name: change.table }),
          schema,
          ddl: change.sqlRedo,
          commitTime,
        };
        continue;
      }
      yield await this.rowChange(change, offset, commitTime, tx.xid);
    }
  }

  /** The table's definition now (the online catalog): rows logged after a DDL decode with it. */
  private async redescribe(owner: string, table: string): Promise<TableSchema | null> {
    try {
      const schema = await describeTable(this.catalog, { schema: owner, name: table }, this.describe);
      this.track(schema);
      return schema;
    } catch (error) {
      if (error instanceof TableNotFoundError) return null;
      throw error;
    }
  }

  /** A DDL that moves a ROWID-keyed table's rows: every later event would carry keys the target never saw. */
  private refuseRowMove(change: BufferedChange): void {
    const captured = this.tables.get(key(change.owner, change.table));
    if (captured === undefined || !captured.rowidKeyed || !MOVES_ROWS.test(change.sqlRedo)) return;
    const name = tableName({ schema: change.owner, name: change.table });
    throw new MissingKeyError(
      name,
      `oracle: ${name} is keyed by ROWID (rowidKeys), and "${change.sqlRedo.trim().slice(0, 120)}" gave its rows new ROWIDs: ` +
        'changes after it cannot be matched to the rows already delivered. Take a new snapshot of the table ' +
        '(restart the pipeline with startup: snapshot), or give it a primary key or a chunkKeys entry; ' +
        'do not move, shrink or flashback a ROWID-keyed table while it is captured.',
    );
  }

  private async rowChange(
    change: BufferedChange,
    offset: OracleOffset,
    commitTime: number | null,
    xid: string,
  ): Promise<RowChange<OracleOffset>> {
    let captured = this.tables.get(key(change.owner, change.table)) as CapturedTable;
    let statement: ReturnType<typeof decodeRedo>;
    try {
      statement = decodeRedo(change.sqlRedo, captured.decoder);
    } catch (error) {
      if (!(error instanceof UnknownColumnError)) throw error;
      // A column added by a DDL this reader has not seen (it started after it): read the definition again.
      await this.redescribe(change.owner, change.table);
      captured = this.tables.get(key(change.owner, change.table)) as CapturedTable;
      statement = decodeRedo(change.sqlRedo, captured.decoder);
    }
    const columns = captured.schema.columns.map((c) => c.name);
    const table = tableName(captured.schema.id);
    const { before, values, unlogged } = statement;
    if (captured.rowidColumn) {
      // SQL_REDO names no ROWID (NO_ROWID_IN_STMT); V$LOGMNR_CONTENTS.ROW_ID is the row's address.
      const known = change.rowId !== undefined && change.rowId !== NO_ROWID;
      const rowId = known ? (change.rowId as string) : null;
      if (rowId === null && captured.rowidKeyed) {
        throw new AdapterError(
          `oracle: LogMiner gave no ROW_ID for a change to ${table} at SCN ${offset.commitScn}, which is keyed by ROWID (rowidKeys): ` +
            'its event would have no key. Give the table a primary key or a chunkKeys entry.',
        );
      }
      if (before !== null) before[ROWID] = rowId;
      if (statement.op !== 'delete') values[ROWID] = rowId;
    }
    if (statement.op === 'insert') {
      // Columns an INSERT's SQL_REDO leaves out are NULL; LOBs written separately are listed as unchanged.
      const after = captured.decoder.complete(values);
      if (captured.rowidColumn) after[ROWID] = values[ROWID] ?? null;
      const unchanged = unlogged.length > 0 ? unlogged : undefined;
      return {
        kind: 'change',
        op: 'c',
        offset,
        table,
        before: null,
        after: withoutColumns(after, unchanged),
        beforeImage: 'none',
        ...(unchanged ? { unchanged } : {}),
        commitTime,
        txId: xid,
      };
    }
    const fullBefore = before !== null && columns.every((c) => c in before || unlogged.includes(c));
    const beforeImage = fullBefore ? 'full' : 'key';
    if (statement.op === 'delete') {
      return {
        kind: 'change',
        op: 'd',
        offset,
        table,
        before: before ?? {},
        after: null,
        beforeImage,
        commitTime,
        txId: xid,
      };
    }
    const merged: Record<string, unknown> = { ...(before ?? {}), ...values };
    const unchanged = columns.filter((c) => !(c in merged));
    const after = merged as Row;
    return {
      kind: 'change',
      op: 'u',
      offset,
      table,
      before: before ?? {},
      after,
      beforeImage,
      ...(unchanged.length > 0 ? { unchanged } : {}),
      commitTime,
      txId: xid,
    };
  }

  async acknowledge(): Promise<void> {
    // LogMiner reads archived logs; freeing them is the DBA's retention policy, not the reader's.
  }

  metrics(): Readonly<Record<string, number>> {
    const held = this.open.held();
    return {
      windowScns: this.window,
      openTransactions: this.open.size,
      bufferedChanges: held.changes,
      bufferedRedoChars: held.chars,
      spilledChanges: held.spilled,
      scnLag: this.lagScns,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.open.discardAll();
    this.spill.remove();
    await this.session.close();
    if (this.catalog !== this.session) await this.catalog.close();
  }
}

function withoutColumns(row: Row, columns: readonly string[] | undefined): Row {
  if (columns === undefined) return row;
  const out: Record<string, unknown> = { ...row };
  for (const c of columns) delete out[c];
  return out as Row;
}
