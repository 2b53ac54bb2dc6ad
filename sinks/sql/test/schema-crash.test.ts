import type { ColumnSchema, TableSchema } from '@highwater/core';
import { mysqlDialect } from '@highwater/sink-mysql';
import { postgresDialect } from '@highwater/sink-postgres';
import { startMariadb, startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect, SessionStatement, SqlSession } from '../src/dialect.js';
import { SqlSink } from '../src/sql-sink.js';
import {
  checkpoint,
  context,
  insert,
  readSqlSinkCheckpoint,
  schemaChange,
  sinkConfig,
  table,
  type TargetClient,
  targetClient,
  update,
} from './helpers.js';

// MySQL commits DDL at once, so a schema change is applied before the batch's data transaction: a
// process killed right after the DDL leaves the target altered with the old checkpoint. The batch
// comes again after the restart (the source resumes from that checkpoint) and must apply cleanly.

let server: ThrowawayServer;
let db: TargetClient;

beforeAll(async () => {
  server = await startMariadb({ useEnv: false });
  db = await targetClient('mysql', server.url);
}, 120_000);

afterAll(async () => {
  await db?.close().catch(() => undefined);
  await server?.stop();
});

/** A dialect (MySQL by default) whose connection dies (as the process would) before the `n`th statement matching `when`. */
function killing(when: RegExp, n = 1, base: Dialect = mysqlDialect): { dialect: Dialect; killed: () => boolean } {
  let seen = 0;
  let killed = false;
  const dialect: Dialect = {
    ...base,
    async connect(connection) {
      const session = await base.connect(connection);
      const dies = async (sql: string) => {
        if (!killed && when.test(sql) && ++seen === n) {
          killed = true;
          await session.close();
          throw new Error(`killed before: ${sql}`);
        }
      };
      const execute = session.execute?.bind(session);
      const pipeline = session.pipeline?.bind(session);
      const dying: SqlSession = {
        ...session,
        query: async (sql, params) => {
          await dies(sql);
          return session.query(sql, params);
        },
        // Prepared statements (array upserts and deletes) die the same way.
        ...(execute === undefined
          ? {}
          : {
              execute: async (sql: string, params: readonly unknown[]) => {
                await dies(sql);
                return execute(sql, params);
              },
            }),
        // Statements sent together die before the first of them is sent.
        ...(pipeline === undefined
          ? {}
          : {
              pipeline: async (statements: readonly SessionStatement[]) => {
                for (const statement of statements) await dies(statement.sql);
                return pipeline(statements);
              },
            }),
        close: () => session.close(),
      };
      return dying;
    },
  };
  return { dialect, killed: () => killed };
}

const before = table(
  'items',
  [
    ['id', { kind: 'int32' }],
    ['a', { kind: 'int32' }],
    ['b', { kind: 'string', length: 20 }],
    ['gone', { kind: 'string' }],
  ],
  ['id'],
);
const c: ColumnSchema = {
  name: 'c',
  type: { kind: 'string', length: 10 },
  nativeType: 'varchar(10)',
  nullable: true,
  default: "'dflt'",
};
/** a widened to bigint, b renamed to b2, gone dropped, c added with a default. */
const after: TableSchema = {
  ...before,
  columns: [
    { name: 'id', type: { kind: 'int32' }, nativeType: 'int', nullable: false },
    { name: 'a', type: { kind: 'int64' }, nativeType: 'bigint', nullable: true },
    { name: 'b2', type: { kind: 'string', length: 20 }, nativeType: 'varchar(20)', nullable: true },
    c,
  ],
};

