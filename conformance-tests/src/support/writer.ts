import type { ChunkRange, Row, Value } from '@highwater/core';
import type { CaseContext } from '../case.js';
import type { ColumnDefinition, WriteOp } from '../harness.js';
import type { Random } from './random.js';
import { sleep } from './random.js';
import { keyId, keyRowOf, valueEquals } from './values.js';

/** The shape of a test table's rows: its columns, how to make fresh keys and new values. */
export interface RowShape {
  readonly columns: readonly ColumnDefinition[];
  readonly keyColumns: readonly string[];
  /** A full row whose key `taken` does not report. */
  fresh(random: Random, taken: (row: Row) => boolean): Row;
  /** New values for some non-key columns. */
  change(row: Row, random: Random): Row;
  /** Whether a row's key lies in a chunk range — for shapes whose chunk keys the case can compare itself. */
  inRange?(range: ChunkRange, row: Row): boolean;
  /** A fresh row whose key lies in the range, or null when none is free. */
  freshIn?(range: ChunkRange, random: Random, taken: (row: Row) => boolean): Row | null;
}

/** A write as it changed the table: what an adapter's log should report, in commit order. */
export interface ExpectedChange {
  readonly op: 'c' | 'u' | 'd';
  readonly before: Row | null;
  readonly after: Row | null;
}

export type WriteKind = 'insert' | 'update' | 'delete' | 'move';

const KINDS: readonly WriteKind[] = ['insert', 'insert', 'update', 'update', 'update', 'delete', 'move'];

export interface RandomWriteOptions {
  /** Write only keys in this chunk range (needs `shape.inRange` and `shape.freshIn`). */
  readonly range?: ChunkRange;
  readonly kinds?: readonly WriteKind[];
  /** Chance that a write is a transaction of 2–3 changes instead of one (default 0.2; 0 with a range). */
  readonly transactionChance?: number;
}

/**
 * Writes to one table through the harness and keeps an exact model of it: the rows it holds and
 * every change in commit order. Random writes are planned from the model, so they are always valid
 * (no duplicate keys, no missing rows) and reproducible from the seed.
 *
 * `random()` takes the case's write lock per write; `randomHeld()` is for a caller that already
 * holds it (a phase hook pinning the lock across phases).
 */
export class TableWriter {
  readonly rows = new Map<string, Row>();
  readonly changes: ExpectedChange[] = [];
  readonly taken = (row: Row): boolean => this.rows.has(keyId(this.shape.keyColumns, row));

  constructor(
    private readonly ctx: CaseContext,
    readonly table: string,
    readonly shape: RowShape,
  ) {}

  get keyColumns(): readonly string[] {
    return this.shape.keyColumns;
  }

  /** Inserts rows in transactions of up to 200 (under the lock). */
  async fill(rows: readonly Row[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 200) {
      const planned = rows.slice(i, i + 200).map((after): ExpectedChange => ({ op: 'c', before: null, after }));
      await this.ctx.serial.run(() => this.apply(planned));
    }
  }

  /** Truncates the table (`harness.truncateTable`) under the lock. */
  async truncate(): Promise<void> {
    const truncate = this.ctx.harness.truncateTable;
    if (truncate === undefined) throw new Error('the harness cannot truncate tables');
    await this.ctx.serial.run(async () => {
      await truncate.call(this.ctx.harness, this.table);
      this.rows.clear();
    });
  }

  /** `count` random writes, each taking the lock. Returns how many were made. */
  async random(random: Random, count: number, options: RandomWriteOptions = {}): Promise<number> {
    let made = 0;
    for (let i = 0; i < count; i++) {
      const done = await this.ctx.serial.run(() => this.randomHeld(random, 1, options));
      made += done ?? 0;
    }
    return made;
  }

  /** `count` random writes by a caller holding the lock. Returns how many were made. */
  async randomHeld(random: Random, count: number, options: RandomWriteOptions = {}): Promise<number> {
    if (this.ctx.serial.stopped) return 0;
    let made = 0;
    for (let i = 0; i < count; i++) {
      const txChance = options.transactionChance ?? (options.range === undefined ? 0.2 : 0);
      const size = random.chance(txChance) ? random.between(2, 3) : 1;
      const planned: ExpectedChange[] = [];
      const overlay = new Map(this.rows);
      for (let j = 0; j < size; j++) {
        const change = this.plan(random, overlay, options);
        if (change === null) continue;
        if (change.before !== null) overlay.delete(keyId(this.keyColumns, change.before));
        if (change.after !== null) overlay.set(keyId(this.keyColumns, change.after), change.after);
        planned.push(change);
      }
      if (planned.length === 0) continue;
      await this.apply(planned);
      made += planned.length;
    }
    return made;
  }

