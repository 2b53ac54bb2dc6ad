import type { ChangeEvent, JsonValue, Row, SourceEvent } from '@highwater/core';
import { ConformanceFailure, listSome } from './failure.js';
import { formatRow, keyId, rowDifference, rowEquals } from './values.js';

/** Orders two serialised offsets (built from the adapter's codec). */
export type OffsetOrder = (a: JsonValue, b: JsonValue) => number;

/** A captured table as the materialiser knows it: its name and the columns that identify a row. */
export interface TrackedTable {
  readonly name: string;
  readonly keyColumns: readonly string[];
}

interface TableState {
  readonly keyColumns: readonly string[];
  readonly rows: Map<string, Row>;
  /** Per key: the offset of the last event on it (a snapshot read's high watermark, or a change's offset). */
  readonly last: Map<string, JsonValue>;
  readonly read: Set<string>;
  /** Change events applied, per op. */
  readonly ops: OpCounts;
}

/** Change events applied to a table, per op (`r` snapshot reads, `c` inserts, `u` updates, `d` deletes). */
export interface OpCounts {
  r: number;
  c: number;
  u: number;
  d: number;
}

const noOps = (): OpCounts => ({ r: 0, c: 0, u: 0, d: 0 });

const MAX_PROBLEMS = 40;

/**
 * Applies events to per-table row maps the way a sink would, and checks on every event that the
 * stream is exactly-once — which holds per key whatever the interleaving across keys:
 *
 * - a key is read by the snapshot (`r`) at most once, and only while absent;
 * - an insert finds its key absent, an update or delete finds it present (so a duplicated or a
 *   lost event shows up at once, even when a later event would hide it in the final state);
 * - the offsets of the events on a key strictly increase, starting above the high watermark its
 *   snapshot read carries in `source.offset` — no change is emitted twice, and none the read
 *   already contained.
 *
 * Broken rules are collected in `problems`; `clone()` gives a transactional sink its staging copy.
 */
export class Materialised {
  readonly problems: string[] = [];
  private problemCount = 0;
  private readonly tables = new Map<string, TableState>();

  constructor(
    tables: readonly TrackedTable[],
    private readonly order: OffsetOrder,
  ) {
    for (const t of tables) this.track(t);
  }

  /** Starts tracking a table (e.g. one added to a running source). */
  track(table: TrackedTable): void {
    if (this.tables.has(table.name)) return;
    this.tables.set(table.name, {
      keyColumns: table.keyColumns,
      rows: new Map(),
      last: new Map(),
      read: new Set(),
      ops: noOps(),
    });
  }

  /** The current rows of a table, by key id. */
  rows(table: string): ReadonlyMap<string, Row> {
    return this.state(table).rows;
  }

  /** The current row of `table` with the key of `row` (any row carrying the key columns). */
  find(table: string, row: Row): Row | undefined {
    const t = this.state(table);
    return t.rows.get(keyId(t.keyColumns, row));
  }

  /** Whether any event so far touched the key of `row` in `table` (even if it is deleted now). */
  touched(table: string, row: Row): boolean {
    const t = this.state(table);
    return t.last.has(keyId(t.keyColumns, row));
  }

  /** Change events applied to `table` so far, per op. */
  counts(table: string): OpCounts {
    return { ...this.state(table).ops };
  }

