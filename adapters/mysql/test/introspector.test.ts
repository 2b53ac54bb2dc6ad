import { type Key, PermissionError, TableNotFoundError, type TableSchema } from '@highwater/core';
import mysqlCore from 'mysql2';
import mysql from 'mysql2/promise';
import { describe, expect, it, vi } from 'vitest';
import { compareMysqlKeys, compareOffsets, mysqlAdapter } from '../src/index.js';
import { collect, useMariadb } from './helpers.js';

const db = useMariadb();
const adapter = () => mysqlAdapter({ connection: db.server().url, lowWatermarkPatienceMs: 500 });

async function schemaOf(name: string): Promise<TableSchema> {
  const introspector = await adapter().createIntrospector();
  try {
    const [s] = await introspector.describeTables([{ schema: 'highwater', name }]);
    if (s === undefined) throw new Error('missing');
    return s;
  } finally {
    await introspector.close();
  }
}

describe('MysqlIntrospector', () => {
  it('lists tables without system schemas and describes columns, types and keys', async () => {
    await db
      .sql()
      .query(`CREATE TABLE intro_a (a varchar(10) NOT NULL, b bigint unsigned NOT NULL, c decimal(8,3), d datetime(3),
      e timestamp(6) NULL, f json, g enum('x','y'), h varbinary(16), i blob, PRIMARY KEY (b, a))`);
    const introspector = await adapter().createIntrospector();
    try {
      const tables = await introspector.listTables();
      expect(tables).toContainEqual({ schema: 'highwater', name: 'intro_a' });
      expect(
        tables.some((t) => ['mysql', 'sys', 'information_schema', 'performance_schema'].includes(t.schema ?? '')),
      ).toBe(false);
      const [s] = await introspector.describeTables([{ schema: 'highwater', name: 'intro_a' }]);
      expect(s?.primaryKey).toEqual(['b', 'a']);
      expect(s?.chunkKey).toEqual(['b', 'a']);
      expect(s?.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
        ['a', { kind: 'string', length: 10 }, false],
        ['b', { kind: 'uint64' }, false],
        ['c', { kind: 'decimal', precision: 8, scale: 3 }, true],
        ['d', { kind: 'timestamp', precision: 3 }, true],
        ['e', { kind: 'timestamptz', precision: 6 }, true],
        ['f', { kind: 'json' }, true],
        ['g', { kind: 'enum', values: ['x', 'y'] }, true],
        ['h', { kind: 'bytes', length: 16 }, true],
        ['i', { kind: 'bytes' }, true],
      ]);
      await expect(introspector.describeTables([{ schema: 'highwater', name: 'nope' }])).rejects.toBeInstanceOf(
        TableNotFoundError,
      );
    } finally {
      await introspector.close();
    }
  });

  it('walks composite string keys in the order compareKeys gives, case and accents included', async () => {
    const sql = db.sql();
    await sql.query(
      'CREATE TABLE intro_keys (s varchar(20) NOT NULL, n int NOT NULL, v int, PRIMARY KEY (s, n)) COLLATE utf8mb4_general_ci',
    );
    const words = ['a', 'B', 'b ', 'é', 'E', 'z', '😀', '\u00ff', "o'q", ''];
    const rows: [string, number][] = [];
    // general_ci would make 'b' = 'B' a duplicate key: one of each case-fold class per n.
    for (const [i, w] of words.entries()) for (let n = 0; n < 3; n++) rows.push([w, n * 10 + i]);
    await sql.query('INSERT INTO intro_keys (s, n) VALUES ?', [rows]);
    const schema = await schemaOf('intro_keys');
    const introspector = await adapter().createIntrospector();
    const reader = await adapter().createChunkReader();
    try {
      const range = await introspector.keyRange(schema);
      const sorted = rows.map((r): Key => [r[0], r[1]]).sort((x, y) => compareMysqlKeys(schema, x, y));
      expect(range).toEqual({ min: sorted[0], max: sorted[sorted.length - 1] });
      // Boundaries every 4 rows are exactly every 4th key in compareKeys order.
      const boundaries: Key[] = [];
      let from: Key | null = null;
      for (;;) {
        const next: Key | null = await introspector.nextChunkBoundary(schema, from, 4);
        if (next === null) break;
        boundaries.push(next);
        from = next;
      }
      expect(boundaries).toEqual(sorted.filter((_, i) => i > 0 && i % 4 === 0));
      // The chunks cover every row exactly once, and each holds what compareKeys says it holds.
      const edges: (Key | null)[] = [null, ...boundaries, null];
      let total = 0;
      for (let i = 0; i + 1 < edges.length; i++) {
        const start = edges[i] ?? null;
        const end = edges[i + 1] ?? null;
        const got = await collect(reader.readChunk(schema, { start, end }));
        total += got.length;
        for (const r of got) {
          const k: Key = [r.s ?? null, r.n ?? null];
          if (start !== null) expect(compareMysqlKeys(schema, k, start)).toBeGreaterThanOrEqual(0);
          if (end !== null) expect(compareMysqlKeys(schema, k, end)).toBeLessThan(0);
        }
      }
      expect(total).toBe(rows.length);
    } finally {
      await introspector.close();
      await reader.close();
    }
  });

  it('estimates row counts from statistics', async () => {
    await db.sql().query('CREATE TABLE intro_count (id int PRIMARY KEY)');
    await db.sql().query('INSERT INTO intro_count VALUES (1),(2),(3),(4),(5)');
    await db.sql().query('ANALYZE TABLE intro_count');
    const introspector = await adapter().createIntrospector();
    try {
      expect(await introspector.estimateRowCount(await schemaOf('intro_count'))).toBe(5);
      expect(await introspector.keyRange(await schemaOf('intro_count'))).toEqual({ min: [1], max: [5] });
    } finally {
      await introspector.close();
    }
  });

  it('high watermark follows the binlog; the low watermark waits for statements in flight', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE intro_wm (id int PRIMARY KEY, v int)');
    const introspector = await adapter().createIntrospector();
    const other = await mysql.createConnection(db.server().url);
    try {
      const lw0 = await introspector.lowWatermark();
      const hw0 = await introspector.highWatermark();
      expect(compareOffsets(lw0, hw0)).toBe(0); // nothing in flight: the binlog end itself
      await sql.query('INSERT INTO intro_wm VALUES (1, 1)');
      const hw1 = await introspector.highWatermark();
      expect(compareOffsets(hw1, hw0)).toBeGreaterThan(0);
      // An idle open transaction is not in flight: it has written nothing to the binlog.
      await other.query('BEGIN');
      await other.query('INSERT INTO intro_wm VALUES (2, 2)');
      expect(compareOffsets(await introspector.lowWatermark(), hw1)).toBe(0);
      await other.query('ROLLBACK');
      // A statement executing (it could be a commit between binlog and engine): samples taken while
      // it runs are not proven, so after the patience (500 ms) the last proven one is returned ...
      const busy = other.query('SELECT SLEEP(1.5)');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await sql.query('INSERT INTO intro_wm VALUES (3, 3)');
      const hw2 = await introspector.highWatermark();
      const started = Date.now();
      const lwHeld = await introspector.lowWatermark();
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(compareOffsets(lwHeld, hw1)).toBe(0);
      // ... and once it has ended, the held samples are proven and the watermark moves on.
      await busy;
      const lw2 = await introspector.lowWatermark();
      expect(compareOffsets(lw2, hw2)).toBeGreaterThanOrEqual(0);
    } finally {
      await other.end();
      await introspector.close();
    }
  });

  it("the next low watermark uses the high watermark's sample: once, while recent, when its statements have ended", async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE intro_reuse (id int PRIMARY KEY)');
    const introspector = await adapter().createIntrospector();
    const other = await mysql.createConnection(db.server().url);
    /** What the server counted of the statements a watermark may run: binlog status reads and SELECTs. */
    const counts = async () => {
      const [rows] = await sql.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_show_binlog_status', 'Com_select')",
      );
      const get = (name: string) =>
        Number((rows as { Variable_name: string; Value: string }[]).find((r) => r.Variable_name === name)?.Value);
      return { status: get('Com_show_binlog_status'), selects: get('Com_select') };
    };
    try {
      await introspector.lowWatermark();
      await sql.query('INSERT INTO intro_reuse VALUES (1)');
      const hw = await introspector.highWatermark();
      let before = await counts();
      expect(compareOffsets(await introspector.lowWatermark(), hw)).toBe(0);
      expect(await counts()).toEqual(before); // not a statement of its own

      before = await counts();
      await introspector.lowWatermark(); // used up: samples anew
      expect((await counts()).status).toBe(before.status + 1);

      // A statement running after the high watermark: the sample is used once it has ended, after
      // one look at the statements running, without reading the binlog position again.
      const busy = other.query('SELECT SLEEP(0.3)');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await sql.query('INSERT INTO intro_reuse VALUES (2)');
      const hwBusy = await introspector.highWatermark();
      await busy;
      before = await counts();
      expect(compareOffsets(await introspector.lowWatermark(), hwBusy)).toBe(0);
      const after = await counts();
      expect(after.status).toBe(before.status);
      expect(after.selects).toBe(before.selects + 1);

      await introspector.highWatermark();
      await new Promise((resolve) => setTimeout(resolve, 1100)); // older than the reuse limit (1 s)
      before = await counts();
      await introspector.lowWatermark();
      expect((await counts()).status).toBe(before.status + 1);
    } finally {
      await other.end();
      await introspector.close();
    }
  });

  it('refuses a user without PROCESS for the low watermark', async () => {
    await db.sql().query("CREATE USER IF NOT EXISTS 'noproc'@'%'");
    await db.sql().query("GRANT SELECT, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'noproc'@'%'");
    const url = new URL(db.server().url);
    url.username = 'noproc';
    // Refused when the introspector is created, before any watermark could miss other users' sessions.
    await expect(mysqlAdapter({ connection: url.toString() }).createIntrospector()).rejects.toBeInstanceOf(
      PermissionError,
    );
  });
  it("an adapter's readers describe a table once between them, and again after a failed description", async () => {
    await db.sql().query('CREATE TABLE planned (id int PRIMARY KEY, v varchar(10))');
    await db.sql().query("INSERT INTO planned SELECT seq, CONCAT('p', seq) FROM seq_1_to_50");
    const schema = await schemaOf('planned');
    const adapter = mysqlAdapter({ connection: db.server().url });
    const readers = await Promise.all([1, 2, 3].map(() => adapter.createChunkReader()));
    const described: string[] = [];
    const core = mysqlCore.Connection.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = core.query;
    core.query = function (this: unknown, ...args: unknown[]) {
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { sql?: string } | undefined)?.sql;
      if (text?.includes('COLUMN_NAME, DATA_TYPE, COLUMN_TYPE') === true) described.push(text);
      return query.apply(this, args);
    };
    const count = async (reader: (typeof readers)[number]) =>
      (await collect(reader.readChunk(schema, { start: null, end: null }))).length;
    try {
      await db.sql().query('RENAME TABLE planned TO planned_away');
      await expect(count(readers[0] as (typeof readers)[number])).rejects.toThrow(/planned/);
      await db.sql().query('RENAME TABLE planned_away TO planned');
      expect(await Promise.all(readers.map(count))).toEqual([50, 50, 50]);
      // The failed description, then one for all three readers.
      expect(described).toHaveLength(1 + 1);
    } finally {
      core.query = query;
      await Promise.all(readers.map((r) => r.close()));
    }
  });

  it('reads chunks as row packets decoded on demand: long, multi-byte, binary and NULL values', async () => {
    const sql = db.sql();
    await sql.query(
      'CREATE TABLE raw_rows (id int PRIMARY KEY, t mediumtext, b blob, l varchar(20) CHARACTER SET latin1, n decimal(30,10))',
    );
    const rows = Array.from({ length: 3000 }, (_, id) => [
      id,
      id % 7 === 0 ? null : `${'é😀'.repeat(id % 50 === 0 ? 30_000 : id % 90)}${id}`,
      id % 5 === 0 ? null : Buffer.from([id % 256, 0, 255, 0xfb]),
      id % 3 === 0 ? null : `caf\u00e9 ${id}`,
      `${id}.0123456789`,
    ]);
    for (let i = 0; i < rows.length; i += 500)
      await sql.query('INSERT INTO raw_rows VALUES ?', [rows.slice(i, i + 500)]);
    const schema = await schemaOf('raw_rows');
    const reader = await mysqlAdapter({ connection: db.server().url, chunkBatchSize: 400 }).createChunkReader();
    // mysql2 reports packets whose sequence it did not expect here; rows taken past its dispatch must
    // still be counted.
    const complaints = vi.spyOn(console, 'error');
    try {
      const read = reader.readUndecodedChunk?.bind(reader);
      if (read === undefined) throw new Error('the MySQL chunk reader has no readUndecodedChunk');
      const got: Record<string, unknown>[] = [];
      let batches = 0;
      for await (const undecoded of read(schema, { start: null, end: null })) {
        const decoded = undecoded.decode();
        expect(decoded).toHaveLength(undecoded.count);
        got.push(...decoded);
        batches++;
      }
      expect(batches).toBeGreaterThanOrEqual(7);
      expect(got).toHaveLength(rows.length);
      got.sort((a, b) => (a.id as number) - (b.id as number));
      for (const [i, r] of rows.entries()) {
        const [id, t, b, l, n] = r as [number, string | null, Buffer | null, string | null, string];
        expect(got[i]).toEqual({ id, t, b: b === null ? null : new Uint8Array(b), l, n });
      }
      // readChunk gives the same rows.
      const plain = (await collect(reader.readChunk(schema, { start: null, end: null }))).sort(
        (a, b) => (a.id as number) - (b.id as number),
      );
      expect(plain).toEqual(got);
      // The same through the compressed protocol (its frames are parsed apart from its packets).
      const url = new URL(db.server().url);
      const compressed = await mysqlAdapter({
        connection: {
          host: url.hostname,
          port: Number(url.port),
          user: decodeURIComponent(url.username),
          password: decodeURIComponent(url.password),
          compress: true,
        },
        chunkBatchSize: 400,
      }).createChunkReader();
      try {
        const viaCompression = (await collect(compressed.readChunk(schema, { start: null, end: null }))).sort(
          (a, b) => (a.id as number) - (b.id as number),
        );
        expect(viaCompression).toEqual(got);
      } finally {
        await compressed.close();
      }
      expect(complaints).not.toHaveBeenCalled();
    } finally {
      complaints.mockRestore();
      await reader.close();
    }
  });
});
