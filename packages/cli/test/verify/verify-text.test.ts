import { startMariadb, startPostgres, type ThrowawayMariadb, type ThrowawayPostgres } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyCommand } from '../../src/commands/verify.js';
import { verifyPipeline } from '../../src/verify/index.js';
import { copyTables, pipelineOf } from './copy.js';

/**
 * verify compares what each server prints, not what the adapters decoded: a value changed at capture
 * (or by hand in the target) differs even where both adapters would decode it alike.
 */

let postgres: ThrowawayPostgres;
let maria: ThrowawayMariadb;
let source: pg.Client;
let target: pg.Client;
let mdb: mysql.Connection;

const withDb = (url: string, db: string) => url.replace(/\/[^/]*$/, `/${db}`);

beforeAll(async () => {
  [postgres, maria] = await Promise.all([startPostgres({ useEnv: false }), startMariadb({ useEnv: false })]);
  source = new pg.Client({ connectionString: postgres.url });
  await source.connect();
  await source.query('CREATE DATABASE vt_target');
  await source.query('CREATE DATABASE vt_maria');
  target = new pg.Client({ connectionString: withDb(postgres.url, 'vt_target') });
  await target.connect();
  await source.query(`
    CREATE SCHEMA docs;
    CREATE TABLE docs.items (id int PRIMARY KEY, j jsonb, vb varbit(20), tz timetz, r real, a int[], d date);
    INSERT INTO docs.items VALUES
      (1, '{"n": 12345678901234567890, "a": [1.10, "x"]}', B'101', '13:45:00.5+02', 3.4028235e38, '{{1,2},{3,4}}', '0044-03-15 BC'),
      (2, 'null', B'0', '00:00:00-11:30', -0.1, '{}', 'infinity');
    CREATE TABLE docs.empty (id int PRIMARY KEY, note text);`);
  mdb = await mysql.createConnection({ uri: maria.url, multipleStatements: true });
  await mdb.query(`
    SET SESSION sql_mode = '';
    CREATE TABLE zero (id INT PRIMARY KEY, d DATE, f FLOAT, b BIT(5), j JSON, t TIME(3), u BIGINT UNSIGNED, m DECIMAL(10,4));
    INSERT INTO zero VALUES (1, '0000-00-00', 3.4028235e38, b'00101', '{"b": 1, "a": [1.5]}', '01:00:00', 18446744073709551615, 1.5),
                            (2, '2024-02-29', 0.1, b'0', '[]', '12:00:00.5', 0, -0.0001);
    CREATE DATABASE vt_target;`);
});

afterAll(async () => {
  await source?.end().catch(() => undefined);
  await target?.end().catch(() => undefined);
  await mdb?.end().catch(() => undefined);
  await Promise.all([postgres?.stop(), maria?.stop()]);
});

describe('verify on the servers’ own text, Postgres → Postgres', () => {
  const pipeline = () =>
    pipelineOf({ adapter: 'postgres', url: postgres.url, include: 'docs.*' }, withDb(postgres.url, 'vt_target'));

  it('creates and compares empty tables, and catches hand-edited JSON, JSON null and varbit values', async () => {
    await copyTables(pipeline());
    // JSON capture is another piece of work: put the source's exact JSON text in the target first.
    for (const { id, j } of (await source.query('SELECT id, j::text AS j FROM docs.items')).rows) {
      await target.query('UPDATE public.items SET j = $2::jsonb WHERE id = $1', [id, j]);
    }
    const equal = await verifyPipeline(pipeline(), { chunkSize: 10 });
    expect(equal.tables.map((t) => [t.table, t.error, t.different])).toEqual([
      ['docs.empty', null, 0],
      ['docs.items', null, 0],
    ]);
    expect(equal.equal).toBe(true);

    const edits: [string, string][] = [
      [`UPDATE public.items SET j = '{"n": 12345678901234567891, "a": [1.10, "x"]}' WHERE id = 1`, '{"id":1}'],
      [`UPDATE public.items SET j = '{"n": 12345678901234567890, "a": [1.1, "x"]}' WHERE id = 1`, '{"id":1}'],
      ['UPDATE public.items SET j = NULL WHERE id = 2', '{"id":2}'],
      [`UPDATE public.items SET vb = B'0101' WHERE id = 1`, '{"id":1}'],
      [`UPDATE public.items SET tz = '13:45:00.5+03' WHERE id = 1`, '{"id":1}'],
    ];
    const saved = (await target.query('SELECT id, j::text AS j, vb::text AS vb, tz::text AS tz FROM public.items'))
      .rows;
    const file = `${process.env.TMPDIR ?? '/tmp'}/verify-text-${process.pid}.yaml`;
    const { writeFile, rm } = await import('node:fs/promises');
    await writeFile(
      file,
      `source: { adapter: postgres, connection: '${postgres.url}', tables: { include: ['docs.*'] } }\nsink: { type: postgres, connection: '${withDb(postgres.url, 'vt_target')}', schema: public }\n`,
    );
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      for (const [edit, key] of edits) {
        await target.query(edit);
        const report = await verifyPipeline(pipeline(), { chunkSize: 10, tables: ['docs.items'] });
        expect(report.tables[0], edit).toMatchObject({ different: 1, differentKeys: [key] });
        expect(await verifyCommand(file, { json: true }), edit).toBe(1);
        for (const { id, j, vb, tz } of saved) {
          await target.query('UPDATE public.items SET j = $2::jsonb, vb = $3::varbit, tz = $4::timetz WHERE id = $1', [
            id,
            j,
            vb,
            tz,
          ]);
        }
      }
      expect(await verifyCommand(file, { json: true })).toBe(0);
    } finally {
      out.mockRestore();
      await rm(file, { force: true });
    }
  });
});

