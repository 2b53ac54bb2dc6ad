import type { TableSnapshot, UnfinishedSplit } from './table-snapshot.js';

/** A split to read, with the table it belongs to. */
export interface Assignment<O> {
  readonly table: TableSnapshot<O>;
  readonly entry: UnfinishedSplit<O>;
}

/**
 * A table's splitter failed (its boundary query): the error, with the table, so the caller can tell
 * a table dropped meanwhile from a failure of the source. Internal to the core.
 */
export class SplittingFailed<O> extends Error {
  constructor(
    readonly table: TableSnapshot<O>,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * Hands splits to the chunk readers: first splits to redo (resumed from a checkpoint, or whose
 * reader failed), then new ones from each table's splitter in turn, produced only as readers ask
 * (so splitting is as lazy as reading). Splitter calls are serialised; readers may ask at once.
 */
export class SplitAssigner<O> {
  private readonly tables: TableSnapshot<O>[] = [];
  private readonly redo: Assignment<O>[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  /** Adds a table; its unfinished splits (from a checkpoint) are read first. */
  addTable(table: TableSnapshot<O>): void {
    this.tables.push(table);
    for (const entry of table.unfinished) this.redo.push({ table, entry });
  }

  /** Gives a split back after its reader failed; it is handed out again first. */
  giveBack(assignment: Assignment<O>): void {
    assignment.entry.window = null;
    this.redo.unshift(assignment);
  }

  removeTable(table: TableSnapshot<O>): void {
    const i = this.tables.indexOf(table);
    if (i >= 0) this.tables.splice(i, 1);
    for (let j = this.redo.length - 1; j >= 0; j--) if (this.redo[j]?.table === table) this.redo.splice(j, 1);
  }

  /** The next split to read, or null when no table has any left. */
  next(): Promise<Assignment<O> | null> {
    const result = this.queue.then(() => this.take());
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async take(): Promise<Assignment<O> | null> {
    const again = this.redo.shift();
    if (again !== undefined) return again;
    for (const table of this.tables) {
      if (table.exhausted) continue;
      let split: Awaited<ReturnType<typeof table.splitter.next>>;
      try {
        split = await table.splitter.next();
      } catch (error) {
        throw new SplittingFailed(table, error);
      }
      if (split === null) {
        table.markExhausted();
        continue;
      }
      return { table, entry: table.register(split) };
    }
    return null;
  }
}
