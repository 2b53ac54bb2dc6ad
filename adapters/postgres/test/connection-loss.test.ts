import { ConnectionLostError, type LogItem, type TableSchema } from '@highwater/core';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgOffset, postgresAdapter } from '../src/index.js';
import { LogTap } from './helpers.js';

describe('a crashed server', () => {
  let server: ThrowawayPostgres;
  beforeAll(async () => {
    server = await startPostgres({ useEnv: false });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  it('surfaces as ConnectionLostError; reopening from the last offset loses nothing', async () => {
    const sql = async (text: string) => {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    };
    await sql('CREATE TABLE crash_t (id int4 PRIMARY KEY)');
    const adapter = postgresAdapter({ connection: server.url, slotName: 'crash', publicationName: 'crash' });
    const introspector = await adapter.createIntrospector();
    const tables = (await introspector.describeTables([{ schema: 'public', name: 'crash_t' }])) as TableSchema[];
    const from = await introspector.lowWatermark();
    await introspector.close();
    const log = await adapter.createLogReader({ from, tables });
    const tap = new LogTap<LogItem<PgOffset>>(log);
    await sql('INSERT INTO crash_t VALUES (1)');
    const first = await tap.until((items) => items.some((i) => i.kind === 'change'));
    const last = first.filter((i) => i.kind === 'change').at(-1) as LogItem<PgOffset>;
    await server.kill();
    const error = await tap.until(() => false, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    await log.close();
    await server.restart();
    await sql('INSERT INTO crash_t VALUES (2)');
    const reopened = await adapter.createLogReader({ from: last.offset, tables });
    try {
      const items = await new LogTap<LogItem<PgOffset>>(reopened).until((i) => i.some((x) => x.kind === 'change'));
      const changes = items.filter((i) => i.kind === 'change');
      expect(changes.map((c) => (c.kind === 'change' ? c.after : null))).toEqual([{ id: 2 }]);
    } finally {
      await reopened.close();
    }
  }, 60_000);
});
