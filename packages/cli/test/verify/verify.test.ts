import { startMariadb, startPostgres, type ThrowawayMariadb, type ThrowawayPostgres } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyCommand } from '../../src/commands/verify.js';
import { verifyPipeline } from '../../src/verify/index.js';
import { copyTables, pipelineOf } from './copy.js';

let postgres: ThrowawayPostgres;
let source: pg.Client;
let target: pg.Client;

const withDb = (url: string, db: string) => url.replace(/\/[^/]*$/, `/${db}`);

beforeAll(async () => {
  postgres = await startPostgres({ useEnv: false });
  source = new pg.Client({ connectionString: postgres.url });
  await source.connect();
  await source.query('CREATE DATABASE pg_target');
  await source.query('CREATE DATABASE maria_target');
  target = new pg.Client({ connectionString: withDb(postgres.url, 'pg_target') });
  await target.connect();
  await source.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.items (id int PRIMARY KEY, name text, price numeric(10,2), at timestamptz(6), tags text[]);
    INSERT INTO shop.items SELECT i, 'item ' || i, i * 1.25, '2024-01-01T00:00:00.000001Z'::timestamptz + i * interval '1 hour', ARRAY['a', i::text]
      FROM generate_series(1, 100) i;
    CREATE TABLE shop.pairs (a text, b int, v jsonb, PRIMARY KEY (a, b));
    INSERT INTO shop.pairs SELECT chr(65 + i % 26) || i, i, jsonb_build_object('n', i, 'l', jsonb_build_array(i, 'x'))
      FROM generate_series(1, 60) i;`);
});

afterAll(async () => {
  await source?.end().catch(() => undefined);
  await target?.end().catch(() => undefined);
  await postgres?.stop();
});

describe('verify, Postgres → Postgres', () => {
  const pipeline = () =>
    pipelineOf({ adapter: 'postgres', url: postgres.url, include: 'shop.*' }, withDb(postgres.url, 'pg_target'));

  it('reports equal tables as equal, comparing no chunk row by row, and writes nothing to the source', async () => {
    await copyTables(pipeline());
    const report = await verifyPipeline(pipeline(), { chunkSize: 10 });
    expect(report.totals).toMatchObject({
      tables: 2,
      sourceRows: 160,
      targetRows: 160,
      missing: 0,
      extra: 0,
      different: 0,
    });
    expect(report.totals.chunks).toBeGreaterThanOrEqual(16);
    expect(report.totals.chunksCompared).toBe(0);
    expect(report.equal).toBe(true);
    const slots = await source.query(
      'SELECT (SELECT count(*) FROM pg_replication_slots) AS s, (SELECT count(*) FROM pg_publication) AS p',
    );
    expect(slots.rows[0]).toEqual({ s: '0', p: '0' });
  });

  it('finds a missing, an extra and a different row, comparing only the chunks that hold them', async () => {
    await target.query('DELETE FROM public.items WHERE id = 5');
    await target.query("UPDATE public.items SET name = 'changed' WHERE id = 55");
    await target.query("INSERT INTO public.items (id, name) VALUES (1000, 'extra')");
    try {
      const report = await verifyPipeline(pipeline(), { chunkSize: 10, tables: ['shop.items'] });
      const items = report.tables[0];
      expect(report.tables).toHaveLength(1);
      expect(items).toMatchObject({
        table: 'shop.items',
        missing: 1,
        extra: 1,
        different: 1,
        missingKeys: ['{"id":5}'],
        extraKeys: ['{"id":1000}'],
        differentKeys: ['{"id":55}'],
      });
      // id 5, 55 and 1000 (after the last boundary) lie in three different chunks of ten keys.
      expect(items?.chunksCompared).toBe(3);
      expect(items?.chunks).toBeGreaterThanOrEqual(10);
      expect(report.equal).toBe(false);

      const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const file = `${process.env.TMPDIR ?? '/tmp'}/verify-test-${process.pid}.yaml`;
      const { writeFile, rm } = await import('node:fs/promises');
      await writeFile(
        file,
        `source: { adapter: postgres, connection: '${postgres.url}', tables: { include: ['shop.*'] } }\nsink: { type: postgres, connection: '${withDb(postgres.url, 'pg_target')}', schema: public }\n`,
      );
      try {
        expect(await verifyCommand(file, { json: true, chunkSize: 10 })).toBe(1);
        const json = JSON.parse(String(out.mock.calls.map((c) => c[0]).join('')));
        expect(json.totals).toMatchObject({ missing: 1, extra: 1, different: 1 });
        out.mockClear();
        expect(await verifyCommand(file, { chunkSize: 10 })).toBe(1);
        expect(String(out.mock.calls.map((c) => c[0]).join(''))).toMatch(/1 missing, 1 extra, 1 different/);
      } finally {
        out.mockRestore();
        await rm(file, { force: true });
      }
    } finally {
      await target.query(
        "INSERT INTO public.items SELECT * FROM (VALUES (5, 'item 5', 6.25::numeric, '2024-01-01T05:00:00.000001Z'::timestamptz, ARRAY['a','5'])) v",
      );
      await target.query("UPDATE public.items SET name = 'item 55' WHERE id = 55");
      await target.query('DELETE FROM public.items WHERE id = 1000');
    }
    expect((await verifyPipeline(pipeline(), { chunkSize: 10 })).equal).toBe(true);
  });

  it('exits 2 when it cannot verify', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await verifyCommand('/nonexistent/pipeline.yaml', {})).toBe(2);
    } finally {
      err.mockRestore();
    }
  });
});

describe('verify, JSON documents, Postgres → Postgres', () => {
  const pipeline = () =>
    pipelineOf({ adapter: 'postgres', url: postgres.url, include: 'docs.*' }, withDb(postgres.url, 'pg_target'));
  const exact = '{"id":  12345678901234567890, "price": 1.10, "tiny": 1e-400}';

  beforeAll(async () => {
    await source.query(`
      CREATE SCHEMA docs;
      CREATE TABLE docs.docs (id int PRIMARY KEY, j json, jb jsonb);
      INSERT INTO docs.docs VALUES (1, '${exact}', '${exact}'), (2, 'null', 'null'), (3, NULL, NULL);`);
  });

  it('compares the text each server gives: one digit beyond 2^53, or a null document made NULL, differs', async () => {
    await copyTables(pipeline());
    expect((await verifyPipeline(pipeline(), { chunkSize: 10 })).equal).toBe(true);
    const edits = [
      // JSON.parse reads both …890 and …891 as 12345678901234567000.
      `UPDATE public.docs SET j = '${exact.replace('67890,', '67891,')}' WHERE id = 1`,
      `UPDATE public.docs SET jb = '${exact.replace('67890,', '67891,')}' WHERE id = 1`,
      // 1.10 and 1.1 are one number to JSON.parse, not to a CDC tool.
      `UPDATE public.docs SET j = '${exact.replace('1.10', '1.1')}' WHERE id = 1`,
      'UPDATE public.docs SET j = NULL WHERE id = 2',
    ];
    for (const edit of edits) {
      await target.query(edit);
      const report = await verifyPipeline(pipeline(), { chunkSize: 10 });
      expect(report.tables[0], edit).toMatchObject({ different: 1, missing: 0, extra: 0 });
      expect(report.equal).toBe(false);
      await copyTables(pipeline());
      expect((await verifyPipeline(pipeline(), { chunkSize: 10 })).equal, `after ${edit}, copied again`).toBe(true);
    }
  });
});

describe('verify, MariaDB → Postgres', () => {
  let maria: ThrowawayMariadb;
  let db: mysql.Connection;
  const pipeline = () =>
    pipelineOf({ adapter: 'mysql', url: maria.url, include: 'highwater.*' }, withDb(postgres.url, 'maria_target'));

  beforeAll(async () => {
    maria = await startMariadb({ useEnv: false });
    db = await mysql.createConnection({ uri: maria.url, multipleStatements: true });
    await db.query(`
      CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, amount DECIMAL(12,3), f FLOAT, d DOUBLE, created DATETIME(6),
        ts TIMESTAMP(6) NULL, status ENUM('new','paid'), flags SET('a','b','c'), bits BIT(5), doc JSON, name VARCHAR(50), raw BLOB,
        tiny TINYINT, small SMALLINT UNSIGNED, y YEAR, t TIME(3), day DATE);
    `);
    const values: string[] = [];
    for (let i = 1; i <= 50; i++) {
      values.push(
        `(${i === 50 ? '18446744073709551615' : i}, ${i}.125, ${i}.5, ${i} / 3, '2024-03-0${1 + (i % 9)} 10:00:00.${String(i).padStart(6, '0')}',
          '2024-03-01 00:00:00.5', '${i % 2 ? 'new' : 'paid'}', 'a,c', b'10101', '{"k": ${i}, "s": "x"}', 'name ${i} é', X'00ff${i.toString(16).padStart(2, '0')}',
          -${i}, ${i * 1000}, 2024, '12:34:56.789', '2024-02-29')`,
      );
    }
    await db.query(`INSERT INTO orders VALUES ${values.join(',')}`);
  });
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await maria?.stop();
  });

  it('reports a copied MariaDB table equal in Postgres, and finds differences', async () => {
    await copyTables(pipeline());
    const equal = await verifyPipeline(pipeline(), { chunkSize: 7 });
    expect(equal.tables.map((t) => t.error)).toEqual([null]);
    expect(equal.totals).toMatchObject({
      sourceRows: 50,
      targetRows: 50,
      missing: 0,
      extra: 0,
      different: 0,
      chunksCompared: 0,
    });
    expect(equal.equal).toBe(true);

    const pgTarget = new pg.Client({ connectionString: withDb(postgres.url, 'maria_target') });
    await pgTarget.connect();
    try {
      await pgTarget.query("UPDATE public.orders SET created = created + interval '1 microsecond' WHERE id = 3");
      await pgTarget.query('DELETE FROM public.orders WHERE id = 18446744073709551615');
      const report = await verifyPipeline(pipeline(), { chunkSize: 7 });
      expect(report.tables[0]).toMatchObject({ missing: 1, extra: 0, different: 1, differentKeys: ['{"id":3}'] });
      expect(report.tables[0]?.chunksCompared).toBe(2);
    } finally {
      await pgTarget.end();
    }
  });
});
