import { DatabaseSetupError, createSource, type Row } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { postgresAdapter } from '../src/index.js';
import { usePostgres } from './helpers.js';

const pgs = usePostgres();

/** Tables whose updates and deletes the server cannot identify are refused before they join a publication. */
describe('replica identity', () => {
  const adapterFor = (slot: string) =>
    postgresAdapter({ connection: pgs.server().url, slotName: slot, publicationName: slot, dropSlotOnClose: true });

  async function startError(slot: string, table: string, chunkKeys?: readonly string[]): Promise<unknown> {
    const source = createSource({
      adapter: adapterFor(slot),
      tables: { include: [table] },
      ...(chunkKeys === undefined ? {} : { chunkKeys: { [table]: chunkKeys } }),
      retry: { attempts: 0, initialDelayMs: 10, maxDelayMs: 10 },
    });
    try {
      await source.start();
      return null;
    } catch (error) {
      return error;
    } finally {
      await source.close();
    }
  }

  const published = async (slot: string, table: string) =>
    (await pgs.sql().query('SELECT FROM pg_publication_tables WHERE pubname = $1 AND tablename = $2', [slot, table]))
      .rowCount;

  it('no primary key, REPLICA IDENTITY DEFAULT, a chunk key: DatabaseSetupError with the ALTER TABLE, table left unpublished', async () => {
    const db = pgs.sql();
    await db.query("CREATE TABLE ri_nokey (code int4 NOT NULL UNIQUE, v text); INSERT INTO ri_nokey VALUES (1, 'a')");
    const error = await startError('ri1', 'public.ri_nokey', ['code']);
    expect(error).toBeInstanceOf(DatabaseSetupError);
    expect(String(error)).toContain('table public.ri_nokey has no primary key and REPLICA IDENTITY DEFAULT');
    expect(String(error)).toContain('ALTER TABLE "public"."ri_nokey" REPLICA IDENTITY FULL;');
    // In a publication the server would refuse the application's UPDATE and DELETE on it.
    expect(await published('ri1', 'ri_nokey')).toBe(0);
    await db.query("UPDATE ri_nokey SET v = 'b'");
  });

  it('REPLICA IDENTITY NOTHING: DatabaseSetupError, also on a table with a primary key', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE ri_nothing (id int4 PRIMARY KEY); ALTER TABLE ri_nothing REPLICA IDENTITY NOTHING');
    const error = await startError('ri2', 'public.ri_nothing');
    expect(error).toBeInstanceOf(DatabaseSetupError);
    expect(String(error)).toContain('table public.ri_nothing has REPLICA IDENTITY NOTHING');
    expect(String(error)).toContain('ALTER TABLE "public"."ri_nothing" REPLICA IDENTITY FULL;');
    expect(await published('ri2', 'ri_nothing')).toBe(0);
  });

  it('a chunk key outside the replica identity: DatabaseSetupError naming both', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE ri_other (id int4 PRIMARY KEY, code int4 NOT NULL UNIQUE)');
    const error = await startError('ri3', 'public.ri_other', ['code']);
    expect(error).toBeInstanceOf(DatabaseSetupError);
    expect(String(error)).toContain('the chunk key of public.ri_other (code) is not in the replica identity');
    expect(String(error)).toContain('(id)');
  });

  it('a partition without a replica identity is named', async () => {
    const db = pgs.sql();
    await db.query(`CREATE TABLE ri_parted (code int4 NOT NULL, region text NOT NULL) PARTITION BY LIST (region);
      CREATE TABLE ri_parted_eu PARTITION OF ri_parted FOR VALUES IN ('eu');
      CREATE TABLE ri_parted_us PARTITION OF ri_parted FOR VALUES IN ('us');
      CREATE UNIQUE INDEX ri_parted_key ON ri_parted (code, region);
      ALTER TABLE ri_parted_eu REPLICA IDENTITY FULL;`);
    const error = await startError('ri4', 'public.ri_parted', ['code', 'region']);
    expect(error).toBeInstanceOf(DatabaseSetupError);
    expect(String(error)).toContain('partition public.ri_parted_us of public.ri_parted has no primary key');
    expect(String(error)).toContain('ALTER TABLE "public"."ri_parted_us" REPLICA IDENTITY FULL;');
  });

  for (const identity of ['FULL', 'USING INDEX ri_ok_code'] as const) {
    it(`no primary key, REPLICA IDENTITY ${identity}, chunk key: snapshot and changes are captured`, async () => {
      const db = pgs.sql();
      const table = identity === 'FULL' ? 'ri_full' : 'ri_index';
      await db.query(`CREATE TABLE ${table} (code int4 NOT NULL, v text);
        CREATE UNIQUE INDEX ${identity === 'FULL' ? 'ri_full_code' : 'ri_ok_code'} ON ${table} (code);
        ALTER TABLE ${table} REPLICA IDENTITY ${identity};
        INSERT INTO ${table} SELECT g, 'r' || g FROM generate_series(1, 30) g;`);
      const source = createSource({
        adapter: adapterFor(table),
        tables: { include: [`public.${table}`] },
        chunkKeys: { [`public.${table}`]: ['code'] },
        chunkSize: 7,
        heartbeatIntervalMs: 50,
      });
      const rows = new Map<number, Row>();
      const ops: string[] = [];
      const iterator = source[Symbol.asyncIterator]();
      const take = async (done: () => boolean) => {
        const deadline = Date.now() + 20_000;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`not done; ops so far: ${ops.join('')}`);
          const next = await iterator.next();
          if (next.done === true) throw new Error('the source ended');
          for (const e of next.value.events) {
            if (e.kind !== 'change') continue;
            ops.push(e.op);
            if (e.before !== null) rows.delete(e.before.code as number);
            if (e.after !== null) rows.set(e.after.code as number, e.after);
            if (e.op === 'u' || e.op === 'd') expect(e.before?.code, `${e.op} carries the chunk key`).toBeDefined();
          }
        }
      };
      try {
        await take(() => rows.size === 30);
        await db.query(`UPDATE ${table} SET v = 'x' WHERE code = 3; UPDATE ${table} SET code = 100 WHERE code = 4;
          DELETE FROM ${table} WHERE code = 5; INSERT INTO ${table} VALUES (200, 'new')`);
        await take(() => ops.filter((o) => o !== 'r').length >= 4);
        const table_ = (await db.query<Row>(`SELECT code, v FROM ${table}`)).rows;
        expect(new Map(table_.map((r) => [r.code as number, r]))).toEqual(rows);
        expect(ops.filter((o) => o !== 'r')).toEqual(['u', 'u', 'd', 'c']);
      } finally {
        await source.close();
      }
    });
  }
});
