import type { SplitterState } from '../checkpoint/checkpoint.js';
import { AdapterError, ConfigError, MissingKeyError } from '../errors/errors.js';
import type { TableSchema } from '../schema/table-schema.js';
import type { Introspector } from '../spi/source-adapter.js';
import { type ChunkRange, type SnapshotSplit, snapshotSplitId } from '../split/split.js';
import { valueToJson } from '../values/value-json.js';
import type { Key } from '../values/value.js';
import {
  DEFAULT_EVEN_DISTRIBUTION,
  type EvenDistribution,
  type EvenPlan,
  evenSplitsFrom,
  integerOf,
  integerValue,
  isIntegerType,
  planEven,
} from './even-split.js';
import { type Cursor, decodeSplitterState, initialSplitterState } from './splitter-state.js';

/**
 * Cuts one table's chunk-key space into snapshot splits, lazily: each split is computed when asked
 * for, and the whole progress is one small {@link SplitterState}, so a table of billions of rows
 * starts at once and checkpoints stay small.
 *
 * The splits cover the key space without gap or overlap: the first starts unbounded, each next one
 * starts where the previous ended, the last ends unbounded (so keys inserted below the minimum or
 * above the maximum are covered too).
 */
export interface TableSplitter {
  /** The next split in key order, or null when the table is fully split. Calls are sequential (never two at once). */
  next(): Promise<SnapshotSplit | null>;
  /** The state after the splits returned so far; JSON-serialisable; feeding it back as `resume` continues exactly after the last returned split. */
  state(): SplitterState;
  /** Estimated total number of splits (for progress), refined as splitting goes on; null if unknown. */
  estimatedTotal(): number | null;
}

export interface TableSplitterOptions {
  /** `table.chunkKey` are the split columns. */
  readonly table: TableSchema;
  /** Qualified name, used for split ids `${tableName}:${index}`. */
  readonly tableName: string;
  readonly boundaries: Pick<Introspector<unknown>, 'keyRange' | 'estimateRowCount' | 'nextChunkBoundary'>;
  /** The adapter's key order (see `SourceAdapter.compareKeys`). */
  readonly compareKeys: (a: Key, b: Key) => number;
  /** Target rows per chunk. */
  readonly chunkSize: number;
  /** A state returned by `state()` earlier, to continue after its last split. */
  readonly resume?: SplitterState;
  /**
   * Bounds on `(max - min + 1) / estimatedRows` within which a single integer chunk key is split
   * arithmetically; outside them the table is walked. Defaults to {@link DEFAULT_EVEN_DISTRIBUTION}.
   */
  readonly evenDistribution?: EvenDistribution;
}

/**
 * Creates the splitter of one table. The strategy is chosen when the first split is produced and kept
 * in the state:
 *
 * - `even` when the chunk key is one integer column and the distribution factor
 *   `(max - min + 1) / estimatedRows` lies within `evenDistribution`: boundaries are
 *   `min + k * step`, computed without further queries;
 * - `walk` otherwise (strings, UUIDs, bytes, composite keys, sparse or skewed integers): each
 *   boundary is the key `chunkSize` rows after the previous one (`nextChunkBoundary`), so every
 *   chunk but the last holds exactly `chunkSize` rows.
 *
 * @example
 * const splitter = createTableSplitter({ table, tableName: 'shop.orders', boundaries: introspector,
 *   compareKeys: (a, b) => adapter.compareKeys(table, a, b), chunkSize: 8096, resume: saved?.splitter });
 * for (let split = await splitter.next(); split !== null; split = await splitter.next()) enqueue(split);
 */