  /** Number of keys the snapshot read in a table. */
  readCount(table: string): number {
    return this.state(table).read.size;
  }

  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      if (e.kind === 'change') this.applyChange(e);
      else if (e.kind === 'truncate') {
        const t = this.tables.get(e.table);
        if (t === undefined) this.problem(`a truncate of ${e.table}, a table that is not captured`);
        else t.rows.clear();
      }
    }
  }

  clone(): Materialised {
    const copy = new Materialised([], this.order);
    for (const [name, t] of this.tables) {
      copy.tables.set(name, {
        keyColumns: t.keyColumns,
        rows: new Map(t.rows),
        last: new Map(t.last),
        read: new Set(t.read),
        ops: { ...t.ops },
      });
    }
    copy.problems.push(...this.problems);
    copy.problemCount = this.problemCount;
    return copy;
  }

  /** Throws if any event broke a rule. */
  assertNoProblems(what: string): void {
    const report = this.problemReport();
    if (report !== null) throw new ConformanceFailure(`${what}: ${report}`);
  }

  /** The broken rules as one paragraph, or null when there are none. */
  problemReport(): string | null {
    if (this.problemCount === 0) return null;
    return `the output is not exactly-once (${plural(this.problemCount, 'problem')}):\n  ${listSome(this.problems, 12)}`;
  }

  /** Throws unless the materialised rows of `table` are exactly `expected` (the table's rows). */
  assertEquals(table: string, expected: readonly Row[], what: string): void {
    const report = this.differenceReport(table, expected);
    if (report !== null) throw new ConformanceFailure(`${what}: ${report}`);
  }

  /** How the materialised rows of `table` differ from `expected`, or null when they are equal. */
  differenceReport(table: string, expected: readonly Row[]): string | null {
    const state = this.state(table);
    const differences = compareRows(state.rows, expected, state.keyColumns);
    if (differences.length === 0) return null;
    return `the materialised output of ${table} differs from the table (${plural(differences.length, 'difference')}):\n  ${listSome(differences, 10)}`;
  }

  private state(table: string): TableState {
    const t = this.tables.get(table);
    if (t === undefined) throw new ConformanceFailure(`the case did not track table ${table}`);
    return t;
  }

  private applyChange(e: ChangeEvent): void {
    const t = this.tables.get(e.source.table);
    if (t === undefined) {
      this.problem(`a change event of ${e.source.table}, a table that is not captured`);
      return;
    }
    const offset = e.source.offset;
    if (offset === null) {
      this.problem(`${e.op} event on ${e.source.table} without source.offset`);
      return;
    }
    const at = JSON.stringify(offset);
    t.ops[e.op]++;
    switch (e.op) {
      case 'r': {
        if (e.after === null) {
          this.problem(`snapshot read on ${e.source.table} without an after-image`);
          return;
        }
        if (!e.source.snapshot) this.problem(`snapshot read ${formatRow(e.after)} with source.snapshot false`);
        const k = keyId(t.keyColumns, e.after);
        if (t.read.has(k))
          this.problem(`key ${k} of ${e.source.table} was read by the snapshot twice (second at ${at})`);
        else if (t.rows.has(k))
          this.problem(
            `key ${k} of ${e.source.table} was read by the snapshot (at ${at}) after a change had emitted it`,
          );
        this.advance(t, k, offset, e, 'snapshot read');
        t.read.add(k);
        t.rows.set(k, e.after);
        return;
      }
      case 'c': {
        if (e.after === null) {
          this.problem(`insert on ${e.source.table} at ${at} without an after-image`);
          return;
        }
        const k = keyId(t.keyColumns, e.after);
        if (t.rows.has(k))
          this.problem(
            `insert of key ${k} of ${e.source.table} at ${at}, but the key is already there (a duplicate, or a lost delete)`,
          );
        this.advance(t, k, offset, e, 'insert');
        t.rows.set(k, e.after);
        return;
      }
      case 'u': {
        if (e.before === null || e.after === null) {
          this.problem(`update on ${e.source.table} at ${at} without both images`);
          return;
        }
        const from = keyId(t.keyColumns, e.before);
        const to = keyId(t.keyColumns, e.after);
        if (!t.rows.has(from))
          this.problem(
            `update of key ${from} of ${e.source.table} at ${at}, but the key is not there (a lost insert or read, or a duplicate)`,
          );
        if (from !== to && t.rows.has(to))
          this.problem(`update at ${at} moves key ${from} of ${e.source.table} onto ${to}, which is already there`);
        this.advance(t, from, offset, e, 'update');
        if (from !== to) this.advance(t, to, offset, e, 'update');
        t.rows.delete(from);
        t.rows.set(to, e.after);
        return;
      }
      case 'd': {
        if (e.before === null) {
          this.problem(`delete on ${e.source.table} at ${at} without a before-image`);
          return;
        }
        const k = keyId(t.keyColumns, e.before);
        if (!t.rows.has(k))
          this.problem(
            `delete of key ${k} of ${e.source.table} at ${at}, but the key is not there (a lost insert or read, or a duplicate)`,
          );
        this.advance(t, k, offset, e, 'delete');
        t.rows.delete(k);
        return;
      }
    }
  }

  /** Records the event's offset on a key, checking it is after the previous one. */
  private advance(t: TableState, k: string, offset: JsonValue, e: ChangeEvent, what: string): void {
    const previous = t.last.get(k);
    if (previous !== undefined) {
      let c: number;
      try {
        c = this.order(offset, previous);
      } catch (error) {
        this.problem(
          `cannot compare offsets ${JSON.stringify(offset)} and ${JSON.stringify(previous)}: ${String(error)}`,
        );
        return;
      }
      if (c <= 0) {
        this.problem(
          `${what} on key ${k} of ${e.source.table} at offset ${JSON.stringify(offset)} is not after ${JSON.stringify(previous)}, the offset of the previous event on that key (a snapshot read's high watermark or a change) — emitted twice, or already contained in the snapshot read`,
        );
      }
    }
    t.last.set(k, offset);
  }

  /** Records a broken rule: the materialiser's own, or one a caller checks on top (say, of a version column). */
  problem(message: string): void {
    this.problemCount++;
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(message);
  }
}

/** Differences between materialised rows and a table's rows, as messages. */
export function compareRows(
  actual: ReadonlyMap<string, Row>,
  expected: readonly Row[],
  keyColumns: readonly string[],
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const row of expected) {
    const k = keyId(keyColumns, row);
    seen.add(k);
    const got = actual.get(k);
    if (got === undefined) out.push(`missing ${k}: the table has ${formatRow(row)}`);
    else if (!rowEquals(got, row)) out.push(`different ${k}: ${rowDifference(got, row)} (output ≠ table)`);
  }
  for (const [k, row] of actual) if (!seen.has(k)) out.push(`extra ${k}: ${formatRow(row)} is not in the table`);
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
