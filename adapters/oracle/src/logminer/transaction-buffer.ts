/** A change of an open transaction, kept as LogMiner wrote it until the transaction commits. */
export interface BufferedChange {
  /** 1 insert, 2 delete, 3 update, 5 DDL. */
  readonly operationCode: number;
  readonly owner: string;
  readonly table: string;
  readonly sqlRedo: string;
}

const INVERSE: Readonly<Record<number, number>> = { 1: 2, 2: 1, 3: 3 };

/**
 * One open transaction's captured changes, in redo order. Rows with ROLLBACK = 1 (a rollback to a
 * savepoint) undo the newest change still kept on the same table whose operation they invert
 * (LogMiner writes the undo of an insert as a delete, of a delete as an insert, of an update as an
 * update), so a partially rolled-back transaction emits only what it committed.
 */
export class TransactionBuffer {
  readonly changes: BufferedChange[] = [];
  /** Characters of SQL_REDO held, for the memory gauge. */
  chars = 0;

  constructor(
    readonly xid: string,
    /** The SCN of its first change (its START record where mined). */
    readonly startScn: bigint,
  ) {}

  add(change: BufferedChange): void {
    this.changes.push(change);
    this.chars += change.sqlRedo.length;
  }

  /** Removes the change a ROLLBACK = 1 row undoes; false when none matches (it was not captured). */
  undo(undoing: BufferedChange): boolean {
    const inverse = INVERSE[undoing.operationCode];
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const c = this.changes[i] as BufferedChange;
      if (c.owner === undoing.owner && c.table === undoing.table && c.operationCode === inverse) {
        this.changes.splice(i, 1);
        this.chars -= c.sqlRedo.length;
        return true;
      }
    }
    return false;
  }
}

/** The open transactions by XID, with the oldest start (the restart SCN of an offset taken now). */
export class OpenTransactions {
  private readonly byXid = new Map<string, TransactionBuffer>();

  get(xid: string): TransactionBuffer | undefined {
    return this.byXid.get(xid);
  }

  open(xid: string, startScn: bigint): TransactionBuffer {
    let tx = this.byXid.get(xid);
    if (tx === undefined) {
      tx = new TransactionBuffer(xid, startScn);
      this.byXid.set(xid, tx);
    }
    return tx;
  }

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

  /** Changes and SQL_REDO characters held across all open transactions. */
  held(): { changes: number; chars: number } {
    let changes = 0;
    let chars = 0;
    for (const tx of this.byXid.values()) {
      changes += tx.changes.length;
      chars += tx.chars;
    }
    return { changes, chars };
  }
}
