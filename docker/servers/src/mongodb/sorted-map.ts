/**
 * A map kept sorted by BSON comparison order of its keys: the simulator's `_id` index. Binary search for lookups;
 * appends of ascending keys (ObjectIds, counters) are O(1).
 */
import { type BsonValue, compareValues } from './compare.js';

export class SortedMap<V> {
  private keys: BsonValue[] = [];
  private values: V[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key >= `key`. */
  lowerBound(key: BsonValue): number {
    let lo = 0;
    let hi = this.keys.length;
    if (hi > 0 && compareValues(this.keys[hi - 1], key) < 0) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareValues(this.keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: BsonValue): V | undefined {
    const at = this.lowerBound(key);
    return at < this.keys.length && compareValues(this.keys[at], key) === 0 ? this.values[at] : undefined;
  }

  has(key: BsonValue): boolean {
    const at = this.lowerBound(key);
    return at < this.keys.length && compareValues(this.keys[at], key) === 0;
  }

  set(key: BsonValue, value: V): void {
    const at = this.lowerBound(key);
    if (at < this.keys.length && compareValues(this.keys[at], key) === 0) {
      this.values[at] = value;
      return;
    }
    if (at === this.keys.length) {
      this.keys.push(key);
      this.values.push(value);
    } else {
      this.keys.splice(at, 0, key);
      this.values.splice(at, 0, value);
    }
  }

  delete(key: BsonValue): boolean {
    const at = this.lowerBound(key);
    if (at >= this.keys.length || compareValues(this.keys[at], key) !== 0) return false;
    this.keys.splice(at, 1);
    this.values.splice(at, 1);
    return true;
  }

  /** Entries in key order, from index `from`. */
  *entries(from = 0): IterableIterator<[BsonValue, V]> {
    for (let i = from; i < this.keys.length; i++) yield [this.keys[i], this.values[i] as V];
  }

  /** Index of the first key > `key`. */
  upperBound(key: BsonValue): number {
    let at = this.lowerBound(key);
    while (at < this.keys.length && compareValues(this.keys[at], key) === 0) at += 1;
    return at;
  }

  /** Values with index in [from, to). */
  valuesBetween(from: number, to: number): V[] {
    return this.values.slice(from, to);
  }

  valueList(): V[] {
    return this.values.slice();
  }
}