describe('a MySQL target killed during a schema change', () => {
  let n = 0;
  for (const [what, when, count] of [
    ['right after the DDL, before the data transaction', /^START TRANSACTION/, 1],
    ['between two of its DDL statements', /^ALTER TABLE/, 2],
  ] as const) {
    it(`${what}: the batch taken again after the restart applies cleanly, verify-equal rows`, async () => {
      const schema = `crash${++n}`;
      const config = sinkConfig('mysql', server.url, schema, undefined, 'evolve');
      const first = new SqlSink(mysqlDialect, config, context([before]));
      await first.open();
      await first.write({
        events: [
          insert(before, { id: 1, a: 1, b: 'one', gone: 'x' }),
          insert(before, { id: 2, a: 2, b: 'two', gone: 'y' }),
        ],
        checkpoint: checkpoint(1),
      });
      await first.close();

      // The batch with the DDL: rows before it (old names), the change, rows after it.
      const batch = {
        events: [
          update(before, { id: 1 }, { id: 1, a: 10, b: 'one*', gone: 'x' }),
          schemaChange(before, after, { renamedColumns: { b2: 'b' } }),
          insert(after, { id: 3, a: 3_000_000_000n, b2: 'three', c: 'set' }),
          update(after, { id: 2 }, { id: 2, a: 2_147_483_653, b2: 'two*', c: 'dflt' }),
        ],
        checkpoint: checkpoint(2),
      };
      const crash = killing(when, count);
      const crashing = new SqlSink(crash.dialect, config, context([before]));
      await crashing.open();
      await expect(crashing.write(batch)).rejects.toThrow(/killed before/);
      expect(crash.killed()).toBe(true);
      await crashing.close();
      expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(1));

      // The restarted pipeline: a new sink, the stored checkpoint, the same batch again.
      const restarted = new SqlSink(mysqlDialect, config, context([before]));
      expect(await restarted.open()).toEqual(checkpoint(1));
      await restarted.write(batch);
      await restarted.close();
      expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(2));
      const columns = await db.query(
        'SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
        [schema, 'items'],
      );
      expect(columns.map((r) => `${r.c} ${r.t}`)).toEqual([
        'id int(11)',
        'a bigint(20)',
        'b2 varchar(20)',
        'c varchar(10)',
      ]);
      const rows = await db.query(`SELECT id, a, b2, c FROM \`${schema}\`.items ORDER BY id`);
      expect(rows.map((r) => [Number(r.id), String(r.a), r.b2, r.c])).toEqual([
        [1, '10', 'one*', 'dflt'],
        [2, '2147483653', 'two*', 'dflt'],
        [3, '3000000000', 'three', 'set'],
      ]);
    }, 60_000);
  }
});

describe('a Postgres target: the schema change is part of the batch', () => {
  let pgServer: ThrowawayServer;
  let pgDb: TargetClient;
  beforeAll(async () => {
    pgServer = await startPostgres({ useEnv: false });
    pgDb = await targetClient('postgres', pgServer.url);
  }, 120_000);
  afterAll(async () => {
    await pgDb?.close().catch(() => undefined);
    await pgServer?.stop();
  });

  it('a batch that fails after its DDL leaves neither the DDL nor its rows; taken again, it applies', async () => {
    await pgDb.createSchema('pgcrash');
    const config = sinkConfig('postgres', pgServer.url, 'pgcrash', undefined, 'evolve');
    const first = new SqlSink(postgresDialect, config, context([before]));
    await first.open();
    await first.write({ events: [insert(before, { id: 1, a: 1, b: 'one', gone: 'x' })], checkpoint: checkpoint(1) });
    await first.close();
    const batch = {
      events: [
        schemaChange(before, after, { renamedColumns: { b2: 'b' } }),
        insert(after, { id: 3, a: 3_000_000_000n, b2: 'three', c: 'set' }),
      ],
      checkpoint: checkpoint(2),
    };
    const crash = killing(/^INSERT INTO "pgcrash"."items"/, 1, postgresDialect);
    const crashing = new SqlSink(crash.dialect, config, context([before]));
    await crashing.open();
    await expect(crashing.write(batch)).rejects.toThrow(/killed before/);
    await crashing.close();
    const columns = async () =>
      (
        await pgDb.query(
          "SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_schema = 'pgcrash' AND table_name = 'items' ORDER BY ordinal_position",
        )
      ).map((r) => `${r.c} ${r.t}`);
    expect(await columns()).toEqual(['id integer', 'a integer', 'b character varying', 'gone text']);
    const restarted = new SqlSink(postgresDialect, config, context([before]));
    expect(await restarted.open()).toEqual(checkpoint(1));
    await restarted.write(batch);
    await restarted.close();
    expect(await columns()).toEqual(['id integer', 'a bigint', 'b2 character varying', 'c character varying']);
    const rows = await pgDb.query('SELECT id, a::text AS a, b2, c FROM pgcrash.items ORDER BY id');
    expect(rows).toEqual([
      { id: 1, a: '1', b2: 'one', c: 'dflt' },
      { id: 3, a: '3000000000', b2: 'three', c: 'set' },
    ]);
  }, 60_000);
});
