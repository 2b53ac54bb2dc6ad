import type { TableSchema } from '@highwater/core';
import { TableNotFoundError } from '@highwater/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAdapter } from '../src/index.js';
import type { PgIntrospector } from '../src/introspector.js';
import { compareOffsets, positionAt } from '../src/offsets/pg-offset.js';
import { parseLsn } from '../src/offsets/lsn.js';
import { usePostgres } from './helpers.js';

const pgs = usePostgres();

describe('introspector', () => {
  let introspector: PgIntrospector;
  beforeAll(async () => {
    const db = pgs.sql();
    await db.query(`
      CREATE SCHEMA shop;
      CREATE TABLE public.items (id int8 PRIMARY KEY, name text);
      CREATE TABLE shop.orders (region text, n int4, note varchar(20), PRIMARY KEY (region, n));
      CREATE TABLE shop.events (id int4, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE public.nokey (a int);
      CREATE VIEW public.v AS SELECT 1 AS x;
      INSERT INTO public.items SELECT g, 'n' || g FROM generate_series(1, 1000) g;
      INSERT INTO shop.orders VALUES ('b', 1, 'x'), ('a', 2, 'y'), ('a', 1, 'z'), ('B', 5, NULL), ('é', 0, NULL), ('a', 10, NULL);
      INSERT INTO shop.events SELECT g, date '2024-06-01' + g FROM generate_series(1, 400) g;
    `);
    introspector = (await postgresAdapter({ connection: pgs.server().url }).createIntrospector()) as PgIntrospector;
  });
  afterAll(async () => {
    await introspector?.close();
  });

  it('lists user tables in every schema, partitioned tables as their root only', async () => {
    const tables = await introspector.listTables();
    expect(tables).toEqual([
      { schema: 'public', name: 'items' },
      { schema: 'public', name: 'nokey' },
      { schema: 'shop', name: 'events' },
      { schema: 'shop', name: 'orders' },
    ]);
  });

  it('describes columns, types and primary keys', async () => {
    const [orders, nokey] = await introspector.describeTables([
      { schema: 'shop', name: 'orders' },
      { schema: 'public', name: 'nokey' },
    ]);
    expect(orders).toEqual({
      id: { schema: 'shop', name: 'orders' },
      columns: [
        { name: 'region', type: { kind: 'string' }, nativeType: 'text', nullable: false },
        { name: 'n', type: { kind: 'int32' }, nativeType: 'integer', nullable: false },
        { name: 'note', type: { kind: 'string', length: 20 }, nativeType: 'character varying(20)', nullable: true },
      ],
      primaryKey: ['region', 'n'],
      chunkKey: ['region', 'n'],
      uniqueKeys: [['region', 'n']],
      // The relation's oid and the columns' numbers, which a rename keeps.
      sourceIds: { table: expect.any(Number), columns: { region: 1, n: 2, note: 3 } },
    });
    expect(nokey?.primaryKey).toEqual([]);
    await expect(introspector.describeTables([{ schema: 'public', name: 'missing' }])).rejects.toThrow(
      TableNotFoundError,
    );
  });

  it('key range, boundaries and estimates on a numeric key', async () => {
    const [items] = (await introspector.describeTables([{ schema: 'public', name: 'items' }])) as TableSchema[];
    const table = items as TableSchema;
    expect(await introspector.keyRange(table)).toEqual({ min: [1], max: [1000] });
    expect(await introspector.nextChunkBoundary(table, null, 100)).toEqual([101]);
    expect(await introspector.nextChunkBoundary(table, [101], 100)).toEqual([201]);
    expect(await introspector.nextChunkBoundary(table, [950], 100)).toBeNull();
    expect(await introspector.nextChunkBoundary(table, [950], 50)).toEqual([1000]);
    // Never analysed: small tables are counted.
    expect(await introspector.estimateRowCount(table)).toBe(1000);
    await pgs.sql().query('ANALYZE public.items');
    expect(await introspector.estimateRowCount(table)).toBe(1000);
  });

  it('composite text keys walk in code-point order, matching compareKeys', async () => {
    const adapter = postgresAdapter({ connection: pgs.server().url });
    const [orders] = (await introspector.describeTables([{ schema: 'shop', name: 'orders' }])) as TableSchema[];
    const table = orders as TableSchema;
    const keys = [];
    let k = await introspector.nextChunkBoundary(table, null, 1);
    while (k !== null) {
      keys.push(k);
      k = await introspector.nextChunkBoundary(table, k, 1);
    }
    expect(keys).toEqual([
      ['a', 1],
      ['a', 2],
      ['a', 10],
      ['b', 1],
      ['é', 0],
    ]);
    const all = [['B', 5], ...keys];
    expect(await introspector.keyRange(table)).toEqual({ min: ['B', 5], max: ['é', 0] });
    const sorted = [...all].reverse().sort((a, b) => adapter.compareKeys(table, a, b));
    expect(sorted).toEqual(all);
  });

  it('partitioned tables: key range and estimate over all partitions', async () => {
    const [events] = (await introspector.describeTables([{ schema: 'shop', name: 'events' }])) as TableSchema[];
    const table = events as TableSchema;
    expect(table.primaryKey).toEqual(['id', 'at']);
    expect(await introspector.keyRange(table)).toEqual({ min: [1, '2024-06-02'], max: [400, '2025-07-06'] });
    expect(await introspector.estimateRowCount(table)).toBe(400);
    expect(await introspector.nextChunkBoundary(table, [200, '2024-12-18'], 150)).toEqual([350, '2025-05-17']);
  });

  it('watermarks: LW never goes backwards, HW is after every visible commit', async () => {
    const lw1 = await introspector.lowWatermark();
    await pgs.sql().query("INSERT INTO public.items VALUES (5000, 'x')");
    const lsnAfter = parseLsn(
      (await pgs.sql().query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]?.l ?? '',
    );
    const hw = await introspector.highWatermark();
    const lw2 = await introspector.lowWatermark();
    expect(compareOffsets(lw1, lw2)).toBeLessThan(0);
    expect(compareOffsets(hw, positionAt(lsnAfter))).toBeGreaterThanOrEqual(0);
    expect(compareOffsets(lw2, hw)).toBeGreaterThanOrEqual(0);
  });

  /**
   * Starts a low watermark while `other` holds a transaction, commits 300 ms later; whether the
   * watermark had settled before the commit, and the watermark.
   */
  async function lowWatermarkAcross(other: { query(sql: string): Promise<unknown> }) {
    let settled = false;
    const pending = introspector.lowWatermark().finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    const settledBeforeCommit = settled;
    await other.query('COMMIT');
    return { settledBeforeCommit, lw: await pending };
  }

  it('LW waits for a transaction that was in progress when its LSN was read', async () => {
    const other = new (await import('pg')).default.Client({ connectionString: pgs.server().url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query("INSERT INTO public.items VALUES (6000, 'held')"); // has an xid now
      const before = await introspector.lowWatermark(); // patience 2 s: falls back to the last safe one
      const { settledBeforeCommit, lw } = await lowWatermarkAcross(other);
      expect(settledBeforeCommit).toBe(false);
      expect(compareOffsets(lw, before)).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
  });

  it('LW waits for the newest transaction id, which a snapshot does not list as running', async () => {
    const other = new (await import('pg')).default.Client({ connectionString: pgs.server().url });
    await other.connect();
    try {
      const before = await introspector.lowWatermark();
      // Nothing completes between this id and the LW statement: the statement's snapshot ends below
      // the id (xmax = latest completed + 1), so the id is missing from its list of running ones.
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      const { settledBeforeCommit, lw } = await lowWatermarkAcross(other);
      expect(settledBeforeCommit).toBe(false);
      expect(compareOffsets(lw, before)).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
  });

  /** The next transaction id the server will assign: a sampled low watermark takes one, a reused one does not. */
  async function nextXid(): Promise<bigint> {
    const r = await pgs.sql().query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x');
    return BigInt(r.rows[0]?.x ?? '');
  }

  it("the next LW reuses the sample a HW's statement found safe, once, while it is recent", async () => {
    await pgs.sql().query("INSERT INTO public.items VALUES (8000, 'reuse')");
    const hw = await introspector.highWatermark();
    let xid = await nextXid();
    const reused = await introspector.lowWatermark();
    expect(await nextXid()).toBe(xid); // no statement of its own
    expect(compareOffsets(reused, hw)).toBeGreaterThanOrEqual(0);

    xid = await nextXid();
    const sampled = await introspector.lowWatermark(); // the sample was used up
    expect(await nextXid()).toBe(xid + 1n);
    expect(compareOffsets(sampled, reused)).toBeGreaterThanOrEqual(0);

    await introspector.highWatermark();
    await new Promise((r) => setTimeout(r, 1100)); // older than the reuse limit (1 s)
    xid = await nextXid();
    await introspector.lowWatermark();
    expect(await nextXid()).toBe(xid + 1n);
  });

  it('a HW taken while a transaction is in progress leaves the next LW to wait for it', async () => {
    const other = new (await import('pg')).default.Client({ connectionString: pgs.server().url });
    await other.connect();
    try {
      const before = await introspector.lowWatermark();
      await other.query('BEGIN');
      await other.query("INSERT INTO public.items VALUES (8001, 'held')");
      const hw = await introspector.highWatermark();
      const { settledBeforeCommit, lw } = await lowWatermarkAcross(other);
      expect(settledBeforeCommit).toBe(false);
      expect(compareOffsets(lw, before)).toBeGreaterThan(0);
      expect(compareOffsets(lw, hw)).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
  });

  it('LW settles at once on an idle server', async () => {
    const before = await introspector.lowWatermark();
    await pgs.sql().query("INSERT INTO public.items VALUES (7000, 'idle')");
    const started = performance.now();
    const lw = await introspector.lowWatermark();
    // One statement, no polling (a poll sleeps at least 1 ms and takes another round trip).
    expect(performance.now() - started).toBeLessThan(250);
    expect(compareOffsets(lw, before)).toBeGreaterThan(0);
  });
});
