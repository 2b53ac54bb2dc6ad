import type { Key } from '@highwater/core';
import { compareKeys } from './compare.js';

/** Entries per block. Small enough that an insert's `splice` is a short memmove, large enough that the block index stays tiny. */
const MAX_BLOCK = 512;

interface Block<V> {
  keys: Key[];
  values: V[];
}

/**
 * A map from keys to values, kept in key order ({@link compareKeys}).
 *
 * Entries live in a list of sorted blocks of at most {@link MAX_BLOCK} entries: a lookup is a binary
 * search over the blocks' last keys and then inside one block, an insert shifts at most one block,
 * and appending ascending keys (the usual load) never splits a block. Range reads resume *by key*,
 * so a reader that pauses between batches stays correct while writers change the map.
 */
export class SortedMap<V> {
  private blocks: Block<V>[] = [];
  private count = 0;
  // Result of the last `locate`, kept in fields so lookups allocate nothing.
  private atBlock = 0;
  private atIndex = 0;

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  get(key: Key): V | undefined {
    if (!this.locate(key, false) || compareKeys(this.keyAtCursor(), key) !== 0) return undefined;
    return (this.blocks[this.atBlock] as Block<V>).values[this.atIndex];
  }

  has(key: Key): boolean {
    return this.locate(key, false) && compareKeys(this.keyAtCursor(), key) === 0;
  }

  /** Inserts or replaces the entry for `key`. */
  set(key: Key, value: V): void {
    const blocks = this.blocks;
    if (blocks.length === 0) {
      blocks.push({ keys: [key], values: [value] });
      this.count = 1;
      return;
    }
    if (!this.locate(key, false)) {
      // Past the last key: append to the last block.
      this.atBlock = blocks.length - 1;
      this.atIndex = (blocks[this.atBlock] as Block<V>).keys.length;
    } else if (compareKeys(this.keyAtCursor(), key) === 0) {
      (blocks[this.atBlock] as Block<V>).values[this.atIndex] = value;
      return;
    }
    this.insertAtCursor(key, value);
    this.count++;
  }

  /** Removes the entry for `key`; returns its value, or `undefined` when there was none. */
  delete(key: Key): V | undefined {
    if (!this.locate(key, false) || compareKeys(this.keyAtCursor(), key) !== 0) return undefined;
    const b = this.atBlock;
    const block = this.blocks[b] as Block<V>;
    const value = block.values[this.atIndex];
    block.keys.splice(this.atIndex, 1);
    block.values.splice(this.atIndex, 1);
    this.count--;
    if (block.keys.length === 0) this.blocks.splice(b, 1);
    else this.mergeIfSmall(b);
    return value;
  }

  clear(): void {
    this.blocks = [];
    this.count = 0;
  }

  /** The smallest key, or `undefined` when empty. */
  firstKey(): Key | undefined {
    return this.blocks[0]?.keys[0];
  }

  /** The largest key, or `undefined` when empty. */
  lastKey(): Key | undefined {
    const last = this.blocks[this.blocks.length - 1];
    return last?.keys[last.keys.length - 1];
  }

  /**
   * Appends to `out` the values of up to `max` entries, in key order, whose keys lie after `from`
   * (at or after it when `fromInclusive`; from the start when `from` is null) and before `end`
   * (null: no end). Returns the key of the last entry appended, to resume from, or null if none.
   */
  collect(from: Key | null, fromInclusive: boolean, end: Key | null, max: number, out: V[]): Key | null {
    if (!this.seek(from, fromInclusive)) return null;
    const blocks = this.blocks;
    let b = this.atBlock;
    let i = this.atIndex;
    let last: Key | null = null;
    let taken = 0;
    while (taken < max && b < blocks.length) {
      const block = blocks[b] as Block<V>;
      const keys = block.keys;
      // Whole block inside the range: copy without comparing each key against `end`.
      const blockInside = end === null || compareKeys(keys[keys.length - 1] as Key, end) < 0;
      for (; i < keys.length && taken < max; i++) {
        const key = keys[i] as Key;
        if (!blockInside && compareKeys(key, end as Key) >= 0) return last;
        out.push(block.values[i] as V);
        last = key;
        taken++;
      }
      b++;
      i = 0;
    }
    return last;
  }

