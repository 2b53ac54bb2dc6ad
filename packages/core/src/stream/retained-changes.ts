import type { ChunkChange } from '../snapshot/chunk-merge.js';
import type { Key } from '../values/value.js';

/**
 * Changes of one table that a chunk may still need: those on keys whose chunk has not finished,
 * kept in log order from just after the retention floor (see {@link RetentionFloor}). A chunk
 * opening with low watermark `lw` takes every retained change after `lw`, including ones the
 * log reader saw before the chunk opened — the guard window DESIGN.md asks for.
 */
export class RetainedChanges<O> {
  private items: ChunkChange<O>[] = [];
  /** The chunk keys of each change (before and after; null where it has none), computed once when routed. */
  private oldKeys: (Key | null)[] = [];
  private newKeys: (Key | null)[] = [];
  private head = 0;

  constructor(private readonly compare: (a: O, b: O) => number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(change: ChunkChange<O>, oldKey: Key | null = null, newKey: Key | null = null): void {
    this.items.push(change);
    this.oldKeys.push(oldKey);
    this.newKeys.push(newKey);
  }

  /** Drops every change at or before `floor`. */
  trimThrough(floor: O): void {
    const { items, compare } = this;
    let h = this.head;
    while (h < items.length && compare((items[h] as ChunkChange<O>).offset, floor) <= 0) h++;
    this.head = h;
    // Compact once the dead prefix dominates, so trimming stays amortised O(1) per change.
    if (h > 1024 && h * 2 > items.length) {
      this.items = items.slice(h);
      this.oldKeys = this.oldKeys.slice(h);
      this.newKeys = this.newKeys.slice(h);
      this.head = 0;
    }
  }

  /**
   * Calls `f` with each retained change strictly after `lw`, in log order, and its chunk keys
   * (as given to {@link push}).
   */
  forEachAfter(lw: O, f: (change: ChunkChange<O>, oldKey: Key | null, newKey: Key | null) => void): void {
    const { items, oldKeys, newKeys } = this;
    const end = items.length;
    for (let i = this.firstAfter(lw); i < end; i++) {
      f(items[i] as ChunkChange<O>, oldKeys[i] as Key | null, newKeys[i] as Key | null);
    }
  }

  private firstAfter(lw: O): number {
    const { items, compare } = this;
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare((items[mid] as ChunkChange<O>).offset, lw) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
