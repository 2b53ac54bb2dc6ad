import type { Key, Row } from '@highwater/core';
import type { LogEntry } from './change-log.js';
import type { Droppable, Engine } from './engine.js';
import { MemoryDatabaseError } from './errors.js';

/** What a connection is for; reported by `db.openConnections()`. */
export type ConnectionKind = 'introspector' | 'chunk-reader' | 'log-reader';

/** An open connection, as `db.openConnections()` lists it. */
export interface ConnectionInfo {
  readonly id: number;
  readonly kind: ConnectionKind;
}

/**
 * A session with the memory database — what a driver's client object is to a real database. The
 * database tracks every open one (so tests can check that a source closed all it opened), and
 * injected faults act on them.
 */
export class MemoryConnection implements ConnectionInfo, Droppable {
  private state: 'open' | 'closed' | 'lost' = 'open';
  /** Log entries still to deliver before an injected drop; -1 when no drop is pending. */
  private dropAfter = -1;
  private wake: (() => void) | null = null;

  constructor(
    private readonly engine: Engine,
    readonly id: number,
    readonly kind: ConnectionKind,
  ) {
    engine.connections.add(this);
    if (kind === 'log-reader') engine.logConnections.add(this);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Closes the connection; idempotent. A reader waiting in `waitForLog` wakes up. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.engine.connections.delete(this);
    this.engine.logConnections.delete(this);
    this.wakeUp();
  }

  /** Throws if the connection was closed or dropped. */
  assertUsable(): void {
    if (this.state === 'open') return;
    if (this.state === 'closed') throw new MemoryDatabaseError('connection_closed', `connection ${this.id} is closed`);
    throw new MemoryDatabaseError('connection_lost', `connection ${this.id} was lost (injected fault)`);
  }

  /**
   * The visible rows of a table with keys in `[start, end)` (null: unbounded), in key order, in
   * batches of up to `batchSize`. No lock and no snapshot: each batch reads the rows as they are
   * when it is taken, and the next batch resumes after the last key returned, so writes in between
   * are seen or not, as under READ COMMITTED with a cursor.
   */
  *scan(name: string, start: Key | null, end: Key | null, batchSize: number): Generator<Row[], void, undefined> {
    this.assertUsable();
    const table = this.engine.table(name);
    const failAfter = this.engine.faults.takeChunkReadFailure();
    let from = start;
    let inclusive = true;
    for (let batches = 0; ; batches++) {
      if (failAfter !== undefined && batches >= failAfter) throw this.lostInScan();
      this.assertUsable();
      if (this.engine.tables.get(name) !== table) {
        throw new MemoryDatabaseError('no_such_table', `table ${name} was dropped during the read`);
      }
      const rows: Row[] = [];
      const last = table.rows.collect(from, inclusive, end, batchSize, rows);
      if (rows.length > 0) yield rows;
      if (rows.length < batchSize) {
        // An armed failure fires where the read would have finished, so it always fails.
        if (failAfter !== undefined) throw this.lostInScan();
        return;
      }
      from = last;
      inclusive = false;
    }
  }

  /**
   * Up to `max` log entries after offset `after`, in log order (empty when caught up).
   * @throws MemoryDatabaseError `log_position_gone` when entries after `after` were truncated away
   */
  readLog(after: number, max: number): LogEntry[] {
    this.assertUsable();
    const log = this.engine.log;
    if (after < log.start) {
      throw new MemoryDatabaseError(
        'log_position_gone',
        `the log no longer has the entries after offset ${after}: the oldest entry kept is offset ${log.start + 1}`,
      );
    }
    if (this.dropAfter === 0) {
      this.state = 'lost';
      this.assertUsable();
    }
    const entries = log.read(after, this.dropAfter > 0 ? Math.min(max, this.dropAfter) : max);
    if (this.dropAfter > 0) this.dropAfter -= entries.length;
    return entries;
  }

  /**
   * Resolves once the log has an entry after `after`, or the connection is closed or dropped (the
   * caller checks which). One promise per wait, resolved by the next commit: no polling.
   */
  waitForLog(after: number): Promise<void> {
    if (this.state !== 'open' || this.dropAfter === 0 || this.engine.log.end > after) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.engine.log.onNextAppend(resolve);
    });
  }

  /** Records that everything up to `offset` is stored downstream (a replication slot's flush position). */
  acknowledge(offset: number): void {
    this.assertUsable();
    if (offset <= this.engine.acknowledged) return;
    this.engine.acknowledged = offset;
    if (this.engine.releaseAcknowledgedLog) this.engine.log.truncateBefore(offset + 1);
  }

  /** Injected fault: fail after `afterItems` more log entries. */
  drop(afterItems: number): void {
    if (this.state !== 'open') return;
    this.dropAfter = afterItems;
    if (afterItems === 0) {
      this.state = 'lost';
      this.wakeUp();
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    if (wake === null) return;
    this.wake = null;
    this.engine.log.cancelWait(wake);
    wake();
  }

  private lostInScan(): MemoryDatabaseError {
    return new MemoryDatabaseError('connection_lost', `connection ${this.id} was lost during a read (injected fault)`);
  }
}
