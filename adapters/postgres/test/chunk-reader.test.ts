import type { ChunkRange, Key, Row, TableSchema } from '@highwater/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { chunkPredicate } from '../src/chunk-reader.js';
import { clientConfig } from '../src/connection.js';
import { postgresAdapter } from '../src/index.js';
import { usePostgres } from './helpers.js';

const pgs = usePostgres();

async function readAll(
  table: TableSchema,
  range: ChunkRange,
  batchSize = 4096,
): Promise<{ rows: Row[]; batches: number }> {
  const adapter = postgresAdapter({ connection: pgs.server().url, chunkBatchSize: batchSize });
  const reader = await adapter.createChunkReader();
  try {
    const rows: Row[] = [];
    let batches = 0;
    for await (const batch of reader.readChunk(table, range)) {
      rows.push(...batch);
      batches++;
    }
    return { rows, batches };
  } finally {
    await reader.close();
  }
}

async function describe1(schema: string, name: string): Promise<TableSchema> {
  const introspector = await postgresAdapter({ connection: pgs.server().url, createSlot: false }).createIntrospector();
  try {
    return (await introspector.describeTables([{ schema, name }]))[0] as TableSchema;
  } finally {
    await introspector.close();
  }
}

describe('chunk reader (COPY)', () => {
  it('reads [start, end) ranges on a numeric key, in batches', async () => {
    await pgs.sql().query(`CREATE TABLE nums (id int4 PRIMARY KEY, v text);
      INSERT INTO nums SELECT g, 'v' || g FROM generate_series(1, 10000) g;`);
    const table = await describe1('public', 'nums');
    const all = await readAll(table, { start: null, end: null }, 1000);
    expect(all.rows).toHaveLength(10000);
    expect(all.batches).toBeGreaterThanOrEqual(10);
    const mid = await readAll(table, { start: [100], end: [200] });
    expect(mid.rows.map((r) => r.id).sort((a, b) => (a as number) - (b as number))).toEqual(
      [...Array(100).keys()].map((i) => i + 100),
    );
    expect((await readAll(table, { start: null, end: [3] })).rows).toEqual([
      { id: 1, v: 'v1' },
      { id: 2, v: 'v2' },
    ]);
    expect((await readAll(table, { start: [9999], end: null })).rows).toHaveLength(2);
    expect((await readAll(table, { start: [20000], end: null })).rows).toEqual([]);
  });

  it('hands rows over undecoded in pieces of whole lines, decoded into the same rows', async () => {
    // Multi-byte and escaped values, so socket reads end inside lines and inside UTF-8 sequences.
    await pgs.sql().query(`CREATE TABLE wide (id int4 PRIMARY KEY, v text);
      INSERT INTO wide SELECT g, repeat('é😀\t\\', g % 40) || g FROM generate_series(1, 20000) g;`);
    const table = await describe1('public', 'wide');
    const reader = await postgresAdapter({ connection: pgs.server().url, chunkBatchSize: 500 }).createChunkReader();
    try {
      const read = reader.readUndecodedChunk?.bind(reader);
      if (read === undefined) throw new Error('the Postgres chunk reader has no readUndecodedChunk');
      const pieces: Row[][] = [];
      for await (const undecoded of read(table, { start: null, end: null })) {
        const rows = [...undecoded.decode()];
        expect(rows).toHaveLength(undecoded.count);
        pieces.push(rows);
      }
      expect(pieces.length).toBeGreaterThanOrEqual(10);
      // About chunkBatchSize lines each; only the last piece may be short.
      for (const rows of pieces.slice(0, -1)) expect(rows.length).toBeGreaterThanOrEqual(500);
      const expected = await pgs.sql().query<Row>('SELECT id, v FROM wide ORDER BY id');
      expect(pieces.flat().sort((a, b) => (a.id as number) - (b.id as number))).toEqual(expected.rows);
    } finally {
      await reader.close();
    }
  });

  it("an adapter's readers describe a table once between them, and again after a failed description", async () => {
    await pgs.sql().query(`CREATE TABLE planned (id int8 PRIMARY KEY, v text);
      INSERT INTO planned SELECT g, 'p' || g FROM generate_series(1, 50) g;`);
    const table = await describe1('public', 'planned');
    const adapter = postgresAdapter({ connection: pgs.server().url });
    const readers = await Promise.all([1, 2, 3].map(() => adapter.createChunkReader()));
    const described: string[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (typeof args[0] === 'string' && args[0].includes('AS oid, c.relkind')) described.push(args[0]);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    const count = async (reader: (typeof readers)[number]) => {
      let n = 0;
      for await (const batch of reader.readChunk(table, { start: null, end: null })) n += batch.length;
      return n;
    };
    try {
      await pgs.sql().query('ALTER TABLE planned RENAME TO planned_away');
      await expect(count(readers[0] as (typeof readers)[number])).rejects.toThrow(/planned/);
      await pgs.sql().query('ALTER TABLE planned_away RENAME TO planned');
      const counts = await Promise.all(readers.map(count));
      expect(counts).toEqual([50, 50, 50]);
      // The failed description, then one for all three readers.
      expect(described).toHaveLength(1 + 1);
    } finally {
      pg.Client.prototype.query = query;
      await Promise.all(readers.map((r) => r.close()));
    }
  });

  it('composite and text keys use row comparison in code-point order, literals quoted safely', async () => {
    await pgs.sql().query(`CREATE TABLE comp (k text, n int8, PRIMARY KEY (k, n));
      INSERT INTO comp VALUES ('a', 1), ('a', 2), ('a''b', 1), ('b', 0), ('B', 9), ('é', 1), ('😀', 1);`);
    const table = await describe1('public', 'comp');
    const keys = (range: ChunkRange) =>
      readAll(table, range).then((r) =>
        r.rows
          .map((row) => [row.k, row.n] as Key)
          .sort((x, y) => postgresAdapter({ connection: '' }).compareKeys(table, x, y)),
      );
    expect(await keys({ start: ['a', 2], end: ['b', 0] })).toEqual([
      ['a', 2],
      ["a'b", 1],
    ]);
    expect(await keys({ start: ['b', 0], end: null })).toEqual([
      ['b', 0],
      ['é', 1],
      ['😀', 1],
    ]);
    expect(await keys({ start: null, end: ['a', 0] })).toEqual([['B', 9]]);
    expect(chunkPredicate(table, { start: ["x'; DROP TABLE comp; --", 1], end: null })).toBe(
      ` WHERE ("k" COLLATE "C", "n") >= ('x''; DROP TABLE comp; --'::text, '1'::bigint)`,
    );
  });

  it('bytea, uuid and timestamp keys', async () => {
    await pgs
      .sql()
      .query(`CREATE TABLE bk (k bytea PRIMARY KEY); INSERT INTO bk VALUES ('\\x00'), ('\\x0001'), ('\\xff');
      CREATE TABLE uk (k uuid PRIMARY KEY); INSERT INTO uk SELECT md5(g::text)::uuid FROM generate_series(1, 50) g;
      CREATE TABLE tk (k timestamptz PRIMARY KEY); INSERT INTO tk SELECT '2024-01-01'::timestamptz + g * interval '1.5 sec' FROM generate_series(1, 50) g;`);
    const bk = await describe1('public', 'bk');
    expect((await readAll(bk, { start: [new Uint8Array([0, 1])], end: [new Uint8Array([255])] })).rows).toEqual([
      { k: new Uint8Array([0, 1]) },
    ]);
    const adapter = postgresAdapter({ connection: pgs.server().url, createSlot: false });
    const introspector = await adapter.createIntrospector();
    try {
      for (const name of ['uk', 'tk']) {
        const table = await describe1('public', name);
        // Chunks walked by the introspector cover the table exactly once, in compareKeys order.
        const bounds: (Key | null)[] = [null];
        for (
          let k = await introspector.nextChunkBoundary(table, null, 7);
          k !== null;
          k = await introspector.nextChunkBoundary(table, k, 7)
        )
          bounds.push(k);
        bounds.push(null);
        const seen: Key[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          const { rows } = await readAll(table, { start: bounds[i] ?? null, end: bounds[i + 1] ?? null });
          expect(rows.length).toBeLessThanOrEqual(7);
          seen.push(...rows.map((r) => [r.k] as Key).sort((x, y) => adapter.compareKeys(table, x, y)));
        }
        expect(seen).toHaveLength(50);
        for (let i = 1; i < seen.length; i++)
          expect(adapter.compareKeys(table, seen[i - 1] as Key, seen[i] as Key)).toBeLessThan(0);
      }
    } finally {
      await introspector.close();
    }
  });

  it('measures COPY against a plain SELECT (reported, not asserted)', async () => {
    const n = 300_000;
    await pgs
      .sql()
      .query(`CREATE TABLE bench (id int8 PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, flag bool);
      INSERT INTO bench SELECT g, 'name ' || g, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 sec', g % 2 = 0 FROM generate_series(1, ${n}) g;`);
    const table = await describe1('public', 'bench');
    let copyMs = 0;
    let selectMs = 0;
    let rawMs = 0;
    const client = new pg.Client({ connectionString: pgs.server().url });
    const raw = new pg.Client(clientConfig(pgs.server().url, 'bench'));
    await client.connect();
    await raw.connect();
    // Round 0 warms up (JIT, server cache); round 1 is reported.
    for (let round = 0; round < 2; round++) {
      const reader = await postgresAdapter({ connection: pgs.server().url }).createChunkReader();
      let start = performance.now();
      let count = 0;
      for await (const batch of reader.readChunk(table, { start: null, end: null })) count += batch.length;
      copyMs = performance.now() - start;
      await reader.close();
      expect(count).toBe(n);
      // The same rows through pg's own row parsing (its default type parsers).
      start = performance.now();
      const plain = await client.query('SELECT id, name, amount, at, flag FROM bench');
      selectMs = performance.now() - start;
      expect(plain.rows).toHaveLength(n);
      // A SELECT with the adapter's raw-text settings and no decoding at all (a lower bound for SELECT).
      start = performance.now();
      await raw.query({ text: 'SELECT id, name, amount, at, flag FROM bench', rowMode: 'array' });
      rawMs = performance.now() - start;
    }
    await client.end();
    await raw.end();
    const rate = (ms: number) => `${(((n / ms) * 1000) / 1e6).toFixed(2)} M rows/s`;
    console.info(
      `chunk read of ${n} rows x 5 columns: COPY+decode ${copyMs.toFixed(0)} ms (${rate(copyMs)}); ` +
        `pg SELECT ${selectMs.toFixed(0)} ms (${rate(selectMs)}); pg SELECT raw text, no decode ${rawMs.toFixed(0)} ms (${rate(rawMs)})`,
    );
  }, 120_000);
});
