import type { LogicalType } from '../schema/table-schema.js';
import type { Value } from '../values/value.js';

/**
 * Arithmetic ("even") splitting of a single integer chunk key. All arithmetic is in bigint, so keys
 * near ±2^63 (or 2^64 unsigned) stay exact.
 */
export interface EvenPlan {
  /** Width of every bounded split, in key units; at least 1. */
  readonly step: bigint;
  /** The largest key when splitting started: a split whose end would pass it is the last one. */
  readonly max: bigint;
  /** Boundaries are produced as bigint (the database gives bigint for this column), else as numbers. */
  readonly useBigint: boolean;
}

/** Bounds on the distribution factor `(max - min + 1) / estimatedRows` within which even splitting is used. */
export interface EvenDistribution {
  readonly lower: number;
  readonly upper: number;
}

/**
 * Defaults for {@link EvenDistribution}.
 *
 * - `upper: 2` — the chunk key is unique, so a split `[s, s + step)` can never hold more than `step`
 *   rows, and `step <= ceil(chunkSize * upper)`: whatever the real distribution (gaps, skew, a wrong
 *   estimate), no even chunk exceeds twice the target. Sparser keys are walked, which costs one
 *   index probe per chunk and keeps every chunk at exactly `chunkSize`.
 * - `lower: 0.5` — a unique integer key cannot hold more rows than `max - min + 1`, so a factor below
 *   1 only means the row estimate is too high. Statistics are approximate (InnoDB's row estimate is
 *   documented to be off by 40–50 %), so a dense table must not fall back to walking because of a
 *   few percent; below one half the estimate is taken as stale and the table is walked instead.
 */
export const DEFAULT_EVEN_DISTRIBUTION: EvenDistribution = { lower: 0.5, upper: 2 };

const INTEGER_KINDS: ReadonlySet<LogicalType['kind']> = new Set(['int16', 'int32', 'int64', 'uint64']);

/** True when a column type holds integers only, so arithmetic boundaries are meaningful. */
export function isIntegerType(type: LogicalType): boolean {
  return INTEGER_KINDS.has(type.kind);
}

/** The exact integer a key value stands for, or null when it is not an exact integer. */
export function integerOf(value: Value | undefined): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return null;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A boundary as the database's own JS type: a number when the column uses numbers and the value is safe. */
export function integerValue(n: bigint, useBigint: boolean): number | bigint {
  return !useBigint && n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n;
}

/**
 * The even plan for keys `min..max` and an estimated row count, or null when the distribution factor
 * is unknown (no usable estimate) or outside `bounds` (the table is then walked).
 *
 * The step is `ceil(chunkSize * factor)`, with the factor taken as at least 1: a unique integer key
 * never holds more than one row per unit, so a step of `chunkSize` already caps every chunk at
 * `chunkSize` rows, and a smaller one would only add chunks.
 */
export function planEven(
  min: bigint,
  max: bigint,
  estimatedRows: number,
  chunkSize: number,
  bounds: EvenDistribution,
  useBigint: boolean,
): EvenPlan | null {
  if (max < min || !Number.isFinite(estimatedRows) || estimatedRows < 1) return null;
  const span = max - min + 1n;
  const factor = Number(span) / estimatedRows;
  if (factor < bounds.lower || factor > bounds.upper) return null;
  const rows = BigInt(Math.round(estimatedRows));
  const size = BigInt(chunkSize);
  const scaled = (size * span + rows - 1n) / rows;
  return { step: scaled > size ? scaled : size, max, useBigint };
}

/** How many splits remain when the next one starts at `start` (the last, unbounded one included). */
export function evenSplitsFrom(start: bigint, plan: EvenPlan): number {
  if (start + plan.step > plan.max) return 1;
  return Number((plan.max - start) / plan.step) + 1;
}
