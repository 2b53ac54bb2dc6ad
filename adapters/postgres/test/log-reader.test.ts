import {
  DatabaseSetupError,
  type LogItem,
  OffsetUnavailableError,
  PermissionError,
  type RowChange,
  type TableSchema,
} from '@highwater/core';
import { startPostgres } from '@highwater/test-servers';
import { describe, expect, it } from 'vitest';
import { type PgOffset, postgresAdapter, type PostgresAdapterOptions } from '../src/index.js';
import { createPgLogReader } from '../src/log-reader.js';
import { parseLsn } from '../src/offsets/lsn.js';
import { LogTap, usePostgres } from './helpers.js';

const pgs = usePostgres();
let slotCounter = 0;

async function open(
  tables: readonly string[],
  options: Partial<PostgresAdapterOptions> = {},
  /** Run after the tables are described and before the log reader opens. */
  beforeReader?: () => Promise<void>,
) {
  const slot = options.slotName ?? `s${++slotCounter}`;
  const adapter = postgresAdapter({ connection: pgs.server().url, slotName: slot, publicationName: slot, ...options });
  const introspector = await adapter.createIntrospector();
  const schemas = (await introspector.describeTables(
    tables.map((t) => ({ schema: 'public', name: t })),
  )) as TableSchema[];
  const from = await introspector.lowWatermark();
  await beforeReader?.();
  const log = await adapter.createLogReader({ from, tables: schemas });
  return { adapter, introspector, schemas, from, log, tap: new LogTap(log) };
}

const changes = (items: readonly LogItem<PgOffset>[]) =>
  items.filter((i): i is RowChange<PgOffset> => i.kind === 'change');

function expectIncreasing(items: readonly LogItem<PgOffset>[], compare: (a: PgOffset, b: PgOffset) => number): void {
  for (let i = 1; i < items.length; i++) {
    expect(compare((items[i - 1] as LogItem<PgOffset>).offset, (items[i] as LogItem<PgOffset>).offset)).toBeLessThan(0);
  }
}

