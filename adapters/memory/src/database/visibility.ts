import type { Key, Row } from '@highwater/core';
import { SortedMap } from './sorted-map.js';
import { applyToRows, type StagedChange } from './staged-change.js';
import type { MemoryTable } from './table.js';

/** A commit that is in the log but not yet visible to readers. */
interface HeldCommit {
  readonly changes: readonly StagedChange[];
  readonly firstOffset: number;
  /** May become visible as soon as every earlier held commit has. */
  due: boolean;
}

/**
 * Commits that reached the log but are not yet visible — the window real databases have between
 * writing the commit record and publishing the transaction to new snapshots (DESIGN.md, "Watermark
 * safety").
 *
 * Held commits become visible strictly in log order: a later commit waits for every earlier one,
 * as conflicting transactions do in a real database (the later one waited on the earlier one's row
 * locks). Writers must see held commits — they are committed — so the gate keeps an overlay of their
 * rows for constraint checks; readers of the visible tables do not.
 */
export class VisibilityGate {
  private queue: HeldCommit[] = [];
  private overlay = new Map<MemoryTable, SortedMap<Row | null>>();

  /** Number of commits held back. */
  get size(): number {
    return this.queue.length;
  }

  /** Offset of the first change in the log that readers cannot see yet, or undefined when all are visible. */
  get firstHeldOffset(): number | undefined {
    return this.queue[0]?.firstOffset;
  }

  /** A held row as writers see it: the row, null if a held commit deleted it, undefined if no held commit touched it. */
  lookup(table: MemoryTable, key: Key): Row | null | undefined {
    return this.overlay.get(table)?.get(key);
  }

  /** Holds a commit back; `due` commits become visible once those before them have. Returns a handle for {@link VisibilityGate.markDue}. */
  hold(changes: readonly StagedChange[], firstOffset: number, due: boolean): HeldCommit {
    const commit: HeldCommit = { changes, firstOffset, due };
    this.queue.push(commit);
    this.addToOverlay(changes);
    return commit;
  }

  /** Lets a held commit become visible (a timer expired); publishes every due commit at the head of the queue. */
  markDue(commit: HeldCommit): void {
    commit.due = true;
    let n = 0;
    while (n < this.queue.length && (this.queue[n] as HeldCommit).due) n++;
    this.release(n);
  }

  /** Makes every held commit visible, in log order. */
  releaseAll(): void {
    this.release(this.queue.length);
  }

  private release(n: number): void {
    if (n === 0) return;
    const released = this.queue.splice(0, n);
    for (const commit of released) for (const change of commit.changes) applyToRows(change);
    // Rebuild the overlay from what is still held (rare path: only under an injected fault).
    this.overlay.clear();
    for (const commit of this.queue) this.addToOverlay(commit.changes);
  }

  private addToOverlay(changes: readonly StagedChange[]): void {
    for (const change of changes) {
      let rows = this.overlay.get(change.table);
      if (rows === undefined) {
        rows = new SortedMap();
        this.overlay.set(change.table, rows);
      }
      if (change.oldKey !== null) rows.set(change.oldKey, null);
      if (change.newKey !== null) rows.set(change.newKey, change.after);
    }
  }
}
