/**
 * The simulator's oplog: the ordered log every write lands in and every change stream reads
 * (https://www.mongodb.com/docs/manual/core/replica-set-oplog/). Entries of one transaction share one Timestamp and
 * are told apart by `txnOpIndex`. Truncation drops old entries; resuming from before the oldest kept point is then
 * ChangeStreamHistoryLost (286), as on a server whose oplog window has moved past the resume point.
 */
import type { Binary, Document, Timestamp } from 'bson';
import { compareTimestamps } from './clock.js';
import type { UpdateDescription } from './update.js';

interface EntryBase {
  readonly ts: Timestamp;
  readonly wall: Date;
  /** Position of the operation inside its transaction (0 for a lone write). */
  readonly txnOpIndex: number;
  /**
   * When a change stream may first see the entry (fault injection: the change-stream lag, and the visibility lag,
   * which holds it at +Infinity until its commit is released).
   */
  visibleAt: number;
  readonly db: string;
  readonly lsid?: Document;
  readonly txnNumber?: unknown;
}

export interface DocumentEntry extends EntryBase {
  readonly op: 'insert' | 'update' | 'replace' | 'delete';
  readonly coll: string;
  readonly uuid: Binary;
  readonly key: unknown;
  /** The document before the write (undefined for inserts). */
  readonly before?: Document;
  /** The document after the write (undefined for deletes). */
  readonly after?: Document;
  readonly description?: UpdateDescription;
  /** Whether the collection recorded pre- and post-images at the time of the write. */
  readonly imagesRecorded: boolean;
}

export interface CommandEntry extends EntryBase {
  readonly op: 'create' | 'drop' | 'rename' | 'dropDatabase' | 'modify' | 'noop';
  readonly coll?: string;
  readonly uuid?: Binary;
  readonly to?: { readonly db: string; readonly coll: string };
  readonly detail?: Document;
}

export type OplogEntry = DocumentEntry | CommandEntry;

/** A position in the log: after every entry ordered at or before (ts, txnOpIndex). */
export interface LogPosition {
  readonly ts: Timestamp;
  readonly txnOpIndex: number;
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return compareTimestamps(a.ts, b.ts) || Math.sign(a.txnOpIndex - b.txnOpIndex);
}

export class Oplog {
  private entries: OplogEntry[] = [];
  private readonly listeners = new Set<() => void>();
  /** Nothing before this time is in the log any more. */
  earliest: Timestamp;

  constructor(start: Timestamp) {
    this.earliest = start;
  }

  get length(): number {
    return this.entries.length;
  }

  all(): readonly OplogEntry[] {
    return this.entries;
  }

  append(entries: readonly OplogEntry[]): void {
    this.entries.push(...entries);
    for (const listener of [...this.listeners]) listener();
  }

  /** Index of the first entry strictly after `position`. */
  indexAfter(position: LogPosition): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePositions(this.entries[mid] as OplogEntry, position) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  at(index: number): OplogEntry | undefined {
    return this.entries[index];
  }

  /** Drops every entry before `ts`; resume points before it are lost from then on. */
  truncateBefore(ts: Timestamp): void {
    this.entries = this.entries.filter((entry) => compareTimestamps(entry.ts, ts) >= 0);
    if (compareTimestamps(ts, this.earliest) > 0) this.earliest = ts;
  }

  /** Resolves on the next append, or after `ms`. */
  waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.listeners.add(done);
    });
  }

  /** Wakes every waiter (used on shutdown). */
  wakeAll(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
