import { type Checkpoint, type Row, SinkError, type TableSchema } from '@highwater/core';
import type { SessionStatement, SqlSession } from '@highwater/sink-sql';
import { startMariadb, type ThrowawayServer } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlDialect, mysqlSink } from '../src/index.js';
import { PIPELINE_BYTES, sendStatements } from '../src/multi-statement.js';
import { change as changeOf, checkpoint } from './events.js';

/**
 * A stream batch into MariaDB goes as one multi-statement query (BEGIN, the deletes and upserts,
 * the checkpoint, COMMIT); a statement that fails stops the query before COMMIT.
 */

const items: TableSchema = {
  id: { schema: 'src', name: 'items' },
  columns: [
    { name: 'id', type: { kind: 'int32' }, nativeType: 'int', nullable: false },
    { name: 'name', type: { kind: 'string', length: 20 }, nativeType: 'varchar(20)', nullable: true },
  ],
  primaryKey: ['id'],
  chunkKey: ['id'],
};

const change = (op: 'c' | 'u' | 'd', row: Row) => changeOf(items, op, row);

/** What the sink's sessions were asked, in order: `query`, `load`, or `pipeline` with the statements' first words. */
const calls: string[] = [];
const connect = mysqlDialect.connect.bind(mysqlDialect);
function record(session: SqlSession): SqlSession {
  return {
    ...session,
    query: (sql, params) => {
      calls.push(`query ${sql.split(' ', 1)[0]}`);
      return session.query(sql, params);
    },
    ...(session.load === undefined
      ? {}
      : {
          load: (sql: string, data: Iterable<Uint8Array>) => {
            calls.push('load');
            return (session.load as NonNullable<SqlSession['load']>)(sql, data);
          },
        }),
    ...(session.pipeline === undefined
      ? {}
      : {
          pipeline: (statements: readonly SessionStatement[]) => {
            calls.push(`pipeline ${statements.map((s) => s.sql.split(' ', 1)[0]).join(' ')}`);
            return (session.pipeline as NonNullable<SqlSession['pipeline']>)(statements);
          },
        }),
  };
}

