import type { SplitterState } from '../../src/checkpoint/checkpoint.js';
import { createTableSplitter, type TableSplitterOptions } from '../../src/chunking/table-splitter.js';
import type { LogicalType, TableSchema } from '../../src/schema/table-schema.js';
import type { ChunkRange, SnapshotSplit } from '../../src/split/split.js';
import type { Key, Value } from '../../src/values/value.js';

/** Orders values as a database would: numbers and bigints numerically, strings by code unit, bytes lexicographically, arrays column by column. */
export function compareValues(a: Value, b: Value): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = (a[i] as number) - (b[i] as number);
      if (d !== 0) return d;
    }
    return a.length - b.length;
  }
  if (Array.isArray(a) && Array.isArray(b)) return compareKeys(a, b);
  throw new TypeError(`cannot compare ${String(a)} with ${String(b)}`);
}

export function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = compareValues(a[i] as Value, b[i] as Value);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** A table whose chunk key is the given columns, of the given types. */
export function tableOf(...key: readonly (readonly [string, LogicalType['kind']])[]): TableSchema {
  return {
    id: { schema: 'test', name: 't' },
    columns: key.map(([name, kind]) => ({ name, type: { kind } as LogicalType, nativeType: kind, nullable: false })),
    primaryKey: key.map(([name]) => name),
    chunkKey: key.map(([name]) => name),
  };
}

export interface Calls {
  keyRange: number;
  estimateRowCount: number;
  nextChunkBoundary: number;
}

export interface FakeBoundaries {
  readonly boundaries: TableSplitterOptions['boundaries'];
  readonly calls: Calls;
  /** The table's keys, sorted. */
  readonly keys: readonly Key[];
}

/** An in-memory table of keys answering the splitter's queries exactly as the SPI describes them. */
export function fakeBoundaries(keys: readonly Key[], options: { estimate?: number } = {}): FakeBoundaries {
  const sorted = [...keys].sort(compareKeys);
  const calls: Calls = { keyRange: 0, estimateRowCount: 0, nextChunkBoundary: 0 };
  const boundaries: FakeBoundaries['boundaries'] = {
    async keyRange() {
      calls.keyRange++;
      const min = sorted[0];
      const max = sorted[sorted.length - 1];
      return min === undefined || max === undefined ? null : { min, max };
    },
    async estimateRowCount() {
      calls.estimateRowCount++;
      return options.estimate ?? sorted.length;
    },
    async nextChunkBoundary(_table, from, chunkSize) {
      calls.nextChunkBoundary++;
      const i = from === null ? 0 : lowerBound(sorted, from);
      return sorted[i + chunkSize] ?? null;
    },
  };
  return { boundaries, calls, keys: sorted };
}

function lowerBound(sorted: readonly Key[], key: Key): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid] as Key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function inRange(range: ChunkRange, key: Key): boolean {
  return (
    (range.start === null || compareKeys(key, range.start) >= 0) &&
    (range.end === null || compareKeys(key, range.end) < 0)
  );
}

/** How many of `keys` each split holds. */
export function rowsPerSplit(splits: readonly SnapshotSplit[], keys: readonly Key[]): number[] {
  return splits.map((s) => keys.filter((k) => inRange(s.range, k)).length);
}

export type SplitterOptions = Omit<TableSplitterOptions, 'boundaries' | 'compareKeys' | 'tableName'> & {
  readonly tableName?: string;
};

/** Runs a splitter to the end, recording the state after every split (JSON round-tripped, as a checkpoint would). */
export async function splitAll(
  fake: FakeBoundaries,
  options: SplitterOptions,
  limit = 1_000_000,
): Promise<{ splits: SnapshotSplit[]; states: SplitterState[] }> {
  const splitter = createTableSplitter({ tableName: 'test.t', ...options, boundaries: fake.boundaries, compareKeys });
  const splits: SnapshotSplit[] = [];
  const states: SplitterState[] = [roundTrip(splitter.state())];
  for (let split = await splitter.next(); split !== null; split = await splitter.next()) {
    splits.push(split);
    states.push(roundTrip(splitter.state()));
    if (splits.length > limit) throw new Error(`more than ${limit} splits`);
  }
  return { splits, states };
}

/** A splitter state through JSON, as a checkpoint store would keep it. */
export function roundTrip(state: SplitterState): SplitterState {
  return JSON.parse(JSON.stringify(state)) as SplitterState;
}

/** Integers a..b inclusive as keys. */
export function intKeys(from: number, to: number, every = 1): Key[] {
  const out: Key[] = [];
  for (let i = from; i <= to; i += every) out.push([i]);
  return out;
}
