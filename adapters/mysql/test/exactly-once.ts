import {
  type Checkpoint,
  createSource,
  type EventBatch,
  type Row,
  type Source,
  type SourceEvent,
} from '@highwater/core';
import mysql from 'mysql2/promise';
import { type MysqlAdapterOptions, mysqlAdapter, mysqlOffsets } from '../src/index.js';

/**
 * What a transactional sink has stored for one `(id int primary key, v bigint)` table: its rows
 * and the checkpoint, always together. `apply` checks exactly-once on every event (as the
 * conformance suite's Materialised does, which the package does not export): a key is read once
 * and only while absent, an insert finds its key absent, an update or delete finds the row it
 * names present and equal to its before-image, and no change offset repeats. Every write carries a
 * unique `v` (its tag), so how often each write was delivered can be counted.
 */
export class Ledger {
  readonly rows = new Map<number, Row>();
  readonly problems: string[] = [];
  /** How often a tag arrived as an after-image of a change. */
  readonly tags = new Map<number, number>();
  private readonly read = new Set<number>();
  private readonly offsets = new Set<string>();
  checkpoint: Checkpoint | null = null;

  constructor(readonly table: string) {}

  get streaming(): boolean {
    return this.checkpoint?.tables[this.table]?.phase === 'stream';
  }

  clone(): Ledger {
    const copy = new Ledger(this.table);
    for (const [k, v] of this.rows) copy.rows.set(k, v);
    for (const [k, v] of this.tags) copy.tags.set(k, v);
    for (const k of this.read) copy.read.add(k);
    for (const k of this.offsets) copy.offsets.add(k);
    copy.problems.push(...this.problems);
    copy.checkpoint = this.checkpoint;
    return copy;
  }

  apply(batch: EventBatch): void {
    for (const e of batch.events) this.event(e);
    // Stored as a sink would: serialised.
    this.checkpoint = JSON.parse(JSON.stringify(batch.checkpoint)) as Checkpoint;
  }

  private event(e: SourceEvent): void {
    if (e.kind === 'truncate') this.rows.clear();
    if (e.kind !== 'change' || e.source.table !== this.table) return;
    const before = e.before === null ? null : Number(e.before.id);
    const after = e.after === null ? null : Number(e.after.id);
    if (e.op === 'r') {
      if (after === null || this.read.has(after) || this.rows.has(after)) this.problems.push(`read twice: ${after}`);
      if (after !== null) this.read.add(after);
    } else {
      const offset = JSON.stringify(e.source.offset);
      if (this.offsets.has(offset)) this.problems.push(`offset repeated: ${offset}`);
      this.offsets.add(offset);
      const v = e.after?.v;
      if (v !== undefined && v !== null) this.tags.set(Number(v), (this.tags.get(Number(v)) ?? 0) + 1);
    }
    if (before !== null && e.op !== 'r') {
      const current = this.rows.get(before);
      if (current === undefined || current.v !== e.before?.v) {
        this.problems.push(`${e.op} of ${before} (v=${String(e.before?.v)}) finds ${String(current?.v ?? 'nothing')}`);
      }
      this.rows.delete(before);
    }
    if (after !== null && e.after !== null) {
      if (e.op === 'c' && this.rows.has(after)) this.problems.push(`insert of ${after}, already present`);
      this.rows.set(after, e.after);
    }
  }
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

export interface PipelineOptions {
  readonly url: string;
  readonly table: string;
  readonly adapter?: Partial<MysqlAdapterOptions>;
}

/**
 * A consumer with a transactional sink: each batch is applied to a copy of the ledger and stored
 * with its checkpoint; `crash()` closes the source mid-flight and `open()` resumes from what was
 * stored, with a new adapter and source.
 */
export class Pipeline {
  ledger: Ledger;
  batches = 0;
  private source: Source | null = null;
  private iterator: AsyncIterator<EventBatch> | null = null;
  private pending: Promise<IteratorResult<EventBatch>> | null = null;

  constructor(private readonly options: PipelineOptions) {
    this.ledger = new Ledger(options.table);
  }

  async open(): Promise<void> {
    const adapter = mysqlAdapter({
      connection: this.options.url,
      heartbeatMs: 50,
      lowWatermarkPatienceMs: 500,
      ...this.options.adapter,
    });
    this.source = createSource({
      adapter,
      tables: { include: [this.options.table] },
      resumeFrom: this.ledger.checkpoint,
      chunkSize: 25,
      parallelism: 2,
      batchSize: 20,
      maxQueuedBatches: 1,
      heartbeatIntervalMs: 100,
      // A server restart takes a second or two: enough attempts to outlast it.
      retry: { attempts: 30, initialDelayMs: 50, maxDelayMs: 400 },
    });
    await this.source.start();
    this.iterator = this.source[Symbol.asyncIterator]();
    this.pending = null;
  }

  /** Takes one batch (or nothing within `idleMs`), applies it and stores it with its checkpoint. */
  async take(idleMs = 200): Promise<boolean> {
    if (this.iterator === null) throw new Error('not open');
    this.pending ??= this.iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<'idle'>((resolve) => {
      timer = setTimeout(() => resolve('idle'), idleMs);
    });
    const result = await Promise.race([this.pending, idle]).finally(() => clearTimeout(timer));
    if (result === 'idle') return false;
    this.pending = null;
    if (result.done === true) throw new Error('the source ended');
    const next = this.ledger.clone();
    next.apply(result.value);
    this.ledger = next;
    this.batches++;
    return true;
  }

  /** Takes `n` batches (within `ms`). */
  async takeBatches(n: number, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (let got = 0; got < n; ) {
      if (Date.now() > deadline) throw new Error(`only ${got} of ${n} batches in ${ms} ms`);
      if (await this.take()) got++;
    }
  }

  async until(what: string, done: () => boolean, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms (${this.batches} batches)`);
      await this.take();
    }
  }

  /** Until the stored checkpoint is past the snapshot and at or past the binlog position `target`. */
  async catchUp(target: ReturnType<typeof mysqlOffsets.fromJSON>): Promise<void> {
    await this.until('catching up', () => {
      const p = this.ledger.checkpoint?.position;
      return this.ledger.streaming && p != null && mysqlOffsets.compare(mysqlOffsets.fromJSON(p), target) >= 0;
    });
  }

  /** Closes the source without storing the batch it may be about to hand out. */
  async crash(): Promise<void> {
    const source = this.source;
    this.source = null;
    this.iterator = null;
    this.pending?.catch(() => undefined);
    this.pending = null;
    await source?.close();
  }
}
