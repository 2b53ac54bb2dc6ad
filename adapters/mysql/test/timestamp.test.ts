import type { LogItem, RowChange, TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareOffsets, type MysqlOffset, mysqlAdapter } from '../src/index.js';
import { LogTap, useMariadb } from './helpers.js';

const db = useMariadb();
const adapter = () => mysqlAdapter({ connection: db.server().url, serverId: 901, heartbeatMs: 50 });
type Item = LogItem<MysqlOffset>;

/** Waits for the next whole second (binlog headers have 1 s resolution) and returns it. */
async function nextSecond(): Promise<Date> {
  const at = Math.ceil((Date.now() + 1) / 1000) * 1000;
  await new Promise((resolve) => setTimeout(resolve, at - Date.now() + 5));
  return new Date(at);
}

describe('offsetAtTimestamp', () => {
  it('finds the first transaction committed at or after a time, across rotations', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE ts_t (id int PRIMARY KEY)');
    const introspector = await adapter().createIntrospector();
    try {
      const [schema] = (await introspector.describeTables([{ schema: 'highwater', name: 'ts_t' }])) as TableSchema[];
      await sql.query('INSERT INTO ts_t VALUES (1)');
      const second = await nextSecond();
      await sql.query('FLUSH BINARY LOGS');
      await sql.query('INSERT INTO ts_t VALUES (2)');
      const third = await nextSecond();
      await sql.query('INSERT INTO ts_t VALUES (3)'); // same file as 2, later second
      await sql.query('FLUSH BINARY LOGS');
      const fourth = await nextSecond();
      await sql.query('FLUSH BINARY LOGS');
      await sql.query('INSERT INTO ts_t VALUES (4)');
      const end = await introspector.highWatermark();

      const idsFrom = async (time: Date): Promise<number[]> => {
        const from = await introspector.offsetAtTimestamp?.(time);
        if (from === undefined) throw new Error('offsetAtTimestamp missing');
        const log = await adapter().createLogReader({ from, tables: [schema as TableSchema] });
        try {
          const items = await new LogTap<Item>(log).until((xs) => xs.some((x) => compareOffsets(x.offset, end) >= 0));
          return items.filter((x): x is RowChange<MysqlOffset> => x.kind === 'change').map((c) => Number(c.after?.id));
        } finally {
          await log.close();
        }
      };
      expect(await idsFrom(new Date(0))).toEqual([1, 2, 3, 4]);
      expect(await idsFrom(second)).toEqual([2, 3, 4]);
      expect(await idsFrom(third)).toEqual([3, 4]);
      expect(await idsFrom(fourth)).toEqual([4]);
      // Inside a second: the whole second counts (header resolution), so 4 is still included.
      expect(await idsFrom(new Date(fourth.getTime() + 400))).toEqual([4]);
      // After everything: the binlog end (MariaDB may have appended a binlog checkpoint event since), nothing to deliver.
      const future = new Date(Date.now() + 3_600_000);
      const offset = await introspector.offsetAtTimestamp?.(future);
      expect(offset !== undefined && compareOffsets(offset, end)).toBeGreaterThanOrEqual(0);
      expect(await idsFrom(future)).toEqual([]);
    } finally {
      await introspector.close();
    }
  }, 30_000);
});
