import type { EventCheck } from '@highwater/conformance';
import mysql from 'mysql2/promise';

/**
 * The tagged table's rules, on top of the conformance suite's exactly-once ones (which Materialised
 * checks): an update or delete finds the row it names equal to its before-image, and no change
 * offset repeats. Every write carries a unique `v` (its tag), so `tags` counts how often each write
 * arrived as the after-image of a change (the check runs as each batch is stored).
 */
export function tagCheck(table: string): { check: EventCheck; tags: Map<number, number> } {
  const tags = new Map<number, number>();
  const offsets = new Set<string>();
  const check: EventCheck = (e, output) => {
    if (e.kind !== 'change' || e.source.table !== table || e.op === 'r') return;
    const offset = JSON.stringify(e.source.offset);
    if (offsets.has(offset)) output.problem(`offset repeated: ${offset}`);
    offsets.add(offset);
    const v = e.after?.v;
    if (v !== undefined && v !== null) tags.set(Number(v), (tags.get(Number(v)) ?? 0) + 1);
    if (e.before === null) return;
    const current = output.find(table, e.before);
    if (current !== undefined && current.v !== e.before.v) {
      output.problem(`${e.op} of ${String(e.before.id)} (v=${String(e.before.v)}) finds ${String(current.v)}`);
    }
  };
  return { check, tags };
}

/** Random writes on the table while a test disrupts things: inserts, updates, key moves, deletes, sometimes in a transaction. */
export class Writer {
  /** Tags of writes that committed (affected a row), with whether the table's snapshot had finished before they began. */
  readonly committed = new Map<number, { afterSnapshot: boolean }>();
  private nextTag = 1_000_000;
  private running: Promise<void> | null = null;
  private stopping = false;
  private paused = false;
  private client: mysql.Connection | null = null;

  constructor(
    private readonly url: string,
    private readonly table: string,
    private readonly streaming: () => boolean,
    private readonly maxId: number,
  ) {}

  start(): void {
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  /** Stops writing for a while (around a server restart, where a commit's outcome would be unknown). */
  async pause<T>(during: () => Promise<T>): Promise<T> {
    await this.stop();
    this.paused = true;
    try {
      return await during();
    } finally {
      this.paused = false;
      this.start();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping && !this.paused) {
      try {
        this.client ??= await mysql.createConnection(this.url);
        await this.step(this.client);
      } catch (error) {
        throw new Error(`the test writer failed: ${(error as Error).message}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  private async step(db: mysql.Connection): Promise<void> {
    const afterSnapshot = this.streaming();
    const id = 1 + Math.floor(Math.random() * this.maxId);
    const tag = this.nextTag++;
    const dice = Math.random();
    const inTransaction = Math.random() < 0.2;
    if (inTransaction) await db.query('BEGIN');
    let affected = 0;
    if (dice < 0.35) {
      [{ affectedRows: affected }] = (await db.query('INSERT IGNORE INTO ?? (id, v) VALUES (?, ?)', [
        this.table,
        id,
        tag,
      ])) as unknown as [{ affectedRows: number }];
    } else if (dice < 0.75) {
      // changedRows: mysql2 asks for found rows, so affectedRows counts rows matched, not changed.
      [{ changedRows: affected }] = (await db.query('UPDATE ?? SET v = ? WHERE id = ?', [
        this.table,
        tag,
        id,
      ])) as unknown as [{ changedRows: number }];
    } else if (dice < 0.85) {
      const to = 1 + Math.floor(Math.random() * this.maxId);
      [{ changedRows: affected }] = (await db.query('UPDATE IGNORE ?? SET id = ?, v = ? WHERE id = ?', [
        this.table,
        to,
        tag,
        id,
      ])) as unknown as [{ changedRows: number }];
    } else {
      await db.query('DELETE FROM ?? WHERE id = ?', [this.table, id]);
    }
    if (inTransaction) await db.query('COMMIT');
    if (affected > 0) this.committed.set(tag, { afterSnapshot });
  }
}
