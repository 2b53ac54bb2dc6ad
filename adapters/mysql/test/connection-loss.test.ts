import { ConnectionLostError, createSource, type SourceAdapter } from '@highwater/core';
import { startMariadb } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { type MysqlOffset, mysqlAdapter } from '../src/index.js';
import { useMariadb } from './helpers.js';

const db = useMariadb();

async function threadIds(sql: mysql.Connection): Promise<Set<number>> {
  const [rows] = await sql.query('SELECT ID FROM information_schema.PROCESSLIST');
  return new Set((rows as { ID: number }[]).map((r) => Number(r.ID)));
}

describe('connection loss', () => {
  it('the introspector throws ConnectionLostError for a killed connection, then works again', async () => {
    const sql = db.sql();
    const before = await threadIds(sql);
    const introspector = await mysqlAdapter({ connection: db.server().url }).createIntrospector();
    try {
      const first = await introspector.highWatermark();
      const mine = [...(await threadIds(sql))].filter((id) => !before.has(id));
      expect(mine.length).toBe(1);
      await sql.query(`KILL ${mine[0]}`);
      const error = await introspector.highWatermark().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionLostError);
      // What the core does next: the same call again, on the same introspector.
      const again = await introspector.highWatermark();
      expect(again.file).toBe(first.file);
      expect(await introspector.lowWatermark()).toBeDefined();
      expect(await introspector.listTables()).toBeDefined();
    } finally {
      await introspector.close();
    }
  });

  it('a lost server is retried with backoff, then the source fails with ConnectionLostError', async () => {
    const server = await startMariadb({ useEnv: false });
    try {
      const client = await mysql.createConnection(server.url);
      await client.query('CREATE TABLE lost (id int PRIMARY KEY)');
      await client.query('INSERT INTO lost VALUES (1)');
      await client.end();
      const inner = mysqlAdapter({ connection: server.url, heartbeatMs: 50 });
      let logReaders = 0;
      const adapter: SourceAdapter<MysqlOffset> = {
        ...inner,
        createLogReader: (request) => {
          logReaders++;
          return inner.createLogReader(request);
        },
      };
      const source = createSource({
        adapter,
        tables: { include: ['highwater.lost'] },
        heartbeatIntervalMs: 50,
        retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 50 },
      });
      const iterator = source[Symbol.asyncIterator]();
      // The snapshot (one row) and the switch to the stream.
      for (let rows = 0; rows < 1; ) {
        const next = await iterator.next();
        if (next.done === true) throw new Error('ended');
        rows += next.value.events.filter((e) => e.kind === 'change').length;
      }
      await server.kill();
      const error = await (async () => {
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) return new Error('the source ended instead of failing');
        }
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect((error as Error).message).toMatch(/ECONNREFUSED|connection/i);
      // The first reader, then one per retry: three attempts after the first.
      expect(logReaders).toBe(1 + 3);
      await source.close();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
