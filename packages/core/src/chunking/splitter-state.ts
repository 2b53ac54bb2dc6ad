import type { SplitterState } from '../checkpoint/checkpoint.js';
import { CheckpointError } from '../errors/errors.js';
import { valueFromJson, valueToJson } from '../values/value-json.js';
import type { JsonValue, Key } from '../values/value.js';
import { type EvenPlan, integerOf } from './even-split.js';

/** Where the next split starts, decoded from a {@link SplitterState}. */
export type Cursor =
  | { readonly kind: 'undecided' }
  | { readonly kind: 'even'; readonly start: bigint; readonly plan: EvenPlan }
  | { readonly kind: 'walk'; readonly start: Key }
  | { readonly kind: 'done' };

/** The state of a splitter that has produced nothing yet. */
export function initialSplitterState(): SplitterState {
  return { nextIndex: 0, nextStart: null, done: false, strategy: { kind: 'undecided' } };
}

/** A checked resume state: a fresh copy of it, and where its next split starts. */
export interface DecodedSplitterState {
  readonly state: SplitterState;
  readonly cursor: Cursor;
}

/**
 * Checks a stored splitter state (it comes from a checkpoint, i.e. from outside) and decodes where the
 * next split starts. Throws a `CheckpointError` naming the table when it is malformed or does not fit
 * the table's chunk key.
 */
export function decodeSplitterState(stored: unknown, table: string, keyLength: number): DecodedSplitterState {
  const cursor = decodeCursor(stored, table, keyLength);
  const { nextIndex, nextStart, done, strategy } = stored as SplitterState;
  const state: SplitterState = {
    nextIndex,
    nextStart: nextStart === null ? null : valueToJson(valueFromJson(nextStart)),
    done,
    strategy:
      strategy.kind === 'even' ? { kind: 'even', step: strategy.step, max: strategy.max } : { kind: strategy.kind },
  };
  return { state, cursor };
}

function decodeCursor(stored: unknown, table: string, keyLength: number): Cursor {
  const fail = (reason: string, cause?: unknown): never => {
    throw new CheckpointError(
      `checkpoint for table ${table}: invalid chunk splitter state (${reason})`,
      cause === undefined ? {} : { cause },
    );
  };
  if (!isRecord(stored)) return fail('not an object');
  const { nextIndex, nextStart, done, strategy } = stored;
  if (typeof nextIndex !== 'number' || !Number.isSafeInteger(nextIndex) || nextIndex < 0) {
    return fail(`nextIndex ${String(nextIndex)} is not a non-negative integer`);
  }
  if (typeof done !== 'boolean') return fail('done is not a boolean');
  if (!isRecord(strategy)) return fail('strategy is not an object');
  const start = nextStart === null ? null : decodeKey(nextStart as JsonValue, keyLength, fail);

  if (strategy.kind === 'undecided') {
    if (nextIndex !== 0 || start !== null || done) return fail('strategy undecided after splits were produced');
    return { kind: 'undecided' };
  }
  if (strategy.kind !== 'even' && strategy.kind !== 'walk') return fail(`unknown strategy ${String(strategy.kind)}`);
  if (nextIndex === 0) return fail(`strategy ${strategy.kind} before any split was produced`);
  if (done) return { kind: 'done' };
  if (start === null) return fail('nextStart is missing');
  if (strategy.kind === 'walk') return { kind: 'walk', start };

  const step = decimal(strategy.step);
  const max = decimal(strategy.max);
  if (step === null || step < 1n) return fail(`step ${String(strategy.step)} is not a positive decimal integer`);
  if (max === null) return fail(`max ${String(strategy.max)} is not a decimal integer`);
  const first = start[0];
  const at = integerOf(first);
  if (at === null) return fail('nextStart is not an integer key');
  return { kind: 'even', start: at, plan: { step, max, useBigint: typeof first === 'bigint' } };
}

function decodeKey(json: JsonValue, keyLength: number, fail: (reason: string, cause?: unknown) => never): Key {
  let key: unknown;
  try {
    key = valueFromJson(json);
  } catch (cause) {
    return fail('nextStart is not an encoded key', cause);
  }
  if (!Array.isArray(key) || key.length !== keyLength) {
    return fail(`nextStart is not a key of ${keyLength} column${keyLength === 1 ? '' : 's'}`);
  }
  return key;
}

function decimal(text: unknown): bigint | null {
  return typeof text === 'string' && /^-?\d+$/.test(text) ? BigInt(text) : null;
}

function isRecord(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
