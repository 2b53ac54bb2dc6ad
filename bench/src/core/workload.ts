import type { ChunkRange, Row } from '@highwater/core';
import { type ColumnDefinition, MemoryDatabase, type MemoryTransaction } from '@highwater/memory';

/** A small, fast, seedable random number generator (mulberry32), so every run writes the same data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = ['new', 'paid', 'packed', 'shipped', 'delivered', 'cancelled'] as const;

/** Six columns of the kinds an order table has: two integers, an enum, a decimal, a string, a timestamp. */
const COLUMNS: readonly ColumnDefinition[] = [
  { name: 'id', type: { kind: 'int64' } },
  { name: 'customer_id', type: { kind: 'int64' } },
  { name: 'status', type: { kind: 'enum', values: STATUSES } },
  { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 } },
  { name: 'note', type: { kind: 'string', length: 80 } },
  { name: 'updated_at', type: { kind: 'timestamptz', precision: 3 } },
];

const NOTES = [
  'leave at the door',
  'gift wrap, no invoice in the parcel',
  '',
  'call before delivery',
  'fragile: glassware',
  'second attempt, customer was out',
  'express shipping upgrade',
  'deliver to the neighbour at number 12 if nobody answers',
];

/** Creates a table with the benchmark's six columns and `id` as primary key. */
export function createOrderTable(db: MemoryDatabase, name: string): void {
  db.createTable({ name, columns: COLUMNS, primaryKey: ['id'] });
}

/**
 * Timestamps 7 ms apart, formatted once: `toISOString` per row would make filling the benchmark's
 * databases take longer than the benchmarks themselves. Rows share these strings, as rows read from
 * a real driver would not; nothing here compares or copies them.
 */
const TIMESTAMPS = Array.from({ length: 1 << 16 }, (_, i) => new Date(Date.UTC(2024, 0, 1) + 7 * i).toISOString());

/** Makes realistic order rows and partial updates of them. */
export class RowFactory {
  private clock = 0;

  constructor(private readonly random: () => number) {}

  row(id: number): Row {
    const r = this.random;
    return {
      id,
      customer_id: 1 + Math.floor(r() * 50_000),
      status: STATUSES[Math.floor(r() * 3)] as string,
      amount: (r() * 2000).toFixed(2),
      note: NOTES[Math.floor(r() * NOTES.length)] as string,
      updated_at: this.timestamp(),
    };
  }

  /** What an update typically changes: status, amount and the timestamp. */
  changes(): Row {
    const r = this.random;
    return {
      status: STATUSES[Math.floor(r() * STATUSES.length)] as string,
      amount: (r() * 2000).toFixed(2),
      updated_at: this.timestamp(),
    };
  }

  private timestamp(): string {
    this.clock = (this.clock + 1) & (TIMESTAMPS.length - 1);
    return TIMESTAMPS[this.clock] as string;
  }
}

/** The ids present in a table, for picking a random existing row in O(1) and removing it in O(1). */
export class IdPool {
  private readonly ids: number[] = [];
  /** Position of an id in `ids` plus one; 0 when absent. */
  private positions = new Int32Array(1024);

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return id < this.positions.length && (this.positions[id] as number) > 0;
  }

  add(id: number): void {
    if (this.has(id)) return;
    if (id >= this.positions.length) {
      const grown = new Int32Array(Math.max(id + 1, this.positions.length * 2));
      grown.set(this.positions);
      this.positions = grown;
    }
    this.ids.push(id);
    this.positions[id] = this.ids.length;
  }

  remove(id: number): void {
    if (!this.has(id)) return;
    const at = (this.positions[id] as number) - 1;
    const last = this.ids.pop() as number;
    if (last !== id) {
      this.ids[at] = last;
      this.positions[last] = at + 1;
    }
    this.positions[id] = 0;
  }

  pick(random: () => number): number {
    return this.ids[Math.floor(random() * this.ids.length)] as number;
  }
}

/** Counts of a change mix. */
export interface ChangeMix {
  inserts: number;
  updates: number;
  deletes: number;
}

/**
 * A database whose log holds `changes` row changes over `tables` tables: transactions of 1–8
 * changes, about 50 % inserts, 35 % updates and 15 % deletes. The log is what a stream benchmark reads.
 */