describe('log reader (pgoutput)', () => {
  it('inserts, updates and deletes with key-only before-images, in commit order', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE kv (id int4 PRIMARY KEY, v text)');
    const { adapter, introspector, log, tap } = await open(['kv']);
    try {
      await db.query("INSERT INTO kv VALUES (1, 'a'), (2, 'b')");
      const other = pgs.sql();
      // T1 begins first but commits after T2: T2's changes come first.
      const { default: pg } = await import('pg');
      const t1 = new pg.Client({ connectionString: pgs.server().url });
      await t1.connect();
      await t1.query("BEGIN; INSERT INTO kv VALUES (10, 't1')");
      await other.query("INSERT INTO kv VALUES (20, 't2')");
      await t1.query('COMMIT');
      await t1.end();
      await db.query("UPDATE kv SET v = 'a2' WHERE id = 1");
      await db.query('UPDATE kv SET id = 3 WHERE id = 2');
      await db.query('DELETE FROM kv WHERE id = 3');
      const items = await tap.until((i) => changes(i).length >= 7);
      expectIncreasing(items, adapter.offsets.compare);
      const c = changes(items);
      expect(c.map((x) => [x.op, x.before, x.after, x.beforeImage])).toEqual([
        ['c', null, { id: 1, v: 'a' }, 'none'],
        ['c', null, { id: 2, v: 'b' }, 'none'],
        ['c', null, { id: 20, v: 't2' }, 'none'],
        ['c', null, { id: 10, v: 't1' }, 'none'],
        ['u', { id: 1 }, { id: 1, v: 'a2' }, 'key'],
        ['u', { id: 2 }, { id: 3, v: 'b' }, 'key'],
        ['d', { id: 3 }, null, 'key'],
      ]);
      expect(c.every((x) => x.table === 'public.kv' && typeof x.commitTime === 'number' && x.txId !== null)).toBe(true);
      // Two rows of one statement: same commit, increasing seq.
      expect(c[0]?.offset.commitLsn).toBe(c[1]?.offset.commitLsn);
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('unchanged TOAST values are listed as unchanged, never null', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE toasty (id int4 PRIMARY KEY, n int4, big text)');
    const { introspector, log, tap } = await open(['toasty']);
    try {
      const big =
        (await db.query<{ b: string }>("SELECT string_agg(md5(g::text), '') AS b FROM generate_series(1, 400) g"))
          .rows[0]?.b ?? '';
      await db.query('INSERT INTO toasty VALUES (1, 0, $1)', [big]);
      await db.query('UPDATE toasty SET n = 1 WHERE id = 1');
      const c = changes(await tap.until((i) => changes(i).length >= 2));
      expect(c[0]?.after).toEqual({ id: 1, n: 0, big });
      expect(c[1]?.after).toEqual({ id: 1, n: 1 });
      expect(c[1]?.unchanged).toEqual(['big']);
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('REPLICA IDENTITY FULL gives full before-images; truncate and schema changes become items', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE full_t (id int4 PRIMARY KEY, v text); ALTER TABLE full_t REPLICA IDENTITY FULL');
    const { introspector, log, tap } = await open(['full_t']);
    try {
      await db.query("INSERT INTO full_t VALUES (1, 'a')");
      await db.query("UPDATE full_t SET v = 'b'");
      await db.query('DELETE FROM full_t');
      await db.query('TRUNCATE full_t');
      await db.query("ALTER TABLE full_t ADD COLUMN extra int8; INSERT INTO full_t VALUES (2, 'c', 9007199254740993)");
      const items = await tap.until((i) => changes(i).length >= 4);
      const kinds = items.filter((i) => i.kind !== 'progress').map((i) => (i.kind === 'change' ? i.op : i.kind));
      expect(kinds).toEqual(['c', 'u', 'd', 'truncate', 'schema', 'c']);
      const c = changes(items);
      expect(c[1]).toMatchObject({ before: { id: 1, v: 'a' }, after: { id: 1, v: 'b' }, beforeImage: 'full' });
      expect(c[2]).toMatchObject({ before: { id: 1, v: 'b' }, after: null, beforeImage: 'full' });
      const schema = items.find((i) => i.kind === 'schema');
      expect(schema?.kind === 'schema' ? schema.schema?.columns.map((col) => col.name) : null).toEqual([
        'id',
        'v',
        'extra',
      ]);
      expect(c[3]?.after).toEqual({ id: 2, v: 'c', extra: 9007199254740993n });
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('a table dropped or renamed with no change after it is reported by the catalog check, after its last change', async () => {
    // pgoutput carries no DROP TABLE, and a renamed table shows only with its next change: the reader
    // finds both in pg_class and reports them once the stream is past the check's position.
    const db = pgs.sql();
    await db.query('CREATE TABLE gone_a (id int4 PRIMARY KEY); CREATE TABLE gone_b (id int4 PRIMARY KEY)');
    await db.query('CREATE TABLE stays (id int4 PRIMARY KEY)');
    const { adapter, introspector, log, tap } = await open(['gone_a', 'gone_b', 'stays']);
    try {
      await db.query('INSERT INTO gone_a VALUES (1); INSERT INTO gone_b VALUES (1)');
      await db.query('BEGIN; INSERT INTO gone_a VALUES (2); DROP TABLE gone_a; COMMIT');
      await db.query('INSERT INTO gone_b VALUES (2); ALTER TABLE gone_b RENAME TO gone_b2');
      await db.query('INSERT INTO stays VALUES (1)');
      // Both reports and the last change: a check that ran before `stays` was written reports the
      // drop and the rename before that change is read.
      const items = await tap.until(
        (i) =>
          i.filter((x) => x.kind === 'schema').length >= 2 &&
          changes(i).some((c) => c.table === 'public.stays' && c.after?.id === 1),
        20_000,
      );
      expectIncreasing(
        items.filter((i) => i.kind !== 'progress'),
        adapter.offsets.compare,
      );
      const told = items.filter((i) => i.kind === 'schema' || i.kind === 'change');
      const reports = told.filter((i) => i.kind === 'schema');
      expect(reports.map((i) => [i.table, i.schema, i.renamedTo ?? null])).toEqual(
        expect.arrayContaining([
          ['public.gone_a', null, null],
          ['public.gone_b', null, 'public.gone_b2'],
        ]),
      );
      expect(reports).toHaveLength(2);
      // Each after every change its table had.
      for (const r of reports) {
        const lastChange = told.findLastIndex((i) => i.kind === 'change' && i.table === r.table);
        expect(told.indexOf(r)).toBeGreaterThan(lastChange);
      }
      expect(changes(items).map((c) => [c.table, c.after])).toEqual([
        ['public.gone_a', { id: 1 }],
        ['public.gone_b', { id: 1 }],
        ['public.gone_a', { id: 2 }],
        ['public.gone_b', { id: 2 }],
        ['public.stays', { id: 1 }],
      ]);
      // Reported once: a later check has nothing more to say.
      await db.query('INSERT INTO stays VALUES (2)');
      const later = await tap.until((i) => changes(i).some((c) => c.after?.id === 2 && c.table === 'public.stays'));
      expect(later.filter((i) => i.kind === 'schema')).toHaveLength(2);
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('a column added with a default or renamed with no write after it is reported by the catalog check', async () => {
    // pgoutput tells a table's columns only before its next change: without the check, nothing
    // arrives here until the table is written again.
    const db = pgs.sql();
    await db.query("CREATE TABLE cols_t (id int4 PRIMARY KEY, v text); INSERT INTO cols_t VALUES (1, 'a')");
    const { adapter, introspector, log, tap } = await open(['cols_t']);
    const schemas = (items: readonly LogItem<PgOffset>[]) =>
      items.flatMap((i) => (i.kind === 'schema' && i.table === 'public.cols_t' ? [i] : []));
    try {
      await db.query("INSERT INTO cols_t VALUES (2, 'b')");
      await tap.until((i) => changes(i).length >= 1);
      await db.query("ALTER TABLE cols_t ADD COLUMN flag text NOT NULL DEFAULT 'yes'");
      const added = schemas(await tap.until((i) => schemas(i).length >= 1, 20_000));
      expect(added[0]?.schema?.columns.map((c) => [c.name, c.nativeType, c.nullable, c.default ?? null])).toEqual([
        ['id', 'integer', false, null],
        ['v', 'text', true, null],
        ['flag', 'text', false, "'yes'::text"],
      ]);
      expect(added[0]?.schema?.primaryKey).toEqual(['id']);
      // After the last change of the table.
      const last = changes(tap.items).at(-1) as RowChange<PgOffset>;
      expect(adapter.offsets.compare(last.offset, (added[0] as LogItem<PgOffset>).offset)).toBeLessThan(0);

      await db.query('ALTER TABLE cols_t RENAME COLUMN v TO w');
      const renamed = schemas(await tap.until((i) => schemas(i).length >= 2, 20_000))[1];
      expect(renamed?.schema?.columns.map((c) => c.name)).toEqual(['id', 'w', 'flag']);
      expect(renamed?.renamedColumns).toEqual({ w: 'v' });

      // The next write brings the relation message with the same columns: no second report.
      await db.query("INSERT INTO cols_t VALUES (3, 'c')");
      const after = await tap.until((i) => changes(i).length >= 2);
      expect(changes(after)[1]?.after).toEqual({ id: 3, w: 'c', flag: 'yes' });
      expect(schemas(after)).toHaveLength(2);
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('a column change whose relation message comes first is reported once', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE cols_once (id int4 PRIMARY KEY)');
    const { introspector, log, tap } = await open(['cols_once']);
    const schemas = (items: readonly LogItem<PgOffset>[]) =>
      items.flatMap((i) => (i.kind === 'schema' && i.table === 'public.cols_once' ? [i] : []));
    try {
      // Some writes follow their DDL at once, some after about a check interval: the relation
      // message and the catalog check race; each change is told once either way.
      for (let round = 1; round <= 6; round++) {
        await db.query(`ALTER TABLE cols_once ADD COLUMN c${round} int4`);
        if (round % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 900));
        await db.query(`INSERT INTO cols_once (id, c${round}) VALUES (${round}, ${round})`);
      }
      await tap.until((i) => changes(i).length >= 6, 30_000);
      // Let any late check report (it must find nothing).
      await db.query('INSERT INTO cols_once (id) VALUES (100)');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await db.query('INSERT INTO cols_once (id) VALUES (101)');
      const items = await tap.until((i) => changes(i).length >= 8, 20_000);
      expect(schemas(items).map((s) => s.schema?.columns.length)).toEqual([2, 3, 4, 5, 6, 7]);
      for (const c of changes(items).slice(0, 6)) {
        expect(Object.keys(c.after ?? {})).toHaveLength(Number(c.after?.id) + 1);
      }
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('a table missing when the reader opens is reported dropped', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE gone_early (id int4 PRIMARY KEY); CREATE TABLE present (id int4 PRIMARY KEY)');
    // Dropped after the core described it and before the reader opened (or while the pipeline was down).
    const { introspector, log, tap } = await open(['gone_early', 'present'], {}, async () => {
      await db.query('DROP TABLE gone_early');
    });
    try {
      const items = await tap.until((i) => i.some((x) => x.kind === 'schema'), 20_000);
      expect(items.filter((i) => i.kind === 'schema').map((i) => [i.table, i.schema])).toEqual([
        ['public.gone_early', null],
      ]);
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('partitioned tables are captured through their root', async () => {
    const db = pgs.sql();
    await db.query(`CREATE TABLE parted (id int4, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
      CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');`);
    const { introspector, log, tap } = await open(['parted']);
    try {
      await db.query("INSERT INTO parted VALUES (1, 'eu'), (2, 'us')");
      const c = changes(await tap.until((i) => changes(i).length >= 2));
      expect(c.map((x) => [x.table, x.after])).toEqual([
        ['public.parted', { id: 1, region: 'eu' }],
        ['public.parted', { id: 2, region: 'us' }],
      ]);
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  for (const watermarkMessages of [true, false]) {
    it(`an idle log passes the high watermark (${watermarkMessages ? 'marker messages' : 'keepalives only'})`, async () => {
      const db = pgs.sql();
      await db.query(
        `CREATE TABLE idle_${watermarkMessages} (id int4 PRIMARY KEY); CREATE TABLE busy_${watermarkMessages} (id int4)`,
      );
      const { adapter, introspector, log, tap } = await open([`idle_${watermarkMessages}`], { watermarkMessages });
      try {
        // Writes elsewhere move the WAL; the captured table stays idle.
        await db.query(`INSERT INTO busy_${watermarkMessages} VALUES (1)`);
        const hw = await introspector.highWatermark();
        const started = Date.now();
        const items = await tap.until(
          (i) => i.some((x) => x.kind === 'progress' && adapter.offsets.compare(x.offset, hw) >= 0),
          15_000,
        );
        console.info(
          `idle HW passed after ${Date.now() - started} ms (${watermarkMessages ? 'marker message' : 'keepalive'})`,
        );
        expect(changes(items)).toEqual([]);
      } finally {
        await log.close();
        await introspector.close();
      }
    });
  }

  it('acknowledges only up to the commit of an acknowledged change and resumes inside a transaction', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE ack_t (id int4 PRIMARY KEY)');
    const first = await open(['ack_t'], { slotName: 'ack' });
    let second: Awaited<ReturnType<typeof open>> | undefined;
    try {
      await db.query('INSERT INTO ack_t SELECT generate_series(1, 5)');
      await db.query('INSERT INTO ack_t VALUES (6)');
      const c = changes(await first.tap.until((i) => changes(i).length >= 6));
      const mid = c[2] as RowChange<PgOffset>; // third row of the five-row transaction
      await first.log.acknowledge(mid.offset);
      // Confirmed flush moves to the commit of that transaction (its start), not past it.
      let confirmed = '';
      for (let i = 0; i < 50; i++) {
        confirmed =
          (
            await db.query<{ l: string }>(
              "SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'ack'",
            )
          ).rows[0]?.l ?? '';
        if (parseLsn(confirmed) === mid.offset.commitLsn) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(parseLsn(confirmed)).toBe(mid.offset.commitLsn);
      await first.log.close();
      // Reopen after the acknowledged change: the rest of its transaction, then the next one.
      const log = await first.adapter.createLogReader({ from: mid.offset, tables: first.schemas });
      second = { ...first, log, tap: new LogTap(log) };
      const again = changes(await second.tap.until((i) => changes(i).length >= 3));
      expect(again.map((x) => x.after)).toEqual([{ id: 4 }, { id: 5 }, { id: 6 }]);
      expect(again.map((x) => x.offset)).toEqual(c.slice(3).map((x) => x.offset));
      await second.log.close();
      // A position before what the slot confirmed is gone.
      await expect(first.adapter.createLogReader({ from: first.from, tables: first.schemas })).rejects.toThrow(
        OffsetUnavailableError,
      );
    } finally {
      await second?.log.close();
      await first.log.close();
      await first.introspector.close();
    }
  });

  it('an idle captured table does not pin WAL: acknowledging a progress position advances the slot', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE quiet (id int4 PRIMARY KEY); CREATE TABLE noisy (id int4)');
    const { introspector, log, tap } = await open(['quiet'], { slotName: 'quiet', dropSlotOnClose: true });
    try {
      await db.query('INSERT INTO noisy SELECT generate_series(1, 1000)');
      const target = parseLsn(
        (await db.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]?.l ?? '',
      );
      const items = await tap.until((i) => i.some((x) => x.kind === 'progress' && x.offset.commitLsn >= target));
      expect(changes(items)).toEqual([]);
      const progress = items.filter((x) => x.kind === 'progress').at(-1) as LogItem<PgOffset>;
      await log.acknowledge(progress.offset);
      let confirmed = 0n;
      for (let i = 0; i < 50 && confirmed < progress.offset.commitLsn; i++) {
        const row = (
          await db.query<{ l: string }>(
            "SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'quiet'",
          )
        ).rows[0];
        confirmed = parseLsn(row?.l ?? '0/0');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(confirmed).toBe(progress.offset.commitLsn);
    } finally {
      await log.close();
      await introspector.close();
    }
    // dropSlotOnClose: the slot is gone once the reader is closed.
    const left = await db.query("SELECT FROM pg_replication_slots WHERE slot_name = 'quiet'");
    expect(left.rowCount).toBe(0);
  });

  it('resuming inside a transaction numbers its changes as the first session did, schema items or not', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE seq_t (id int4 PRIMARY KEY)');
    const first = await open(['seq_t'], { slotName: 'seq' });
    try {
      await db.query('INSERT INTO seq_t VALUES (0)');
      // Session 1 knows the old columns: the second transaction starts with a schema item.
      await db.query('ALTER TABLE seq_t ADD COLUMN x int4');
      await db.query('INSERT INTO seq_t SELECT generate_series(1, 5)');
      const c = changes(await first.tap.until((i) => changes(i).length >= 6));
      expect(first.tap.items.some((i) => i.kind === 'schema')).toBe(true);
      await first.log.close();
      const mid = c[3] as RowChange<PgOffset>; // the third row of the second transaction
      // Session 2 already knows the new columns: no schema item. The numbering must not shift.
      const tables = await first.introspector.describeTables([{ schema: 'public', name: 'seq_t' }]);
      const log = await first.adapter.createLogReader({ from: mid.offset, tables });
      try {
        const again = changes(await new LogTap(log).until((i) => changes(i).length >= 2));
        expect(again.map((x) => x.after)).toEqual([
          { id: 4, x: null },
          { id: 5, x: null },
        ]);
        expect(again.map((x) => x.offset)).toEqual(c.slice(4).map((x) => x.offset));
      } finally {
        await log.close();
      }
    } finally {
      await first.log.close();
      await first.introspector.close();
    }
  });

  it('backpressure: a reader that is not consumed stops reading the socket, then delivers everything', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE bulk (id int4 PRIMARY KEY, pad text)');
    const adapter = postgresAdapter({ connection: pgs.server().url, slotName: 'bulk', publicationName: 'bulk' });
    const introspector = await adapter.createIntrospector();
    const tables = await introspector.describeTables([{ schema: 'public', name: 'bulk' }]);
    const from = await introspector.lowWatermark();
    const log = await createPgLogReader(
      pgs.server().url,
      { slotName: 'bulk', publicationName: 'bulk', createSlot: true, createPublication: true, dropSlotOnClose: true },
      'highwater:bulk',
      { from, tables },
      { maxQueued: 2000, batchSize: 500 },
    );
    try {
      await db.query("INSERT INTO bulk SELECT g, repeat('x', 100) FROM generate_series(1, 30000) g");
      // Nobody consumes for a while: the queue stops near the limit instead of holding 30 000 rows.
      await new Promise((r) => setTimeout(r, 1500));
      expect(log.queued).toBeGreaterThanOrEqual(2000);
      expect(log.queued).toBeLessThan(10_000);
      const items = await new LogTap(log).until((i) => changes(i).length >= 30000, 30_000);
      expect(changes(items).at(-1)?.after).toEqual({ id: 30000, pad: 'x'.repeat(100) });
    } finally {
      await log.close();
      await introspector.close();
    }
  });

  it('clear errors: slot in use, table missing from a user publication, no REPLICATION privilege', async () => {
    const db = pgs.sql();
    await db.query('CREATE TABLE err_t (id int4 PRIMARY KEY); CREATE TABLE err_u (id int4 PRIMARY KEY)');
    const first = await open(['err_t'], { slotName: 'busy' });
    try {
      const second = postgresAdapter({ connection: pgs.server().url, slotName: 'busy', publicationName: 'busy' });
      const err = await second.createLogReader({ from: first.from, tables: first.schemas }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseSetupError);
      expect(String(err)).toMatch(/in use by process \d+.*pg_terminate_backend/);
    } finally {
      await first.log.close();
      await first.introspector.close();
    }
    await db.query('CREATE PUBLICATION mine FOR TABLE err_t');
    const mine = postgresAdapter({
      connection: pgs.server().url,
      slotName: 'mine',
      publicationName: 'mine',
      createPublication: false,
    });
    const introspector = await mine.createIntrospector();
    const schemas = await introspector.describeTables([{ schema: 'public', name: 'err_u' }]);
    const missing = await mine
      .createLogReader({ from: await introspector.lowWatermark(), tables: schemas })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DatabaseSetupError);
    expect(String(missing)).toContain('ALTER PUBLICATION "mine" ADD TABLE "public"."err_u"');
    await introspector.close();

    await db.query('CREATE ROLE plain LOGIN; GRANT SELECT ON err_t TO plain');
    const url = new URL(pgs.server().url);
    url.username = 'plain';
    const unprivileged = postgresAdapter({ connection: url.toString(), slotName: 'plain' });
    const denied = await unprivileged.createIntrospector().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionError);
    expect(String(denied)).toContain('ALTER ROLE "plain" WITH REPLICATION');
  });

  it('wal_level other than logical is a clear error', async () => {
    const server = await startPostgres({ useEnv: false, settings: { wal_level: 'replica' } });
    try {
      const err = await postgresAdapter({ connection: server.url })
        .createIntrospector()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseSetupError);
      expect(String(err)).toContain('ALTER SYSTEM SET wal_level = logical');
    } finally {
      await server.stop();
    }
  }, 60_000);
});