  /**
   * Writes planned changes (one transaction when several) and records them. The caller holds the lock.
   * Where keys are immutable (`immutableKeys`), a key move is written and expected as a delete and an insert.
   */
  async apply(changes: readonly ExpectedChange[]): Promise<void> {
    const planned = this.ctx.capabilities.harness.immutableKeys
      ? changes.flatMap((c) => this.asDeleteAndInsert(c))
      : changes;
    const ops = planned.map((c) => this.toOp(c));
    const only = ops[0];
    if (ops.length === 1 && only !== undefined) {
      if (only.op === 'insert') await this.ctx.harness.insert(this.table, only.row);
      else if (only.op === 'update') await this.ctx.harness.update(this.table, only.key, only.changes);
      else await this.ctx.harness.delete(this.table, only.key);
    } else if (ops.length > 1) {
      await this.ctx.harness.transaction(ops);
    }
    for (const c of planned) {
      if (c.before !== null) this.rows.delete(keyId(this.keyColumns, c.before));
      if (c.after !== null) this.rows.set(keyId(this.keyColumns, c.after), c.after);
      this.changes.push(c);
    }
  }

  /** One valid change against `rows`, or null when none fits the options. */
  plan(random: Random, rows: ReadonlyMap<string, Row>, options: RandomWriteOptions = {}): ExpectedChange | null {
    const range = options.range;
    const shape = this.shape;
    const taken = (row: Row) => rows.has(keyId(shape.keyColumns, row));
    const candidates = [...rows.values()].filter((r) => range === undefined || shape.inRange?.(range, r) === true);
    const freshRow = (): Row | null =>
      range === undefined ? shape.fresh(random, taken) : (shape.freshIn?.(range, random, taken) ?? null);
    const kinds = options.kinds ?? KINDS;
    const first = random.int(kinds.length);
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(first + i) % kinds.length] as WriteKind;
      if (kind === 'insert') {
        const after = freshRow();
        if (after !== null) return { op: 'c', before: null, after };
        continue;
      }
      if (candidates.length === 0) continue;
      const before = random.pick(candidates);
      if (kind === 'delete') return { op: 'd', before, after: null };
      if (kind === 'update') {
        const after = { ...before, ...shape.change(before, random) };
        // An update that changes nothing is logged by some databases and not by others (MySQL
        // writes no row event for it): the suite does not ask for one.
        if (Object.keys(changedColumns(before, after)).length === 0) continue;
        return { op: 'u', before, after };
      }
      // A key-moving update: inside the range, or anywhere when no range is given.
      const target = freshRow();
      if (target === null) continue;
      const after = { ...before, ...shape.change(before, random), ...keyRowOf(shape.keyColumns, target) };
      return { op: 'u', before, after };
    }
    return null;
  }

  /** A key-moving update as the delete of its old row and the insert of its new one; any other change as it is. */
  private asDeleteAndInsert(c: ExpectedChange): ExpectedChange[] {
    if (c.op !== 'u' || c.before === null || c.after === null) return [c];
    if (keyId(this.keyColumns, c.before) === keyId(this.keyColumns, c.after)) return [c];
    return [
      { op: 'd', before: c.before, after: null },
      { op: 'c', before: null, after: c.after },
    ];
  }

  private toOp(c: ExpectedChange): WriteOp {
    if (c.op === 'c') return { op: 'insert', table: this.table, row: c.after as Row };
    const key = keyRowOf(this.keyColumns, c.before as Row);
    if (c.op === 'd') return { op: 'delete', table: this.table, key };
    return { op: 'update', table: this.table, key, changes: changedColumns(c.before as Row, c.after as Row) };
  }
}

/** The columns of `after` that differ from `before`. */
export function changedColumns(before: Row, after: Row): Row {
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(after)) if (!valueEquals(before[k], v)) out[k] = v;
  return out;
}

/** A writer running in the background until stopped: one random write every 0–2 ms. */
export interface BackgroundWriter {
  /** Stops and waits for the write in flight. Returns the number of writes made. */
  stop(): Promise<number>;
}

export function startBackgroundWriter(
  ctx: CaseContext,
  writers: readonly TableWriter[],
  random: Random,
  options: { readonly visibilityLag?: boolean } = {},
): BackgroundWriter {
  let stopped = false;
  let made = 0;
  const lag = options.visibilityLag === true ? ctx.harness.capabilities.visibilityLag : undefined;
  const loop = (async () => {
    while (!stopped && !ctx.serial.stopped) {
      await sleep(random.int(3));
      if (stopped) break;
      const writer = random.pick(writers);
      if (lag !== undefined && random.chance(0.2)) {
        // Commits logged but not yet visible, for a moment, while chunks may be reading.
        await ctx.serial.run(async () => {
          await lag.hold();
          try {
            made += await writer.randomHeld(random, random.between(1, 3));
            await sleep(random.between(1, 3));
          } finally {
            await lag.release();
          }
        });
      } else {
        made += await writer.random(random, 1);
      }
    }
  })();
  // Failures surface from stop(); until then the rejection must not count as unhandled.
  loop.catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await loop;
      return made;
    },
  };
}
