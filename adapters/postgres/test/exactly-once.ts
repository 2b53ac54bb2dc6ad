import {
  type Checkpoint,
  type EventBatch,
  type JsonValue,
  type Source,
  type SourceAdapter,
  type SourceEvent,
  tableName,
} from '@highwater/core';
import pg from 'pg';

/**
 * Support for the kill/restart tests: a writer whose every update increments a version column, and a
 * transactional sink that checks each event against what it has stored, so a lost or duplicated
 * event is caught at once (not only when the final state differs).
 *
 * Table shape: `(id int4 PRIMARY KEY, v int4 NOT NULL, pad text)`. Ids are never reused, an insert
 * has `v = 0` and every update runs `v = v + 1`, so per key: one read or one insert, then updates
 * whose `after.v` goes up by exactly one each, then at most one delete.
 */

/** A small deterministic PRNG (mulberry32), so a failing run can be repeated from its seed. */
export class Random {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Writes to one table and keeps the ids that exist; a new connection per call (the server may have restarted). */
export class VersionedWriter {
  private nextId: number;
  private readonly live: number[] = [];
  writes = 0;

  constructor(
    private readonly url: string,
    readonly table: string,
    private readonly random: Random,
    initialRows: number,
  ) {
    this.nextId = initialRows + 1;
    for (let id = 1; id <= initialRows; id++) this.live.push(id);
  }

  /** Creates the table with `rows` rows (ids 1..rows, v = 0). */
  static async create(url: string, table: string, rows: number, random: Random): Promise<VersionedWriter> {
    await withClient(url, (c) =>
      c.query(`CREATE TABLE ${table} (id int4 PRIMARY KEY, v int4 NOT NULL, pad text);
        INSERT INTO ${table} SELECT g, 0, repeat(md5(g::text), 2) FROM generate_series(1, ${rows}) g`),
    );
    return new VersionedWriter(url, table, random, rows);
  }

  /** `n` random writes (inserts, updates, deletes), some of them several to one transaction. */
  async write(n: number): Promise<void> {
    await withClient(this.url, async (c) => {
      for (let done = 0; done < n; ) {
        const size = this.random.below(4) === 0 ? 2 + this.random.below(4) : 1;
        if (size > 1) await c.query('BEGIN');
        for (let i = 0; i < size; i++, done++) await this.one(c);
        if (size > 1) await c.query('COMMIT');
      }
    });
  }

  private async one(c: pg.Client): Promise<void> {
    this.writes++;
    const roll = this.random.below(10);
    if (roll < 3 || this.live.length < 10) {
      const id = this.nextId++;
      await c.query(`INSERT INTO ${this.table} VALUES ($1, 0, $2)`, [id, `w${this.writes}`]);
      this.live.push(id);
      return;
    }
    const at = this.random.below(this.live.length);
    const id = this.live[at] as number;
    if (roll < 8) {
      await c.query(`UPDATE ${this.table} SET v = v + 1, pad = $2 WHERE id = $1`, [id, `w${this.writes}`]);
      return;
    }
    await c.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
    this.live.splice(at, 1);
  }

  /** The table as it is: id → {v, pad}. */
  async rows(): Promise<Map<number, { v: number; pad: string | null }>> {
    const result = await withClient(this.url, (c) =>
      c.query<{ id: number; v: number; pad: string | null }>(`SELECT id, v, pad FROM ${this.table}`),
    );
    return new Map(result.rows.map((r) => [r.id, { v: r.v, pad: r.pad }]));
  }
}

export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Stored {
  v: number;
  pad: string | null;
}

/** What a transactional sink has stored for one versioned table, and the rules every event must keep. */
export class VersionedState {
  readonly rows = new Map<number, Stored>();
  /** Every key any event touched: ids are never reused, so a second read or insert is a duplicate. */
  readonly seen = new Set<number>();
  readonly problems: string[] = [];
  /** Events applied per op. */
  readonly counts = { r: 0, c: 0, u: 0, d: 0 };

  constructor(readonly table: string) {}