export function databaseWithLog(
  changes: number,
  tables: readonly string[],
  seed: number,
): { db: MemoryDatabase; mix: ChangeMix } {
  const db = new MemoryDatabase({ clock: () => Date.UTC(2024, 0, 1) });
  const random = seededRandom(seed);
  const rows = new RowFactory(random);
  const pools = tables.map(() => new IdPool());
  const nextId = tables.map(() => 1);
  for (const t of tables) createOrderTable(db, t);
  const mix: ChangeMix = { inserts: 0, updates: 0, deletes: 0 };
  let written = 0;
  const change = (tx: MemoryTransaction): void => {
    const t = Math.floor(random() * tables.length);
    const name = tables[t] as string;
    const pool = pools[t] as IdPool;
    const r = random();
    if (pool.size < 64 || r < 0.5) {
      const id = (nextId[t] as number) + 1;
      nextId[t] = id;
      tx.insert(name, rows.row(id));
      pool.add(id);
      mix.inserts++;
    } else if (r < 0.85) {
      tx.update(name, [pool.pick(random)], rows.changes());
      mix.updates++;
    } else {
      const id = pool.pick(random);
      tx.delete(name, [id]);
      pool.remove(id);
      mix.deletes++;
    }
  };
  while (written < changes) {
    const n = Math.min(changes - written, 1 + Math.floor(random() * 8));
    db.transactionSync((tx) => {
      for (let i = 0; i < n; i++) change(tx);
    });
    written += n;
  }
  return { db, mix };
}

/** A snapshot table: `rows` rows with dense ids 1..rows; its log purged, as on a database that has run for a while. */
export interface SnapshotTable {
  readonly db: MemoryDatabase;
  readonly table: string;
  readonly pool: IdPool;
  readonly rows: RowFactory;
  readonly random: () => number;
  /** The next id above every id ever used. */
  nextId: number;
}

export function snapshotTable(rowCount: number, seed: number): SnapshotTable {
  const db = new MemoryDatabase({ clock: () => Date.UTC(2024, 0, 1) });
  const table = 'shop.orders';
  createOrderTable(db, table);
  const random = seededRandom(seed);
  const rows = new RowFactory(random);
  const pool = new IdPool();
  const batch = 16_384;
  for (let from = 1; from <= rowCount; from += batch) {
    const to = Math.min(rowCount, from + batch - 1);
    db.transactionSync((tx) => {
      for (let id = from; id <= to; id++) tx.insert(table, rows.row(id));
    });
    for (let id = from; id <= to; id++) pool.add(id);
  }
  db.truncateLogBefore(db.logEnd() + 1);
  return { db, table, pool, rows, random, nextId: rowCount + 1 };
}

/**
 * A steady OLTP writer on a snapshot table: single-row autocommit transactions. Half of each burst
 * goes to random rows of the whole table: 60 % updates (1 in 50 of them moving the row to a free
 * key), 20 % deletes, 20 % inserts (half into a free id inside the key range, half above the
 * largest key). The other half goes to the chunk being read, when one is given: a random id of its
 * range is updated (3 in 4) or deleted when present, inserted when not — the hot rows a snapshot
 * has to merge. The table keeps about its size across runs.
 */
export class Writer {
  written = 0;
  /** Time spent inside `write`, ms. */
  busyMs = 0;
  private readonly free: IdPool = new IdPool();

  constructor(private readonly t: SnapshotTable) {}

  write(n: number, chunk?: ChunkRange): void {
    const started = performance.now();
    const inChunk = chunk === undefined ? 0 : n >>> 1;
    for (let i = inChunk; i < n; i++) this.writeAnywhere();
    if (chunk !== undefined) {
      const lo = chunk.start === null ? 1 : Number(chunk.start[0]);
      const hi = chunk.end === null ? this.t.nextId : Number(chunk.end[0]);
      for (let i = 0; i < inChunk; i++) this.writeAt(lo + Math.floor(this.t.random() * (hi - lo)));
    }
    this.written += n;
    this.busyMs += performance.now() - started;
  }

  private writeAt(id: number): void {
    const { db, table, pool, rows, random } = this.t;
    if (!pool.has(id)) {
      db.insert(table, rows.row(id));
      pool.add(id);
      this.free.remove(id);
      if (id >= this.t.nextId) this.t.nextId = id + 1;
    } else if (random() < 0.75) {
      db.update(table, [id], rows.changes());
    } else {
      db.delete(table, [id]);
      pool.remove(id);
      this.free.add(id);
    }
  }

  private writeAnywhere(): void {
    const { db, table, pool, rows, random } = this.t;
    const r = random();
    if (r < 0.6) {
      const id = pool.pick(random);
      if (r < 0.012 && this.free.size > 0) {
        const to = this.free.pick(random);
        db.update(table, [id], { ...rows.changes(), id: to });
        this.free.remove(to);
        pool.add(to);
        pool.remove(id);
        this.free.add(id);
      } else {
        db.update(table, [id], rows.changes());
      }
    } else if (r < 0.8) {
      const id = pool.pick(random);
      db.delete(table, [id]);
      pool.remove(id);
      this.free.add(id);
    } else {
      let id: number;
      if (r < 0.9 && this.free.size > 0) {
        id = this.free.pick(random);
        this.free.remove(id);
      } else {
        id = this.t.nextId++;
      }
      db.insert(table, rows.row(id));
      pool.add(id);
    }
  }
}