describe('verify on the servers’ own text, MariaDB sources', () => {
  it('reports a zero date the capture turned into NULL as different, in Postgres and in MariaDB', async () => {
    const toPostgres = pipelineOf(
      { adapter: 'mysql', url: maria.url, include: 'highwater.zero' },
      withDb(postgres.url, 'vt_maria'),
    );
    const toMaria = pipelineOf({ adapter: 'mysql', url: maria.url, include: 'highwater.zero' }, maria.url, {
      type: 'mysql',
      schema: 'vt_target',
    });
    for (const pipeline of [toPostgres, toMaria]) {
      await copyTables(pipeline);
      const report = await verifyPipeline(pipeline, { chunkSize: 10 });
      expect(report.tables[0]).toMatchObject({
        error: null,
        missing: 0,
        extra: 0,
        different: 1,
        differentKeys: ['{"id":1}'],
      });
    }
  });

  it('finds no difference where every value arrived (MariaDB → MariaDB, Postgres → MariaDB)', async () => {
    await mdb.query('UPDATE zero SET d = NULL WHERE id = 1; CREATE DATABASE vt_from_pg');
    const toMaria = pipelineOf({ adapter: 'mysql', url: maria.url, include: 'highwater.zero' }, maria.url, {
      type: 'mysql',
      schema: 'vt_target',
    });
    await copyTables(toMaria);
    const same = await verifyPipeline(toMaria, { chunkSize: 10 });
    expect(same.tables[0]).toMatchObject({ error: null, different: 0, missing: 0, extra: 0 });

    await source.query(
      `CREATE TABLE docs.plain (id int PRIMARY KEY, tz timetz, r real, vb varbit(20), b bit(3), x numeric, ts timestamptz(3), s varchar(5))`,
    );
    await source.query(`INSERT INTO docs.plain VALUES (1, '13:45:00.5+02', 3.4028235e38, B'101', B'011', 1.10, '2024-02-29 13:45:00.5+00', 'ab  '),
      (2, NULL, 0.1, B'', B'000', 123456789012345678901234567890.123, '0001-01-01 00:00:00+00', '')`);
    const fromPg = pipelineOf({ adapter: 'postgres', url: postgres.url, include: 'docs.plain' }, maria.url, {
      type: 'mysql',
      schema: 'vt_from_pg',
    });
    await copyTables(fromPg);
    const cross = await verifyPipeline(fromPg, { chunkSize: 10 });
    expect(cross.tables[0]).toMatchObject({ error: null, sourceRows: 2, targetRows: 2, different: 0 });
    await mdb.query("UPDATE vt_from_pg.plain SET tz = '13:45:00.5+03' WHERE id = 1");
    expect((await verifyPipeline(fromPg, { chunkSize: 10 })).tables[0]).toMatchObject({ different: 1 });
  });
});
