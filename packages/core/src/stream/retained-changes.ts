import type { ChunkChange } from '../snapshot/chunk-merge.js';

/**
 * Changes of one table that a chunk may still need: those on keys whose chunk has not finished,
 * kept in log order from just after the retention floor (see {@link RetentionFloor}). A chunk
 * opening with low watermark `lw` takes every retained change after `lw`, including ones the
 * log reader saw before the chunk opened — the guard window DESIGN.md asks for.
 */
export class RetainedChanges<O> {
  private items: ChunkChange<O>[] = [];
  private head = 0;

  constructor(private readonly compare: (a: O, b: O) => number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(change: ChunkChange<O>): void {
    this.items.push(change);
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
      this.head = 0;
    }
  }

  /** The retained changes strictly after `lw`, in log order. */
  *after(lw: O): Generator<ChunkChange<O>> {
    const { items, compare } = this;
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare((items[mid] as ChunkChange<O>).offset, lw) <= 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < items.length; i++) yield items[i] as ChunkChange<O>;
  }
}