export function createTableSplitter(options: TableSplitterOptions): TableSplitter {
  const { table, tableName, boundaries, compareKeys, chunkSize } = options;
  if (typeof chunkSize !== 'number' || !Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new ConfigError(`chunkSize must be a positive integer (rows per chunk), got ${String(chunkSize)}`);
  }
  const distribution = options.evenDistribution ?? DEFAULT_EVEN_DISTRIBUTION;
  if (!(distribution.lower >= 0) || !(distribution.upper >= distribution.lower)) {
    throw new ConfigError(
      `evenDistribution must satisfy 0 <= lower <= upper, got lower ${distribution.lower} and upper ${distribution.upper}`,
    );
  }
  const keyLength = table.chunkKey.length;
  if (keyLength === 0) {
    throw new MissingKeyError(tableName, `table ${tableName} has no chunk key: it cannot be split into chunks`);
  }

  let state: SplitterState;
  let cursor: Cursor;
  if (options.resume === undefined) {
    state = initialSplitterState();
    cursor = { kind: 'undecided' };
  } else {
    ({ state, cursor } = decodeSplitterState(options.resume, tableName, keyLength));
  }
  /** Estimated rows, fetched once per splitter (only walking needs it after the first split, for progress). */
  let estimatedRows: number | null = null;
  let estimateFetched = false;

  async function estimate(): Promise<number | null> {
    if (!estimateFetched) {
      const rows = await boundaries.estimateRowCount(table);
      estimatedRows = Number.isFinite(rows) && rows >= 0 ? rows : null;
      estimateFetched = true;
    }
    return estimatedRows;
  }

  /** Records a produced split and where the next one starts; returns the split. */
  function emit(range: ChunkRange, next: Cursor, strategy: SplitterState['strategy']): SnapshotSplit {
    const index = state.nextIndex;
    const nextStart = next.kind === 'done' ? range.start : range.end;
    state = {
      nextIndex: index + 1,
      nextStart: nextStart === null ? null : valueToJson(nextStart),
      done: next.kind === 'done',
      strategy,
    };
    cursor = next;
    return { kind: 'snapshot', id: snapshotSplitId(tableName, index), table: tableName, index, range };
  }

  function evenSplit(start: bigint | null, base: bigint, plan: EvenPlan): SnapshotSplit {
    const strategy = { kind: 'even', step: plan.step.toString(), max: plan.max.toString() } as const;
    const from = start === null ? null : [integerValue(start, plan.useBigint)];
    const end = base + plan.step;
    if (end > plan.max) return emit({ start: from, end: null }, { kind: 'done' }, strategy);
    return emit(
      { start: from, end: [integerValue(end, plan.useBigint)] },
      { kind: 'even', start: end, plan },
      strategy,
    );
  }

  async function walkSplit(start: Key | null): Promise<SnapshotSplit> {
    await estimate();
    const end = await boundaries.nextChunkBoundary(table, start, chunkSize);
    if (end === null) return emit({ start, end: null }, { kind: 'done' }, { kind: 'walk' });
    if (!Array.isArray(end) || end.length !== keyLength || (start !== null && compareKeys(end, start) <= 0)) {
      throw new AdapterError(
        `nextChunkBoundary for table ${tableName} returned ${describe(end)}, which is not a key after the chunk start ${describe(start)}`,
      );
    }
    return emit({ start, end }, { kind: 'walk', start: end }, { kind: 'walk' });
  }

  /** The first split: decides the strategy. */
  async function firstSplit(): Promise<SnapshotSplit> {
    const column = keyLength === 1 ? table.columns.find((c) => c.name === table.chunkKey[0]) : undefined;
    if (column === undefined || !isIntegerType(column.type)) return walkSplit(null);
    const range = await boundaries.keyRange(table);
    if (range === null) return emit({ start: null, end: null }, { kind: 'done' }, { kind: 'walk' });
    const min = integerOf(range.min[0]);
    const max = integerOf(range.max[0]);
    if (min === null || max === null) return walkSplit(null);
    const rows = await estimate();
    const useBigint = typeof range.min[0] === 'bigint' || typeof range.max[0] === 'bigint';
    const plan = rows === null ? null : planEven(min, max, rows, chunkSize, distribution, useBigint);
    return plan === null ? walkSplit(null) : evenSplit(null, min, plan);
  }

  async function produce(): Promise<SnapshotSplit | null> {
    switch (cursor.kind) {
      case 'undecided':
        return firstSplit();
      case 'even':
        return evenSplit(cursor.start, cursor.start, cursor.plan);
      case 'walk':
        return walkSplit(cursor.start);
      case 'done':
        return null;
    }
  }

  // Calls are meant to be sequential; chaining them keeps the splitter correct even if they are not.
  let previous: Promise<unknown> = Promise.resolve();

  return {
    next() {
      const result = previous.then(produce);
      previous = result.catch(() => undefined);
      return result;
    },
    state: () => state,
    estimatedTotal() {
      switch (cursor.kind) {
        case 'undecided':
          return null;
        case 'done':
          return state.nextIndex;
        case 'even':
          return state.nextIndex + evenSplitsFrom(cursor.start, cursor.plan);
        case 'walk':
          return estimatedRows === null ? null : Math.max(state.nextIndex + 1, Math.ceil(estimatedRows / chunkSize));
      }
    },
  };
}

function describe(key: unknown): string {
  if (key === null) return 'null';
  try {
    return JSON.stringify(valueToJson(key as Key));
  } catch {
    return String(key);
  }
}
