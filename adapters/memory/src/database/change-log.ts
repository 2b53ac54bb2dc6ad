import type { RowChange, SchemaChange, TableTruncate } from '@highwater/core';

/** What the log stores: the log items themselves, built once at commit and shared with every reader. */
export type LogEntry = RowChange<number> | SchemaChange<number> | TableTruncate<number>;

/**
 * The database's change log: every committed row change, schema change and truncate, in commit
 * order, each with its offset — a strictly increasing integer, one per entry, starting at 1.
 *
 * Entries are kept in a plain array, so reading a batch is an array slice. Truncation only moves
 * `head` and compacts the array once the dead prefix is as long as the rest, so freeing the log a
 * little at a time (after each acknowledgement) costs O(1) amortised. Commit times never decrease
 * (the clock is clamped), so a time lookup is a binary search.
 */
export class ChangeLog {
  private entries: LogEntry[] = [];
  /** Index of the oldest entry kept; entries before it are dead, waiting for compaction. */
  private head = 0;
  /** The offset just before `entries[head]`: everything at or below it was truncated away. */
  private base = 0;
  private lastCommitTime = Number.NEGATIVE_INFINITY;
  private lastTruncatedTime = Number.NEGATIVE_INFINITY;
  private waiters = new Set<() => void>();

  /** The last offset in the log; 0 when nothing was ever logged. */
  get end(): number {
    return this.base + this.entries.length - this.head;
  }

  /** The offset just before the oldest entry kept: a reader starting after it sees the whole remaining log. */
  get start(): number {
    return this.base;
  }

  /** A commit time for a commit happening at `now`: never earlier than the previous one. */
  commitTime(now: number): number {
    if (now > this.lastCommitTime) this.lastCommitTime = now;
    return this.lastCommitTime;
  }

  /** Appends one entry; its `offset` must be `end + 1`. Call {@link ChangeLog.notify} once the commit is complete. */
  append(entry: LogEntry): void {
    this.entries.push(entry);
  }

  /** Wakes every reader waiting for new entries (once per commit, not per entry). */
  notify(): void {
    if (this.waiters.size === 0) return;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Calls `wake` once after the next commit. */
  onNextAppend(wake: () => void): void {
    this.waiters.add(wake);
  }

  /** Forgets a `wake` registered with {@link ChangeLog.onNextAppend} (a reader closing while it waits). */
  cancelWait(wake: () => void): void {
    this.waiters.delete(wake);
  }

  /**
   * Up to `max` entries with offsets after `after`, in order (a fresh array). The caller checks
   * `after >= start` first: entries at or below `start` are gone.
   */
  read(after: number, max: number): LogEntry[] {
    const from = after - this.base + this.head;
    return this.entries.slice(from, from + max);
  }

  /** The entry at `offset`, if the log has it. */
  entryAt(offset: number): LogEntry | undefined {
    return offset > this.base ? this.entries[offset - this.base - 1 + this.head] : undefined;
  }

  /** Removes every entry with an offset below `offset` (like a purged binlog or recycled WAL). */
  truncateBefore(offset: number): void {
    const k = Math.min(offset - 1 - this.base, this.entries.length - this.head);
    if (k <= 0) return;
    this.head += k;
    this.base += k;
    this.lastTruncatedTime = (this.entries[this.head - 1] as LogEntry).commitTime as number;
    if (this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The offset just before the first entry committed at or after `time` (ms), so a reader starting
   * after it sees exactly the entries from that time on; the log end when there is none. `undefined`
   * when such entries existed but were truncated away.
   */
  offsetBeforeTime(time: number): number | undefined {
    const entries = this.entries;
    let lo = this.head;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((entries[mid] as LogEntry).commitTime as number) < time) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.head && this.lastTruncatedTime >= time) return undefined;
    return this.base + lo - this.head;
  }
}