  /**
   * The key `n` entries after the first entry at or after `from` (`from` null: the first entry),
   * i.e. the smallest key k such that `[from, k)` holds `n` entries; `undefined` when fewer remain.
   */
  keyAfter(from: Key | null, n: number): Key | undefined {
    if (!this.seek(from, true)) return undefined;
    const blocks = this.blocks;
    let b = this.atBlock;
    let i = this.atIndex + n;
    // Skip whole blocks: O(n / MAX_BLOCK), not O(n).
    while (b < blocks.length) {
      const len = (blocks[b] as Block<V>).keys.length;
      if (i < len) return (blocks[b] as Block<V>).keys[i];
      i -= len;
      b++;
    }
    return undefined;
  }

  /** Counts the entries with keys in `[start, end)` (null: unbounded). */
  countRange(start: Key | null, end: Key | null): number {
    if (!this.seek(start, true)) return 0;
    const fromBlock = this.atBlock;
    const fromIndex = this.atIndex;
    let toBlock = this.blocks.length;
    let toIndex = 0;
    if (end !== null && this.locate(end, false)) {
      toBlock = this.atBlock;
      toIndex = this.atIndex;
    }
    let n = 0;
    for (let b = fromBlock; b < toBlock; b++) n += (this.blocks[b] as Block<V>).keys.length;
    return Math.max(0, n - fromIndex + toIndex);
  }

  /** Every value in key order. */
  *values(): IterableIterator<V> {
    for (const block of this.blocks) yield* block.values;
  }

  /** Every key in key order. */
  *keys(): IterableIterator<Key> {
    for (const block of this.blocks) yield* block.keys;
  }

  /** Replaces every value in place (keys must not change). */
  mapValues(f: (value: V) => V): void {
    for (const block of this.blocks) {
      const values = block.values;
      for (let i = 0; i < values.length; i++) values[i] = f(values[i] as V);
    }
  }

  /** Positions the cursor at the first entry at (or after, when not `inclusive`) `from`; false when there is none. */
  private seek(from: Key | null, inclusive: boolean): boolean {
    if (from !== null) return this.locate(from, !inclusive);
    this.atBlock = 0;
    this.atIndex = 0;
    return this.blocks.length > 0;
  }

  /**
   * Positions the cursor at the first entry whose key is `>= key` (or `> key` when `strict`).
   * Returns false when every key is smaller (cursor undefined).
   */
  private locate(key: Key, strict: boolean): boolean {
    const blocks = this.blocks;
    // First block whose last key passes the test.
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const keys = (blocks[mid] as Block<V>).keys;
      const c = compareKeys(keys[keys.length - 1] as Key, key);
      if (strict ? c > 0 : c >= 0) hi = mid;
      else lo = mid + 1;
    }
    if (lo === blocks.length) return false;
    const keys = (blocks[lo] as Block<V>).keys;
    let l = 0;
    let h = keys.length - 1; // the last key passes, so the answer is in [0, length - 1]
    while (l < h) {
      const mid = (l + h) >>> 1;
      const c = compareKeys(keys[mid] as Key, key);
      if (strict ? c > 0 : c >= 0) h = mid;
      else l = mid + 1;
    }
    this.atBlock = lo;
    this.atIndex = l;
    return true;
  }

  private keyAtCursor(): Key {
    return (this.blocks[this.atBlock] as Block<V>).keys[this.atIndex] as Key;
  }

  private insertAtCursor(key: Key, value: V): void {
    const blocks = this.blocks;
    const b = this.atBlock;
    const i = this.atIndex;
    const block = blocks[b] as Block<V>;
    if (block.keys.length < MAX_BLOCK) {
      if (i === block.keys.length) {
        block.keys.push(key);
        block.values.push(value);
      } else {
        block.keys.splice(i, 0, key);
        block.values.splice(i, 0, value);
      }
      return;
    }
    if (b === blocks.length - 1 && i === block.keys.length) {
      // Ascending inserts: open a new block instead of splitting, so blocks stay full.
      blocks.push({ keys: [key], values: [value] });
      return;
    }
    const half = MAX_BLOCK >>> 1;
    const right: Block<V> = { keys: block.keys.splice(half), values: block.values.splice(half) };
    blocks.splice(b + 1, 0, right);
    const target = i <= half ? block : right;
    const at = i <= half ? i : i - half;
    target.keys.splice(at, 0, key);
    target.values.splice(at, 0, value);
  }

  private mergeIfSmall(b: number): void {
    const block = this.blocks[b] as Block<V>;
    const next = this.blocks[b + 1];
    if (next === undefined || block.keys.length + next.keys.length > MAX_BLOCK >>> 1) return;
    for (let i = 0; i < next.keys.length; i++) {
      block.keys.push(next.keys[i] as Key);
      block.values.push(next.values[i] as V);
    }
    this.blocks.splice(b + 1, 1);
  }
}
