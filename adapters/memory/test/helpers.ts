import type { LogItem, LogReader, Row, SourceAdapter, TableSchema } from '@highwater/core';
import { type MemoryAdapterOptions, MemoryDatabase, memoryAdapter } from '../src/index.js';

export const ORDERS = 'shop.orders';

/** A database with `shop.orders (id int64 pk, customer string, total decimal, note string)`. */
export function ordersDb(options: ConstructorParameters<typeof MemoryDatabase>[0] = {}): MemoryDatabase {
  const db = new MemoryDatabase(options);
  db.createTable({
    name: ORDERS,
    columns: [
      { name: 'id', type: { kind: 'int64' } },
      { name: 'customer', type: { kind: 'string' }, nullable: false },
      { name: 'total', type: { kind: 'decimal', precision: 10, scale: 2 } },
      { name: 'note', type: { kind: 'string' } },
    ],
    primaryKey: ['id'],
  });
  return db;
}

export function order(id: number, customer = `c${id}`, total: string | null = '1.00'): Row {
  return { id, customer, total, note: null };
}

export async function setup(db: MemoryDatabase, options: MemoryAdapterOptions = {}) {
  const adapter = memoryAdapter(db, options);
  const introspector = await adapter.createIntrospector();
  return { adapter, introspector };
}

export async function schemasOf(adapter: SourceAdapter<number>, ...names: string[]): Promise<readonly TableSchema[]> {
  const introspector = await adapter.createIntrospector();
  try {
    return await introspector.describeTables(
      names.map((n) => ({ schema: n.split('.')[0], name: n.split('.')[1] as string })),
    );
  } finally {
    await introspector.close();
  }
}

/** Pulls batches from a log reader, with a timeout so a hang fails the test instead of stalling it. */
export class Pull {
  private readonly iterator: AsyncIterator<readonly LogItem<number>[]>;
  /** A `next()` still in flight after a timeout: the following call must take its result, not lose it. */
  private pending: Promise<IteratorResult<readonly LogItem<number>[]>> | null = null;

  constructor(reader: LogReader<number>) {
    this.iterator = reader[Symbol.asyncIterator]();
  }

  /** The next batch, or `'done'` when iteration ended, or `'timeout'`. */
  async next(timeoutMs = 1000): Promise<readonly LogItem<number>[] | 'done' | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      this.pending ??= this.iterator.next();
      const result = await Promise.race([this.pending, timeout]);
      if (result === 'timeout') return result;
      this.pending = null;
      return result.done === true ? 'done' : result.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Batches until one ends at `offset` (inclusive), flattened. */
  async until(offset: number): Promise<LogItem<number>[]> {
    const items: LogItem<number>[] = [];
    for (;;) {
      const batch = await this.next();
      if (batch === 'done' || batch === 'timeout') throw new Error(`log reader ${batch} before offset ${offset}`);
      items.push(...batch);
      if ((batch[batch.length - 1] as LogItem<number>).offset >= offset) return items;
    }
  }
}

/** Row changes only, as compact tuples for assertions. */
export function changes(items: readonly LogItem<number>[]): [number, string, unknown, unknown][] {
  return items.flatMap((i) =>
    i.kind === 'change'
      ? [[i.offset, i.op, i.before?.id ?? null, i.after?.id ?? null] as [number, string, unknown, unknown]]
      : [],
  );
}

/** Collects every row a chunk read yields. */
export async function readAll(iterable: AsyncIterable<readonly Row[]>): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of iterable) rows.push(...batch);
  return rows;
}

/** A small seeded PRNG (mulberry32) so randomised tests are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
