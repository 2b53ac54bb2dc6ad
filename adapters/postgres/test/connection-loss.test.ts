import { ConnectionLostError, type LogItem, type TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { type PgOffset, postgresAdapter } from '../src/index.js';
import { LogTap, useServer, withClient } from './helpers.js';

describe('a crashed server', () => {
  const server = useServer({ useEnv: false });

  it('surfaces as ConnectionLostError; reopening from the last offset loses nothing', async () => {
    const sql = (text: string) => withClient(server().url, (c) => c.query(text));
    await sql('CREATE TABLE crash_t (id int4 PRIMARY KEY)');
    const adapter = postgresAdapter({ connection: server().url, slotName: 'crash', publicationName: 'crash' });
    const introspector = await adapter.createIntrospector();
    const tables = (await introspector.describeTables([{ schema: 'public', name: 'crash_t' }])) as TableSchema[];
    const from = await introspector.lowWatermark();
    await introspector.close();
    const log = await adapter.createLogReader({ from, tables });
    const tap = new LogTap<LogItem<PgOffset>>(log);
    await sql('INSERT INTO crash_t VALUES (1)');
    const first = await tap.until((items) => items.some((i) => i.kind === 'change'));
    const last = first.filter((i) => i.kind === 'change').at(-1) as LogItem<PgOffset>;
    await server().kill();
    const error = await tap.until(() => false, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    await log.close();
    await server().restart();
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
