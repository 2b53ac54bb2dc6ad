import type pg from 'pg';

/** The demo's tables: an integer key, a string key and a composite key. */
export const TABLES = ['shop.customers', 'shop.products', 'shop.order_lines'] as const;

/** How many rows each table starts with. */
export interface SampleSize {
  readonly customers: number;
  readonly products: number;
  /** Orders; each has three lines. */
  readonly orders: number;
}

export function totalRows(size: SampleSize): number {
  return size.customers + size.products + size.orders * 3;
}

/** `SKU-0000042`: the products' string key. */
export function sku(n: number): string {
  return `SKU-${String(n).padStart(7, '0')}`;
}

/**
 * Creates schema `shop` and fills it with `INSERT … SELECT generate_series`, which loads a few hundred
 * thousand rows in seconds.
 */
export async function createSampleData(db: pg.Client, size: SampleSize): Promise<void> {
  await db.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.customers (
      id bigint PRIMARY KEY,
      name text NOT NULL,
      email text NOT NULL,
      city text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE shop.products (
      sku text PRIMARY KEY,
      title text NOT NULL,
      price numeric(10, 2) NOT NULL,
      stock integer NOT NULL,
      tags jsonb
    );
    CREATE TABLE shop.order_lines (
      order_id bigint NOT NULL,
      line_no smallint NOT NULL,
      sku text NOT NULL,
      quantity integer NOT NULL,
      amount numeric(12, 2) NOT NULL,
      PRIMARY KEY (order_id, line_no)
    );`);
  const cities = `(ARRAY['Lisbon','Oslo','Quito','Osaka','Perth','Tunis','Lima','Riga'])[1 + g % 8]`;
  await db.query(
    `INSERT INTO shop.customers (id, name, email, city, created_at)
     SELECT g, 'Customer ' || g, 'customer' || g || '@example.com', ${cities}, now() - g * interval '1 minute'
     FROM generate_series(1, $1::int) AS g`,
    [size.customers],
  );
  await db.query(
    `INSERT INTO shop.products (sku, title, price, stock, tags)
     SELECT 'SKU-' || lpad(g::text, 7, '0'), 'Product ' || g, (g % 5000) / 100.0 + 1, g % 300,
            jsonb_build_object('colour', (ARRAY['red','green','blue'])[1 + g % 3], 'batch', g % 17)
     FROM generate_series(1, $1::int) AS g`,
    [size.products],
  );
  await db.query(
    `INSERT INTO shop.order_lines (order_id, line_no, sku, quantity, amount)
     SELECT o, l, 'SKU-' || lpad((1 + (o * 7 + l) % $2::int)::text, 7, '0'), 1 + (o + l) % 5, ((o * l) % 9000) / 100.0 + 1
     FROM generate_series(1, $1::int) AS o, generate_series(1, 3) AS l`,
    [size.orders, size.products],
  );
  await db.query('ANALYZE shop.customers, shop.products, shop.order_lines');
}
