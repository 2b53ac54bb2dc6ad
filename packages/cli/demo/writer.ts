import pg from 'pg';
import { type SampleSize, sku } from './schema.js';

/** Rows the writer changed, counted from the rows each statement affected in committed transactions. */
export interface WriterCounts {
  inserts: number;
  updates: number;
  deletes: number;
  transactions: number;
}

/**
 * Keeps inserting, updating and deleting across all three tables, in small transactions on one
 * connection, at about `changesPerSecond` row changes a second, until `stop()`.
 */
export class Writer {
  readonly counts: WriterCounts = { inserts: 0, updates: 0, deletes: 0, transactions: 0 };
  private readonly db: pg.Client;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Why the writer stopped early, if it did. */
  failure: Error | null = null;
  private nextCustomer: number;
  private nextProduct: number;
  private nextOrder: number;
  private seed = 0x2545f491;

  constructor(
    url: string,
    private readonly size: SampleSize,
    private readonly changesPerSecond: number,
  ) {
    this.db = new pg.Client({ connectionString: url, application_name: 'highwater-demo-writer' });
    this.nextCustomer = size.customers + 1;
    this.nextProduct = size.products + 1;
    this.nextOrder = size.orders + 1;
  }

  get changes(): number {
    return this.counts.inserts + this.counts.updates + this.counts.deletes;
  }

  async start(): Promise<void> {
    await this.db.connect();
    this.running = true;
    this.loop = this.run().catch((error: Error) => {
      this.running = false;
      this.failure = error;
    });
  }

  /** Stops after the transaction in flight commits; rejects if the writer failed. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure !== null) throw new Error(`the writer failed: ${this.failure.message}`);
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.db.end().catch(() => undefined);
  }

  /** Inserts the sentinel customer and returns its id once committed. */
  async writeSentinel(): Promise<number> {
    const id = this.nextCustomer++;
    await this.db.query(
      `INSERT INTO shop.customers (id, name, email, city) VALUES ($1, 'sentinel', 'sentinel@example.com', NULL)`,
      [id],
    );
    this.counts.inserts++;
    this.counts.transactions++;
    return id;
  }

  private async run(): Promise<void> {
    const started = performance.now();
    while (this.running) {
      const ops = 1 + this.random(4);
      await this.db.query('BEGIN');
      let changed = { inserts: 0, updates: 0, deletes: 0 };
      try {
        for (let i = 0; i < ops; i++) changed = add(changed, await this.randomChange());
        await this.db.query('COMMIT');
      } catch (error) {
        await this.db.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      this.counts.inserts += changed.inserts;
      this.counts.updates += changed.updates;
      this.counts.deletes += changed.deletes;
      this.counts.transactions++;
      // Pace: sleep while ahead of the target rate.
      const due = (this.changes / this.changesPerSecond) * 1000 - (performance.now() - started);
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(due, 200)));
    }
  }

  private async randomChange(): Promise<{ inserts: number; updates: number; deletes: number }> {
    const table = this.random(3);
    const kind = this.random(10); // 0-2 insert, 3-7 update, 8-9 delete
    const op = kind < 3 ? 'insert' : kind < 8 ? 'update' : 'delete';
    let n: number;
    if (table === 0) {
      const id = op === 'insert' ? this.nextCustomer++ : 1 + this.random(this.nextCustomer - 1);
      const sql = {
        insert: `INSERT INTO shop.customers (id, name, email, city) VALUES ($1::bigint, 'Customer ' || $1::text, 'new' || $1::text || '@example.com', 'Accra')`,
        update: `UPDATE shop.customers SET city = (ARRAY['Accra','Hanoi','Turin'])[1 + (id + $2::int) % 3], email = 'moved' || $2::int || '@example.com' WHERE id = $1`,
        delete: 'DELETE FROM shop.customers WHERE id = $1',
      }[op];
      n = (await this.db.query(sql, op === 'update' ? [id, this.random(1000)] : [id])).rowCount ?? 0;
    } else if (table === 1) {
      const key = sku(op === 'insert' ? this.nextProduct++ : 1 + this.random(this.nextProduct - 1));
      const sql = {
        insert: `INSERT INTO shop.products (sku, title, price, stock, tags) VALUES ($1, 'New ' || $1, 9.99, 10, '{"colour":"new"}')`,
        update: 'UPDATE shop.products SET price = price + 0.01, stock = stock - 1 WHERE sku = $1',
        delete: 'DELETE FROM shop.products WHERE sku = $1',
      }[op];
      n = (await this.db.query(sql, [key])).rowCount ?? 0;
    } else {
      const order = op === 'insert' ? this.nextOrder++ : 1 + this.random(this.nextOrder - 1);
      const sql = {
        insert: `INSERT INTO shop.order_lines (order_id, line_no, sku, quantity, amount)
                 SELECT $1, l, $2, l, 5.00 * l FROM generate_series(1, 3) AS l`,
        update:
          'UPDATE shop.order_lines SET quantity = quantity + 1, amount = amount + 1.50 WHERE order_id = $1 AND line_no = $2',
        delete: 'DELETE FROM shop.order_lines WHERE order_id = $1 AND line_no = $2',
      }[op];
      const params = op === 'insert' ? [order, sku(1 + this.random(this.size.products))] : [order, 1 + this.random(3)];
      n = (await this.db.query(sql, params)).rowCount ?? 0;
    }
    return { inserts: op === 'insert' ? n : 0, updates: op === 'update' ? n : 0, deletes: op === 'delete' ? n : 0 };
  }

  /** xorshift32: a fixed sequence, so two runs of the demo do the same writes. */
  private random(below: number): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed % below;
  }
}

function add(
  a: { inserts: number; updates: number; deletes: number },
  b: { inserts: number; updates: number; deletes: number },
) {
  return { inserts: a.inserts + b.inserts, updates: a.updates + b.updates, deletes: a.deletes + b.deletes };
}
