import { appendFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A change of an open transaction, kept as LogMiner wrote it until the transaction commits. */
export interface BufferedChange {
  /** 1 insert, 2 delete, 3 update, 5 DDL. */
  readonly operationCode: number;
  readonly owner: string;
  readonly table: string;
  readonly sqlRedo: string;
  /** The changed row's ROWID (V$LOGMNR_CONTENTS.ROW_ID), for tables keyed by it. */
  readonly rowId?: string;
}

const INVERSE: Readonly<Record<number, number>> = { 1: 2, 2: 1, 3: 3 };

/** Where transactions too large for memory go, and from what size. */
export interface SpillOptions {
  /** SQL_REDO characters a transaction may hold in memory before its changes move to a file. */
  readonly thresholdChars: number;
  /** A directory of the reader's own (created on first spill, removed on close). */
  directory(): string;
}

/** Spill files in a fresh directory under the system temp directory, created on first use. */
export function tempSpill(thresholdChars: number, parent: string = tmpdir()): SpillOptions & { remove(): void } {
  let dir: string | null = null;
  return {
    thresholdChars,
    directory() {
      dir ??= mkdtempSync(join(parent, 'highwater-oracle-'));
      return dir;
    },
    remove() {
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
      dir = null;
    },
  };
}

/**
 * One open transaction's captured changes, in redo order. Rows with ROLLBACK = 1 (a rollback to a
 * savepoint) undo the newest change still kept on the same table whose operation they invert
 * (LogMiner writes the undo of an insert as a delete, of a delete as an insert, of an update as an
 * update), so a partially rolled-back transaction emits only what it committed.
 *
 * Past `spill.thresholdChars` of SQL_REDO in memory, the changes are appended to a file (one JSON
 * line each) and only a small entry per change (operation and table, for undo) stays in memory;
 * `changes()` reads the file back in order when the transaction commits.
 */
export class TransactionBuffer {
  private memory: BufferedChange[] = [];
  /** Operation and table of each spilled change, in order; `null` once undone. */
  private readonly spilled: ({ operationCode: number; owner: string; table: string } | null)[] = [];
  private file: string | null = null;
  /** SQL_REDO characters held in memory. */
  chars = 0;

  constructor(
    readonly xid: string,
    /** The SCN of its first change (its START record where mined). */
    readonly startScn: bigint,
    private readonly spill: SpillOptions | null = null,
  ) {}

  /** Changes kept (in memory and spilled, undone ones excluded). */
  get size(): number {
    let n = this.memory.length;
    for (const s of this.spilled) if (s !== null) n++;
    return n;
  }

  get spilledCount(): number {
    return this.spilled.length;
  }

  add(change: BufferedChange): void {
    this.memory.push(change);
    this.chars += change.sqlRedo.length;
    if (this.spill !== null && this.chars > this.spill.thresholdChars) this.flush(this.spill);
  }

  private flush(spill: SpillOptions): void {
    this.file ??= join(spill.directory(), `${this.xid}-${this.startScn}.jsonl`);
    appendFileSync(this.file, this.memory.map((c) => `${JSON.stringify(c)}\n`).join(''));
    for (const c of this.memory) this.spilled.push({ operationCode: c.operationCode, owner: c.owner, table: c.table });
    this.memory = [];
    this.chars = 0;
  }

  /** Removes the change a ROLLBACK = 1 row undoes; false when none matches (it was not captured). */
  undo(undoing: BufferedChange): boolean {
    const inverse = INVERSE[undoing.operationCode];
    const matches = (c: { operationCode: number; owner: string; table: string }) =>
      c.owner === undoing.owner && c.table === undoing.table && c.operationCode === inverse;
    for (let i = this.memory.length - 1; i >= 0; i--) {
      const c = this.memory[i] as BufferedChange;
      if (matches(c)) {
        this.memory.splice(i, 1);
        this.chars -= c.sqlRedo.length;
        return true;
      }
    }
    for (let i = this.spilled.length - 1; i >= 0; i--) {
      const c = this.spilled[i];
      if (c !== null && c !== undefined && matches(c)) {
        this.spilled[i] = null;
        return true;
      }
    }
    return false;
  }

  /** The kept changes in redo order: the spilled ones read back from the file, then those in memory. */
  async *changes(): AsyncGenerator<BufferedChange> {
    if (this.file !== null) {
      const lines = createInterface({
        input: createReadStream(this.file, 'utf8'),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      let i = 0;
      for await (const line of lines) {
        if (line === '') continue;
        if (this.spilled[i++] !== null) yield JSON.parse(line) as BufferedChange;
      }
    }
    yield* this.memory;
  }

  /** Deletes the spill file, if any. */
  discard(): void {
    if (this.file !== null) rmSync(this.file, { force: true });
    this.file = null;
  }
}

/** The open transactions by XID, with the oldest start (the restart SCN of an offset taken now). */
export class OpenTransactions {
  private readonly byXid = new Map<string, TransactionBuffer>();

  constructor(private readonly spill: SpillOptions | null = null) {}

  open(xid: string, startScn: bigint): TransactionBuffer {
    let tx = this.byXid.get(xid);
    if (tx === undefined) {
      tx = new TransactionBuffer(xid, startScn, this.spill);
      this.byXid.set(xid, tx);
    }
    return tx;
  }

  /** Removes the transaction (the caller reads its changes, then `discard()`s it). */
  close(xid: string): TransactionBuffer | undefined {
    const tx = this.byXid.get(xid);
    this.byXid.delete(xid);
    return tx;
  }

  /** The smallest start SCN of an open transaction, or null when none is open. */
  oldestStart(): bigint | null {
    let oldest: bigint | null = null;
    for (const tx of this.byXid.values()) if (oldest === null || tx.startScn < oldest) oldest = tx.startScn;
    return oldest;
  }

  get size(): number {
    return this.byXid.size;
  }

  /** Changes held (in memory and spilled), SQL_REDO characters in memory, and changes on disk. */
  held(): { changes: number; chars: number; spilled: number } {
    let changes = 0;
    let chars = 0;
    let spilled = 0;
    for (const tx of this.byXid.values()) {
      changes += tx.size;
      chars += tx.chars;
      spilled += tx.spilledCount;
    }
    return { changes, chars, spilled };
  }

  /** Drops every transaction and its spill file (the reader is closing). */
  discardAll(): void {
    for (const tx of this.byXid.values()) tx.discard();
    this.byXid.clear();
  }
}