describe('the mysql sink sends a stream batch as one query', () => {
  let server: ThrowawayServer;
  let db: mysql.Connection;
  const context = {
    pipelineName: 'pipelined',
    logger: { info: () => undefined, debug: () => undefined, warn: () => undefined },
    describeTables: async () => [items],
  };
  const sinkIn = (schema: string) =>
    mysqlSink({ connection: server.url, schema, tableNaming: 'table', createTables: true }, context);
  const stored = async (schema: string) =>
    (await db.query(`SELECT id, name FROM \`${schema}\`.items ORDER BY id`))[0] as Row[];
  const storedCheckpoint = async (schema: string) => {
    const [rows] = await db.query(`SELECT checkpoint FROM \`${schema}\`.highwater_checkpoints`);
    return (rows as { checkpoint: string }[]).map((r) => (JSON.parse(r.checkpoint) as Checkpoint).position);
  };

  beforeAll(async () => {
    server = await startMariadb({ useEnv: false });
    db = await mysql.createConnection({ uri: server.url });
    mysqlDialect.connect = async (c) => record(await connect(c));
  }, 60_000);
  afterAll(async () => {
    mysqlDialect.connect = connect;
    await db?.end().catch(() => undefined);
    await server?.stop();
  }, 60_000);

  it('BEGIN, the delete, the upserts of new and updated rows, the checkpoint and COMMIT in one round trip', async () => {
    const sink = sinkIn('one_trip');
    await sink.open();
    try {
      const first = Array.from({ length: 200 }, (_, i) => change('c', { id: i, name: `n${i}` }));
      await sink.write({ events: first, checkpoint: checkpoint(1) });
      calls.length = 0;
      // Updates (more than a stage would take), deletes and new rows, as a stream's batch has them.
      const second = [
        ...Array.from({ length: 100 }, (_, i) => change('u', { id: i, name: `u${i}` })),
        ...Array.from({ length: 100 }, (_, i) => change('d', { id: 100 + i })),
        ...Array.from({ length: 100 }, (_, i) => change('c', { id: 300 + i, name: `c${i}` })),
      ];
      await sink.write({ events: second, checkpoint: checkpoint(2) });
      expect(calls).toEqual(['pipeline START DELETE INSERT INSERT COMMIT']);
    } finally {
      await sink.close();
    }
    const rows = await stored('one_trip');
    expect(rows.length).toBe(200);
    expect(rows[0]).toEqual({ id: 0, name: 'u0' });
    expect(rows[199]).toEqual({ id: 399, name: 'c99' });
    expect(await storedCheckpoint('one_trip')).toEqual([2]);
  }, 60_000);

  it('a statement the server refuses stops the query: nothing of the batch is committed, the error names it', async () => {
    const sink = sinkIn('refused');
    await sink.open();
    try {
      await sink.write({
        events: [change('c', { id: 1, name: 'one' }), change('c', { id: 2, name: 'two' })],
        checkpoint: checkpoint(1),
      });
      const refused = sink.write({
        events: [change('d', { id: 1 }), change('u', { id: 2, name: 'far more than twenty characters' })],
        checkpoint: checkpoint(2),
      });
      await expect(refused).rejects.toThrow(SinkError);
      await expect(refused).rejects.toThrow(/INSERT statement.*items|items.*INSERT statement/s);
    } finally {
      await sink.close();
    }
    // The delete before the refused upsert, and the checkpoint after it, were rolled back with it.
    expect(await stored('refused')).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
    expect(await storedCheckpoint('refused')).toEqual([1]);
  }, 60_000);

  it('statements beyond one query go in further queries, in order, and a failure is named by its index', async () => {
    const raw = await mysql.createConnection({ uri: server.url, multipleStatements: true });
    try {
      await raw.query('CREATE DATABASE split; CREATE TABLE split.t (id int PRIMARY KEY, v LONGTEXT)');
      const big = 'x'.repeat(PIPELINE_BYTES / 3);
      const statements: SessionStatement[] = [
        { sql: 'START TRANSACTION', params: [], prepared: false },
        ...Array.from({ length: 5 }, (_, i) => ({
          sql: 'INSERT INTO split.t VALUES (?, ?)',
          params: [i, `${i}${big}`],
          prepared: false,
        })),
        // Depends on every insert before it, some of which went in an earlier query.
        { sql: 'UPDATE split.t SET v = LEFT(v, 1) WHERE id < ?', params: [5], prepared: false },
        { sql: 'COMMIT', params: [], prepared: false },
      ];
      expect(await sendStatements(raw, statements)).toBeNull();
      const [rows] = await raw.query('SELECT id, v FROM split.t ORDER BY id');
      expect(rows).toEqual([0, 1, 2, 3, 4].map((id) => ({ id, v: String(id) })));

      const failing: SessionStatement[] = [
        { sql: 'START TRANSACTION', params: [], prepared: false },
        { sql: 'INSERT INTO split.t VALUES (?, ?)', params: [10, big], prepared: false },
        { sql: 'INSERT INTO split.t VALUES (?, ?)', params: [11, big], prepared: false },
        { sql: 'INSERT INTO split.t VALUES (?, ?)', params: [12, big], prepared: false },
        { sql: 'INSERT INTO split.t VALUES (?, ?)', params: [13, 'a'], prepared: false },
        { sql: 'INSERT INTO split.t VALUES (?, ?)', params: [0, 'taken'], prepared: false },
        { sql: 'COMMIT', params: [], prepared: false },
      ];
      const failed = await sendStatements(raw, failing);
      expect(failed?.index).toBe(5);
      expect(String(failed?.error)).toMatch(/Duplicate entry/);
      await raw.query('ROLLBACK');
      const [[count]] = (await raw.query('SELECT COUNT(*) AS n FROM split.t')) as unknown as [[{ n: number }]];
      expect(Number(count.n)).toBe(5);
    } finally {
      await raw.end();
    }
  }, 60_000);
});
