import {
  ConnectionLostError,
  type LogItem,
  OffsetUnavailableError,
  type RowChange,
  type TableSchema,
} from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareOffsets, type MysqlOffset, mysqlAdapter, positionAt } from '../src/index.js';
import { type BinaryLog, binlogBytesAfter } from '../src/binlog-lag.js';
import { LogTap, useMariadb } from './helpers.js';

const db = useMariadb();
const adapter = (serverId = 601) => mysqlAdapter({ connection: db.server().url, serverId, heartbeatMs: 100 });
type Item = LogItem<MysqlOffset>;
const changes = (items: readonly Item[]) => items.filter((i): i is RowChange<MysqlOffset> => i.kind === 'change');

async function describeOne(name: string): Promise<TableSchema> {
  const introspector = await adapter().createIntrospector();
  try {
    const [s] = await introspector.describeTables([{ schema: 'highwater', name }]);
    if (s === undefined) throw new Error('missing');
    return s;
  } finally {
    await introspector.close();
  }
}

/** The items a log reader of `schema` delivers from `from` until one at or after `hw`. */
async function readThrough(schema: TableSchema, from: MysqlOffset, hw: MysqlOffset): Promise<Item[]> {
  const log = await adapter().createLogReader({ from, tables: [schema] });
  try {
    return await new LogTap<Item>(log).until((xs) => xs.some((x) => compareOffsets(x.offset, hw) >= 0));
  } finally {
    await log.close();
  }
}

async function highWatermark(): Promise<MysqlOffset> {
  const introspector = await adapter().createIntrospector();
  try {
    return await introspector.highWatermark();
  } finally {
    await introspector.close();
  }
}