  clone(): VersionedState {
    const copy = new VersionedState(this.table);
    for (const [k, v] of this.rows) copy.rows.set(k, { ...v });
    for (const k of this.seen) copy.seen.add(k);
    copy.problems.push(...this.problems);
    Object.assign(copy.counts, this.counts);
    return copy;
  }

  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'change' || e.source.table !== this.table) continue;
      this.counts[e.op]++;
      const row = (e.after ?? e.before) as { id: number; v?: number; pad?: string | null };
      const id = row.id;
      const at = JSON.stringify(e.source.offset);
      const current = this.rows.get(id);
      switch (e.op) {
        case 'r':
        case 'c':
          if (this.seen.has(id)) this.problems.push(`${e.op} of id ${id} at ${at}: the key was already seen`);
          if (e.op === 'c' && row.v !== 0) this.problems.push(`insert of id ${id} at ${at} has v = ${row.v}`);
          this.rows.set(id, { v: row.v as number, pad: row.pad ?? null });
          break;
        case 'u':
          if (current === undefined) this.problems.push(`update of id ${id} at ${at}: the key is not stored`);
          else if (row.v !== current.v + 1)
            this.problems.push(`update of id ${id} at ${at}: v ${current.v} → ${row.v} (lost or repeated update)`);
          this.rows.set(id, { v: row.v as number, pad: row.pad ?? null });
          break;
        case 'd':
          if (current === undefined) this.problems.push(`delete of id ${id} at ${at}: the key is not stored`);
          this.rows.delete(id);
          break;
      }
      this.seen.add(id);
    }
  }

  /** Differences between what is stored and the table. */
  differences(table: ReadonlyMap<number, Stored>): string[] {
    const out: string[] = [];
    for (const [id, row] of table) {
      const got = this.rows.get(id);
      if (got === undefined) out.push(`missing id ${id}`);
      else if (got.v !== row.v || got.pad !== row.pad)
        out.push(`id ${id}: stored ${JSON.stringify(got)}, table ${JSON.stringify(row)}`);
    }
    for (const id of this.rows.keys()) if (!table.has(id)) out.push(`extra id ${id}`);
    return out;
  }
}

/** A sink that stores its rows and the batch checkpoint together, as one transaction would. */
export interface Committed {
  readonly state: VersionedState;
  readonly checkpoint: Checkpoint | null;
}

/**
 * Pulls batches from a source in the background, applying each to a staged copy of the stored state
 * and then storing state and checkpoint together (then telling the source). `stop()` leaves the
 * source open; whatever it has not stored is lost, as in a crash.
 */
export class Pump {
  committed: Committed;
  failure: unknown = null;
  batches = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    readonly source: Source,
    start: Committed,
  ) {
    this.committed = start;
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const iterator = this.source[Symbol.asyncIterator]();
    try {
      while (this.running) {
        const next = await iterator.next();
        if (next.done === true || !this.running) return;
        this.store(next.value);
        await this.source.commit(next.value.checkpoint);
      }
    } catch (error) {
      if (this.running) this.failure = error;
    }
  }

  private store(batch: EventBatch): void {
    const state = this.committed.state.clone();
    state.apply(batch.events);
    // A JSON round-trip: what a real store keeps.
    this.committed = { state, checkpoint: JSON.parse(JSON.stringify(batch.checkpoint)) as Checkpoint };
    this.batches++;
  }

  /** Waits until `condition` holds for what is stored, failing on a source failure or after `ms`. */
  async until(what: string, condition: (c: Committed) => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition(this.committed)) {
      if (this.failure !== null)
        throw new Error(`${what}: the source failed: ${String(this.failure)}`, { cause: this.failure });
      if (Date.now() > deadline) {
        throw new Error(`${what}: not reached in ${ms} ms (checkpoint ${JSON.stringify(this.committed.checkpoint)})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops pulling and closes the source ("crash" when nothing else is done first). */
  async stop(): Promise<void> {
    this.running = false;
    await this.source.close().catch(() => undefined);
    await this.done;
  }
}

/** True once the table is past its snapshot in the stored checkpoint. */
export function streaming(c: Committed, table: string): boolean {
  return c.checkpoint?.tables[table]?.phase === 'stream';
}

/** The database's current high watermark, serialised. */
export async function currentPosition(adapter: SourceAdapter<unknown>): Promise<JsonValue> {
  const introspector = await adapter.createIntrospector();
  try {
    return adapter.offsets.toJSON(await introspector.highWatermark());
  } finally {
    await introspector.close();
  }
}

/** Until the stored checkpoint is past the snapshot and at or after the database's current position. */
export async function catchUp(pump: Pump, adapter: SourceAdapter<unknown>, table: string): Promise<void> {
  const target = adapter.offsets.fromJSON(await currentPosition(adapter));
  await pump.until('catching up', (c) => {
    const position = c.checkpoint?.position;
    return (
      streaming(c, table) &&
      position !== null &&
      position !== undefined &&
      adapter.offsets.compare(adapter.offsets.fromJSON(position), target) >= 0
    );
  });
}

export const qualified = (schema: string, name: string) => tableName({ schema, name });
