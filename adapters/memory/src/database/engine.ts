import type { Key, Row, TableSchema } from '@highwater/core';
import { ChangeLog } from './change-log.js';
import type { ConnectionInfo } from './connection.js';
import { MemoryDatabaseError } from './errors.js';
import { MemoryFaults } from './faults.js';
import { applyToRows, type StagedChange } from './staged-change.js';
import type { MemoryTable } from './table.js';
import { VisibilityGate } from './visibility.js';

/** Something the engine can drop when a fault asks for it: an open log connection. */
export interface Droppable {
  drop(afterItems: number): void;
}

/**
 * The database's shared state and its one commit path. Internal: `MemoryDatabase` is the public
 * face; transactions and connections work on the engine directly.
 */
export class Engine {
  readonly tables = new Map<string, MemoryTable>();
  readonly log = new ChangeLog();
  readonly gate = new VisibilityGate();
  readonly faults: MemoryFaults;
  /** Every open connection, in opening order. */
  readonly connections = new Set<ConnectionInfo>();
  readonly logConnections = new Set<Droppable>();
  /** Bumped by every commit and DDL: a transaction whose basis is older re-runs its operations. */
  commitCount = 0;
  acknowledged = 0;
  private txCount = 0;

  constructor(
    readonly clock: () => number,
    readonly random: () => number,
    /** Free log entries once a reader acknowledges them, as a replication slot lets WAL go. */
    readonly releaseAcknowledgedLog: boolean,
  ) {
    this.faults = new MemoryFaults({
      releaseHeldCommits: () => this.gate.releaseAll(),
      heldCommitCount: () => this.gate.size,
      dropLogConnections: (afterItems) => {
        for (const c of this.logConnections) c.drop(afterItems);
        return this.logConnections.size;
      },
    });
  }

  table(name: string): MemoryTable {
    const table = this.tables.get(name);
    if (table === undefined) throw new MemoryDatabaseError('no_such_table', `table ${name} does not exist`);
    return table;
  }

  /** The committed row under `key` (visible or still held), as writers see it. */
  committedRow(table: MemoryTable, key: Key): Row | undefined {
    if (this.gate.size > 0) {
      const held = this.gate.lookup(table, key);
      if (held !== undefined) return held ?? undefined;
    }
    return table.rows.get(key);
  }

  /**
   * Commits a transaction's changes: appends them to the log (consecutive offsets, one commit time,
   * one transaction id), then makes them visible — at once, or later under a visibility-lag fault.
   */
  commit(changes: readonly StagedChange[]): void {
    if (changes.length === 0) return;
    const txId = String(++this.txCount);
    const commitTime = this.log.commitTime(this.clock());
    const firstOffset = this.log.end + 1;
    let offset = firstOffset;
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i] as StagedChange;
      // One object literal shape for every row change keeps the log's items monomorphic.
      this.log.append({
        kind: 'change',
        offset: offset++,
        op: c.op,
        table: c.table.name,
        before: c.before,
        after: c.after,
        beforeImage: c.op === 'c' ? 'none' : 'full',
        commitTime,
        txId,
      });
    }
    this.commitCount++;
    this.publish(changes, firstOffset);
    this.log.notify();
  }

  /** Logs a schema change (schema null: dropped). DDL waits for held commits, as it waits for locks. */
  logSchemaChange(table: string, schema: TableSchema | null, ddl: string): number {
    const offset = this.log.end + 1;
    this.log.append({
      kind: 'schema',
      offset,
      table,
      schema,
      ddl,
      commitTime: this.log.commitTime(this.clock()),
    });
    this.commitCount++;
    this.log.notify();
    return offset;
  }

  logTruncate(table: string): number {
    const offset = this.log.end + 1;
    this.log.append({
      kind: 'truncate',
      offset,
      table,
      commitTime: this.log.commitTime(this.clock()),
      txId: String(++this.txCount),
    });
    this.commitCount++;
    this.log.notify();
    return offset;
  }

  /** The largest offset at or before which every logged change is visible to readers. */
  visibleThrough(): number {
    const held = this.gate.firstHeldOffset;
    return held === undefined ? this.log.end : held - 1;
  }

  private publish(changes: readonly StagedChange[], firstOffset: number): void {
    const lag = this.faults.visibilityLag;
    const queued = this.gate.size > 0;
    if (lag === null && !queued) {
      for (let i = 0; i < changes.length; i++) applyToRows(changes[i] as StagedChange);
      return;
    }
    if (lag?.holdCommits === true) {
      this.gate.hold(changes, firstOffset, false);
      return;
    }
    const delayMs = lag?.delayMs;
    if (delayMs === undefined || this.random() >= (lag?.probability ?? 1)) {
      // Not held itself, but visible only after the held commits before it.
      if (queued) this.gate.hold(changes, firstOffset, true);
      else for (let i = 0; i < changes.length; i++) applyToRows(changes[i] as StagedChange);
      return;
    }
    const held = this.gate.hold(changes, firstOffset, false);
    // unref: a pending release must not keep a test process alive.
    setTimeout(() => this.gate.markDue(held), delayMs).unref();
  }
}