describe('MysqlLogReader', () => {
  it('delivers inserts, updates and deletes in order with increasing offsets, then progress', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE log_a (id int PRIMARY KEY, v varchar(10))');
    await sql.query('CREATE TABLE log_other (id int PRIMARY KEY)');
    const schema = await describeOne('log_a');
    const from = await highWatermark();
    await sql.query("INSERT INTO log_a VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    await sql.query('INSERT INTO log_other VALUES (1)');
    await sql.query("BEGIN; UPDATE log_a SET v = 'x' WHERE id = 1; DELETE FROM log_a WHERE id = 2; COMMIT");
    const hw = await highWatermark();
    const items = await readThrough(schema, from, hw);
    const cs = changes(items);
    expect(cs.map((c) => [c.op, c.table, c.before?.id ?? null, c.after?.id ?? null])).toEqual([
      ['c', 'highwater.log_a', null, 1],
      ['c', 'highwater.log_a', null, 2],
      ['c', 'highwater.log_a', null, 3],
      ['u', 'highwater.log_a', 1, 1],
      ['d', 'highwater.log_a', 2, null],
    ]);
    expect(cs[3]?.before).toEqual({ id: 1, v: 'a' });
    expect(cs[3]?.after).toEqual({ id: 1, v: 'x' });
    expect(cs[0]?.commitTime).toBeGreaterThan(Date.now() - 60_000);
    expect(cs[0]?.txId).toMatch(/^\d+-\d+-\d+$/);
    // The GTID rides in the offset too (informational: resume is by file and position).
    for (const c of cs) expect(c.offset.gtid).toBe(c.txId);
    expect(new Set(cs.map((c) => c.txId)).size).toBe(2); // two transactions on log_a
    for (let i = 1; i < items.length; i++) {
      expect(compareOffsets((items[i] as Item).offset, (items[i - 1] as Item).offset)).toBeGreaterThan(0);
    }
    for (const c of cs) expect(compareOffsets(c.offset, hw)).toBeLessThan(0);
  });

  it('delivers a burst of more rows than a batch holds, in order, each once, with the position after them', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE log_burst (id int PRIMARY KEY, v varchar(10))');
    const schema = await describeOne('log_burst');
    const from = await highWatermark();
    // Several thousand rows in multi-row events and small transactions, all in the binlog before
    // the reader starts: it reads them as one catch-up, in many batches.
    await sql.query('INSERT INTO log_burst SELECT seq, CONCAT("r", seq) FROM seq_1_to_4500');
    await sql.query('UPDATE log_burst SET v = "u" WHERE id <= 1500');
    for (let i = 0; i < 20; i++) await sql.query(`DELETE FROM log_burst WHERE id = ${4500 - i}`);
    const hw = await highWatermark();
    const items = await readThrough(schema, from, hw);
    const cs = changes(items);
    expect(cs.length).toBe(4500 + 1500 + 20);
    expect(cs.slice(0, 4500).map((c) => c.after?.id)).toEqual(Array.from({ length: 4500 }, (_, i) => i + 1));
    expect(cs[4500]?.before).toEqual({ id: 1, v: 'r1' });
    expect(cs[4500]?.after).toEqual({ id: 1, v: 'u' });
    expect(cs.slice(6000).map((c) => [c.op, c.before?.id])).toEqual(
      Array.from({ length: 20 }, (_, i) => ['d', 4500 - i]),
    );
    for (let i = 1; i < items.length; i++) {
      expect(compareOffsets((items[i] as Item).offset, (items[i - 1] as Item).offset)).toBeGreaterThan(0);
    }
    expect(items.at(-1)?.kind).toBe('progress');
  });

  it('resumes strictly after any offset, inside a multi-row event and inside a transaction', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE log_resume (id int PRIMARY KEY, v int)');
    const schema = await describeOne('log_resume');
    const from = await highWatermark();
    await sql.query('INSERT INTO log_resume VALUES (1,1),(2,2),(3,3),(4,4)');
    await sql.query('BEGIN; INSERT INTO log_resume VALUES (5,5),(6,6); UPDATE log_resume SET v = v + 1; COMMIT');
    const hw = await highWatermark();
    const read = async (start: MysqlOffset) => changes(await readThrough(schema, start, hw));
    const all = await read(from);
    expect(all.length).toBe(4 + 2 + 6);
    // The rows of one event share a position and an event index, and differ by row index.
    expect(new Set(all.slice(0, 4).map((c) => `${c.offset.pos}/${c.offset.eventIndex}`)).size).toBe(1);
    // The second transaction: two events (insert, update), ordered by event index.
    expect(all[4]?.offset.pos).toBe(all[6]?.offset.pos);
    expect((all[6]?.offset.eventIndex ?? 0) > (all[5]?.offset.eventIndex ?? 0)).toBe(true);
    for (const k of [0, 1, 3, 5, 6, 8, 11]) {
      const rest = await read((all[k] as RowChange<MysqlOffset>).offset);
      expect(
        rest.map((c) => c.offset),
        `resume after #${k}`,
      ).toEqual(all.slice(k + 1).map((c) => c.offset));
      expect(rest.map((c) => c.after)).toEqual(all.slice(k + 1).map((c) => c.after));
    }
  });

  it('reports the binlog left after its position as binlogLagBytes', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE log_lag (id int PRIMARY KEY, v varchar(100))');
    const schema = await describeOne('log_lag');
    const from = await highWatermark();
    await sql.query(
      `INSERT INTO log_lag VALUES ${Array.from({ length: 200 }, (_, i) => `(${i}, '${'x'.repeat(90)}')`).join(', ')}`,
    );
    const hw = await highWatermark();
    const log = await adapter().createLogReader({ from, tables: [schema] });
    const reader = log as typeof log & { measureBinlogLag(): Promise<void> };
    try {
      // Read up to the end: nothing is left.
      await new LogTap<Item>(log).until((xs) =>
        xs.some((x) => x.kind === 'progress' && compareOffsets(x.offset, hw) >= 0),
      );
      await reader.measureBinlogLag();
      expect(log.metrics?.()).toEqual({ binlogLagBytes: 0 });
    } finally {
      await log.close();
    }
    // Measured from where it started, the server's own list of binlogs has the whole insert ahead.
    const [logs] = await sql.query('SHOW BINARY LOGS');
    expect(binlogBytesAfter(logs as BinaryLog[], from)).toBeGreaterThan(200 * 90);
    expect(binlogBytesAfter(logs as BinaryLog[], hw)).toBe(0);
  });

  it('reports progress when idle and when only other tables change', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE log_idle (id int PRIMARY KEY)');
    const schema = await describeOne('log_idle');
    const from = await highWatermark();
    const log = await adapter().createLogReader({ from, tables: [schema] });
    try {
      const tap = new LogTap<Item>(log);
      await tap.until((xs) => xs.some((x) => x.kind === 'progress' && compareOffsets(x.offset, from) >= 0));
      await sql.query('INSERT INTO log_other VALUES (2)');
      const hw = await highWatermark();
      await tap.until((xs) => xs.some((x) => x.kind === 'progress' && compareOffsets(x.offset, hw) >= 0));
      expect(changes(tap.items)).toEqual([]);
    } finally {
      await log.close();
    }
  });

  it('turns DDL into schema items and decodes later rows with the new columns; truncate and drop too', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE log_ddl (id int PRIMARY KEY, a int)');
    const schema = await describeOne('log_ddl');
    const from = await highWatermark();
    const log = await adapter().createLogReader({ from, tables: [schema] });
    try {
      const tap = new LogTap<Item>(log);
      await sql.query('INSERT INTO log_ddl VALUES (1, 1)');
      await sql.query("ALTER TABLE log_ddl ADD COLUMN b varchar(5) DEFAULT 'z'");
      // The reader re-describes the table when it reads the ALTER: it sees the definition current
      // then (a reader far behind sees later definitions; see README), so let it catch up first.
      await tap.until((xs) => xs.some((x) => x.kind === 'schema'));
      await sql.query("INSERT INTO log_ddl VALUES (2, 2, 'y')");
      await sql.query('TRUNCATE TABLE log_ddl');
      await sql.query('DROP TABLE log_ddl');
      const items = await tap.until((xs) => xs.filter((x) => x.kind === 'schema').length >= 2);
      const kinds = items.filter((x) => x.kind !== 'progress').map((x) => x.kind);
      expect(kinds).toEqual(['change', 'schema', 'change', 'truncate', 'schema']);
      const alter = items.find((x) => x.kind === 'schema');
      expect(alter?.kind === 'schema' && alter.schema?.columns.map((c) => c.name)).toEqual(['id', 'a', 'b']);
      expect(changes(items)[1]?.after).toEqual({ id: 2, a: 2, b: 'y' });
    } finally {
      await log.close();
    }
  });

  it('refuses a purged binlog file with OffsetUnavailableError, naming the oldest', async () => {
    const sql = db.sql();
    const old = await highWatermark();
    await sql.query('FLUSH BINARY LOGS');
    const [logs] = await sql.query('SHOW BINARY LOGS');
    const last = (logs as { Log_name: string }[]).at(-1)?.Log_name as string;
    await sql.query(`PURGE BINARY LOGS TO '${last}'`);
    const error = await adapter()
      .createLogReader({ from: old, tables: [] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OffsetUnavailableError);
    expect((error as Error).message).toContain(last);
    // A position in the current file still works.
    const log = await adapter().createLogReader({ from: positionAt(last, 4), tables: [] });
    await log.close();
  });

  it('reports a killed binlog connection as ConnectionLostError', async () => {
    const sql = db.sql();
    const from = await highWatermark();
    const log = await adapter(777).createLogReader({ from, tables: [] });
    try {
      const tap = new LogTap<Item>(log);
      await tap.until((xs) => xs.some((x) => x.kind === 'progress'));
      const [rows] = await sql.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
      for (const r of rows as { ID: number }[]) await sql.query(`KILL ${r.ID}`);
      const error = await tap.until(() => false, 10_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionLostError);
    } finally {
      await log.close();
    }
  });
});

