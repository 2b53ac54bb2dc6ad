import { createSource, type SourceEvent } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { postgresAdapter } from '../src/index.js';
import { usePostgres } from './helpers.js';

const pgs = usePostgres();

/**
 * What a source captures, end to end through `createSource`: several schemas, include and exclude
 * patterns, a partitioned table through its root, and one TRUNCATE of several tables.
 */
describe('capture scope', () => {
  it('several schemas, include/exclude patterns, a partitioned root, a multi-table TRUNCATE', async () => {
    const db = pgs.sql();
    await db.query(`
      CREATE SCHEMA sales; CREATE SCHEMA ops;
      CREATE TABLE sales.orders (id int4 PRIMARY KEY, item text);
      CREATE TABLE sales.orders_archive (id int4 PRIMARY KEY, item text);
      CREATE TABLE ops.events (id int4, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE ops.events_eu PARTITION OF ops.events FOR VALUES IN ('eu');
      CREATE TABLE ops.events_us PARTITION OF ops.events FOR VALUES IN ('us');
      CREATE TABLE public.elsewhere (id int4 PRIMARY KEY);
      INSERT INTO sales.orders VALUES (1, 'a'), (2, 'b');
      INSERT INTO sales.orders_archive VALUES (1, 'old');
      INSERT INTO ops.events VALUES (1, 'eu'), (2, 'us');
      INSERT INTO public.elsewhere VALUES (1);
    `);
    const source = createSource({
      adapter: postgresAdapter({ connection: pgs.server().url, slotName: 'scope', publicationName: 'scope' }),
      tables: { include: ['sales.*', 'ops.*', 'public.nothing_*'], exclude: ['sales.*_archive'] },
      heartbeatIntervalMs: 50,
    });
    const events: SourceEvent[] = [];
    const iterator = source[Symbol.asyncIterator]();
    const take = async (done: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`not done: ${JSON.stringify(events.map((e) => e.kind))}`);
        const next = await iterator.next();
        if (next.done === true) throw new Error('the source ended');
        events.push(...next.value.events);
      }
    };
    const described = (e: SourceEvent) =>
      e.kind === 'change'
        ? `${e.source.table} ${e.op} ${JSON.stringify(e.after ?? e.before)}`
        : e.kind === 'truncate'
          ? `${e.table} truncate`
          : null;
    try {
      await take(() => events.filter((e) => e.kind === 'change').length >= 4);
      expect(
        events
          .map(described)
          .filter((d) => d !== null)
          .sort(),
      ).toEqual([
        'ops.events r {"id":1,"region":"eu"}',
        'ops.events r {"id":2,"region":"us"}',
        'sales.orders r {"id":1,"item":"a"}',
        'sales.orders r {"id":2,"item":"b"}',
      ]);
      events.length = 0;
      await db.query(`
        INSERT INTO sales.orders_archive VALUES (2, 'excluded');
        INSERT INTO public.elsewhere VALUES (2);
        INSERT INTO ops.events VALUES (3, 'us');
        UPDATE ops.events SET region = 'eu' WHERE id = 3;
        INSERT INTO sales.orders VALUES (3, 'c');
        TRUNCATE sales.orders, ops.events, sales.orders_archive;
        INSERT INTO sales.orders VALUES (4, 'd');
      `);
      await take(() => events.some((e) => e.kind === 'change' && e.after?.id === 4));
      // A row moving between partitions is a delete and an insert on the leaves; through the root it
      // stays one table's delete and insert, in order.
      expect(events.map(described).filter((d) => d !== null)).toEqual([
        'ops.events c {"id":3,"region":"us"}',
        'ops.events d {"id":3,"region":"us"}',
        'ops.events c {"id":3,"region":"eu"}',
        'sales.orders c {"id":3,"item":"c"}',
        'sales.orders truncate',
        'ops.events truncate',
        'sales.orders c {"id":4,"item":"d"}',
      ]);
    } finally {
      await source.close();
    }
  });
});