describe('MysqlLogReader and DDL read later', () => {
  it('decodes rows written before an ADD COLUMN with the columns of their time, read after it', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE ddl_late (id int PRIMARY KEY, a int)');
    const from = await highWatermark();
    await sql.query('INSERT INTO ddl_late VALUES (1, 10)');
    await sql.query("ALTER TABLE ddl_late ADD COLUMN b varchar(5) DEFAULT 'z'");
    await sql.query("INSERT INTO ddl_late VALUES (2, 20, 'y')");
    // The reader starts only now, from before the ALTER: it knows only today's definition.
    const schema = await describeOne('ddl_late');
    const hw = await highWatermark();
    const items = await readThrough(schema, from, hw);
    const kinds = items.filter((x) => x.kind !== 'progress').map((x) => x.kind);
    expect(kinds).toEqual(['change', 'schema', 'change']);
    expect(changes(items).map((c) => c.after)).toEqual([
      { id: 1, a: 10 },
      { id: 2, a: 20, b: 'y' },
    ]);
  });

  it('RENAME away, DROP and CREATE again of a captured table', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE ddl_cycle (id int PRIMARY KEY)');
    const schema = await describeOne('ddl_cycle');
    const from = await highWatermark();
    const log = await adapter().createLogReader({ from, tables: [schema] });
    try {
      const tap = new LogTap<Item>(log);
      await sql.query('INSERT INTO ddl_cycle VALUES (1)');
      await sql.query('RENAME TABLE ddl_cycle TO ddl_cycle_old');
      await tap.until((xs) => xs.some((x) => x.kind === 'schema'));
      await sql.query('CREATE TABLE ddl_cycle (id int PRIMARY KEY, note varchar(10))');
      await tap.until((xs) => xs.filter((x) => x.kind === 'schema').length >= 2);
      await sql.query("INSERT INTO ddl_cycle VALUES (2, 'new')");
      await sql.query('DROP TABLE ddl_cycle');
      const items = await tap.until((xs) => xs.filter((x) => x.kind === 'schema').length >= 3);
      const shown = items
        .filter((x) => x.kind !== 'progress')
        .map((x) =>
          x.kind === 'schema' ? `schema:${x.schema?.columns.map((c) => c.name).join(',') ?? 'gone'}` : x.kind,
        );
      expect(shown).toEqual(['change', 'schema:gone', 'schema:id,note', 'change', 'schema:gone']);
      expect(changes(items)[1]?.after).toEqual({ id: 2, note: 'new' });
    } finally {
      await log.close();
    }
  });
  it('several DDLs in quick succession each get their own definition, and the rows between them theirs', async () => {
    // The reader meets the first ALTER when the later ones have run already (one round trip sends
    // all): the catalog is ahead, so each statement is replayed on the definition before it
    // (ddl-replay.ts). Before, the first event showed the final definition (the rename as a drop
    // and an add) and the rows between were named by it.
    const sql = db.sql();
    await sql.query(
      "DROP TABLE IF EXISTS log_burst; CREATE TABLE log_burst (id int PRIMARY KEY, a int, b varchar(5) DEFAULT 'x')",
    );
    const schema = await describeOne('log_burst');
    const from = await highWatermark();
    const log = await adapter().createLogReader({ from, tables: [schema] });
    try {
      const tap = new LogTap<Item>(log);
      await sql.query(
        "ALTER TABLE log_burst ADD COLUMN c varchar(5) DEFAULT 'd'; INSERT INTO log_burst VALUES (1, 1, 'b1', 'c1'); " +
          "ALTER TABLE log_burst RENAME COLUMN b TO b2; INSERT INTO log_burst VALUES (2, 2, 'b2', 'c2'); " +
          "ALTER TABLE log_burst DROP COLUMN a; INSERT INTO log_burst VALUES (3, 'b3', 'c3')",
      );
      const items = await tap.until((xs) => changes(xs).length >= 3);
      const told = items.flatMap((x): unknown[][] =>
        x.kind === 'schema'
          ? [['schema', x.schema?.columns.map((c) => c.name), x.renamedColumns ?? null]]
          : x.kind === 'change'
            ? [['change', x.after]]
            : [],
      );
      expect(told).toEqual([
        ['schema', ['id', 'a', 'b', 'c'], null],
        ['change', { id: 1, a: 1, b: 'b1', c: 'c1' }],
        ['schema', ['id', 'a', 'b2', 'c'], { b2: 'b' }],
        ['change', { id: 2, a: 2, b2: 'b2', c: 'c2' }],
        ['schema', ['id', 'b2', 'c'], null],
        ['change', { id: 3, b2: 'b3', c: 'c3' }],
      ]);
    } finally {
      await log.close();
    }
  });
});
