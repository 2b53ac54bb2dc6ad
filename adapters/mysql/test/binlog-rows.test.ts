import type { LogItem, Row, RowChange, TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { createMysqlLogReader } from '../src/log-reader.js';
import { compareOffsets, type MysqlOffset, mysqlAdapter } from '../src/index.js';
import { createRandom } from '@highwater/conformance';
import { collect, LogTap, useMariadb } from './helpers.js';

/**
 * The log reader reads rows events of tables whose column types `binlog-rows.ts` knows from the
 * events' bytes; these tests read the same binlog that way and through zongji and require the same
 * items, over fixed edge values and random rows of every type it reads, and the same values as the
 * snapshot path.
 */

const db = useMariadb();

/** Column, type, and a generator of SQL literals for it (`r` uniform in [0, 1)). */
type Gen = (r: () => number) => string;
const int = (lo: bigint, hi: bigint): Gen => {
  return (r) => {
    const span = hi - lo + 1n;
    const n = BigInt(Math.floor(r() * 2 ** 26)) * BigInt(Math.floor(r() * 2 ** 26)) * BigInt(Math.floor(r() * 2 ** 26));
    // Edges as often as the middle: the sign and the top bits are where readers go wrong.
    const pick = r();
    if (pick < 0.1) return String(lo);
    if (pick < 0.2) return String(hi);
    return String(lo + (n % span));
  };
};
const digits = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
const decimal =
  (intDigits: number, scale: number, signed = true): Gen =>
  (r) => {
    const whole = digits(r, Math.floor(r() * (intDigits + 1))) || '0';
    const sign = signed && r() < 0.5 ? '-' : '';
    return scale === 0 ? `${sign}${whole}` : `${sign}${whole}.${digits(r, Math.floor(r() * (scale + 1)))}`;
  };
const CHARS = ['a', 'Z', '0', ' ', 'é', 'ß', '😀', "''", '\\\\', ',', '漢'];
const text =
  (max: number): Gen =>
  (r) =>
    `'${Array.from({ length: Math.floor(r() * (max + 1)) }, () => CHARS[Math.floor(r() * CHARS.length)]).join('')}'`;
const hex =
  (max: number): Gen =>
  (r) =>
    `x'${Array.from({ length: Math.floor(r() * (max + 1)) }, () =>
      Math.floor(r() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('')}'`;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const fraction = (r: () => number, n: number) => (n === 0 ? '' : `.${digits(r, n)}`);
const dateText = (r: () => number) =>
  `${pad(1000 + Math.floor(r() * 9000), 4)}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`;
const timeText = (r: () => number) =>
  `${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}:${pad(Math.floor(r() * 60))}`;
const datetime =
  (n: number): Gen =>
  (r) =>
    `'${dateText(r)} ${timeText(r)}${fraction(r, n)}'`;
const timestamp =
  (n: number): Gen =>
  (r) => {
    const seconds = 1 + Math.floor(r() * (2 ** 31 - 2));
    const iso = new Date(seconds * 1000).toISOString();
    return `'${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction(r, n)}'`;
  };
const float32 = new Float32Array(1);

const COLUMNS: readonly [string, string, Gen][] = [
  ['ti', 'tinyint', int(-128n, 127n)],
  ['tiu', 'tinyint unsigned', int(0n, 255n)],
  ['si', 'smallint', int(-32768n, 32767n)],
  ['siu', 'smallint unsigned', int(0n, 65535n)],
  ['mi', 'mediumint', int(-8388608n, 8388607n)],
  ['miu', 'mediumint unsigned', int(0n, 16777215n)],
  ['i', 'int', int(-2147483648n, 2147483647n)],
  ['iu', 'int unsigned', int(0n, 4294967295n)],
  ['bi', 'bigint', int(-9223372036854775808n, 9223372036854775807n)],
  ['bis', 'bigint', int(-(2n ** 54n), 2n ** 54n)],
  ['biu', 'bigint unsigned', int(0n, 18446744073709551615n)],
  ['dec', 'decimal(30,10)', decimal(20, 10)],
  ['dec0', 'decimal(5,0)', decimal(5, 0)],
  ['dec2', 'decimal(12,2)', decimal(10, 2)],
  ['dec18', 'decimal(38,18)', decimal(20, 18)],
  ['dz', 'decimal(8,4) zerofill', decimal(4, 4, false)],
  [
    'f',
    'float',
    (r) => {
      float32[0] = (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10);
      return String(float32[0]);
    },
  ],
  ['d', 'double', (r) => String((r() - 0.5) * 10 ** Math.floor(r() * 600 - 300))],
  ['bit1', 'bit(1)', (r) => `b'${r() < 0.5 ? 1 : 0}'`],
  ['bit12', 'bit(12)', (r) => `b'${Math.floor(r() * 4096).toString(2)}'`],
  ['c', 'char(5)', text(5)],
  ['vc', 'varchar(20)', text(20)],
  ['vc300', 'varchar(300)', text(300)],
  ['tx', 'text', text(40)],
  ['ttx', 'tinytext', text(20)],
  ['vb', 'varbinary(10)', hex(10)],
  ['bl', 'blob', hex(40)],
  ['mbl', 'mediumblob', hex(10)],
  ['dt', 'date', (r) => `'${dateText(r)}'`],
  ['dtm', 'datetime', datetime(0)],
  ['dtm1', 'datetime(1)', datetime(1)],
  ['dtm2', 'datetime(2)', datetime(2)],
  ['dtm3', 'datetime(3)', datetime(3)],
  ['dtm4', 'datetime(4)', datetime(4)],
  ['dtm5', 'datetime(5)', datetime(5)],
  ['dtm6', 'datetime(6)', datetime(6)],
  ['ts', 'timestamp null', timestamp(0)],
  ['ts1', 'timestamp(1) null', timestamp(1)],
  ['ts3', 'timestamp(3) null', timestamp(3)],
  ['ts6', 'timestamp(6) null', timestamp(6)],
  ['yr', 'year', (r) => (r() < 0.1 ? '0' : String(1901 + Math.floor(r() * 255)))],
  // No comma in a value: zongji splits the declaration at commas (the next test).
  ['en', "enum('small','Medium','it''s')", (r) => ["'small'", "'Medium'", "'it''s'"][Math.floor(r() * 3)] as string],
  ['js', 'json', (r) => `'{"a": ${Math.floor(r() * 1e6)}, "b": [1.10, "x", null]}'`],
];

/** Fixed edge values per column (SQL literals), beside the random ones. */
const EDGES: Readonly<Record<string, readonly string[]>> = {
  bi: ['-9223372036854775808', '9223372036854775807', '-9007199254740992', '9007199254740992', '-1', '0'],
  biu: ['18446744073709551615', '9007199254740991', '9007199254740992', '0'],
  dec: ['-12345678901234567890.0123456789', '0.0000000001', '0', '-0.5', '99999999999999999999.9999999999'],
  dec0: ['-99999', '0', '42'],
  dz: ['123.4569', '0.5', '0'],
  dt: ["'0000-00-00'", "'2024-02-29'", "'9999-12-31'", "'2024-00-10'"],
  dtm6: ["'0000-00-00 00:00:00'", "'1000-01-01 00:00:00.000001'", "'9999-12-31 23:59:59.999999'"],
  dtm3: ["'2000-01-01 00:00:00.5'", "'0000-00-00 00:00:00'"],
  ts: ["'0000-00-00 00:00:00'", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'"],
  ts6: ["'2038-01-19 03:14:07.999999'", "'1970-01-01 00:00:01.000001'"],
  yr: ['0', '1901', '2155'],
  c: ["'ümlä'", "''", "'   '"],
  vc: ["'trailing  '", "'héllo 😀'"],
};

type Item = LogItem<MysqlOffset>;
const changes = (items: readonly Item[]) => items.filter((i): i is RowChange<MysqlOffset> => i.kind === 'change');

async function describeTable(name: string): Promise<TableSchema> {
  const introspector = await mysqlAdapter({ connection: db.server().url }).createIntrospector();
  try {
    const [schema] = await introspector.describeTables([{ schema: 'highwater', name }]);
    if (schema === undefined) throw new Error(`no table ${name}`);
    return schema;
  } finally {
    await introspector.close();
  }
}

async function highWatermark(): Promise<MysqlOffset> {
  const introspector = await mysqlAdapter({ connection: db.server().url }).createIntrospector();
  try {
    return await introspector.highWatermark();
  } finally {
    await introspector.close();
  }
}

/** Reads the changes of `schema` from `from` through `hw`, rows read by `decoder`; also how many rows events the reader read itself. */
async function read(
  schema: TableSchema,
  from: MysqlOffset,
  hw: MysqlOffset,
  decoder: 'highwater' | 'zongji',
  serverId: number,
): Promise<{ changes: RowChange<MysqlOffset>[]; readHere: number }> {
  const log = await createMysqlLogReader(
    { connection: db.server().url, serverId, heartbeatMs: 100, rowsDecoder: decoder },
    { from, tables: [schema] },
  );
  try {
    const items = await new LogTap<Item>(log).until((xs) => xs.some((x) => compareOffsets(x.offset, hw) >= 0));
    return {
      changes: changes(items),
      readHere: (log as unknown as { rowsReader: { eventsRead: number } }).rowsReader.eventsRead,
    };
  } finally {
    await log.close();
  }
}

describe('rows events read from their bytes', () => {
  it('give what zongji gives, over edge values and random rows of every type read', async () => {
    const sql = db.sql();
    await sql.query("SET SESSION sql_mode = '', time_zone = '+00:00'");
    await sql.query(
      `CREATE TABLE fast_types (id int PRIMARY KEY, ${COLUMNS.map(([n, t]) => `\`${n}\` ${t}`).join(', ')}) CHARACTER SET utf8mb4`,
    );
    const schema = await describeTable('fast_types');
    const from = await highWatermark();
    const names = COLUMNS.map(([n]) => `\`${n}\``).join(', ');
    // Seeded: the same rows every run.
    const r = createRandom(16).next;
    let id = 0;
    const row = (override: Readonly<Record<string, string>> = {}) =>
      `(${++id}, ${COLUMNS.map(([n, , gen]) => override[n] ?? (r() < 0.08 ? 'NULL' : gen(r))).join(', ')})`;
    const rows: string[] = [];
    for (const [column, values] of Object.entries(EDGES)) for (const v of values) rows.push(row({ [column]: v }));
    for (let i = 0; i < 300; i++) rows.push(row());
    // Multi-row events (one INSERT of many rows), single-row events, updates of every column, deletes.
    await sql.query(`INSERT INTO fast_types (id, ${names}) VALUES ${rows.slice(0, 200).join(', ')}`);
    for (const values of rows.slice(200)) await sql.query(`INSERT INTO fast_types (id, ${names}) VALUES ${values}`);
    const updates = COLUMNS.map(([n, , gen]) => `\`${n}\` = ${gen(r)}`).join(', ');
    await sql.query(`UPDATE fast_types SET ${updates} WHERE id % 3 = 0`);
    await sql.query('UPDATE fast_types SET vc = NULL, bi = -1 WHERE id % 5 = 1');
    await sql.query('DELETE FROM fast_types WHERE id % 2 = 0');
    const hw = await highWatermark();

    const here = await read(schema, from, hw, 'highwater', 811);
    const zongji = await read(schema, from, hw, 'zongji', 812);
    expect(here.changes.filter((c) => c.op === 'u').length).toBeGreaterThan(100);
    expect(here.changes.filter((c) => c.op === 'd').length).toBeGreaterThan(100);
    expect(here.readHere).toBeGreaterThan(0);
    expect(zongji.readHere).toBe(0);
    expect(here.changes.length).toBe(zongji.changes.length);
    for (let i = 0; i < here.changes.length; i++) {
      const [a, b] = [here.changes[i], zongji.changes[i]] as [RowChange<MysqlOffset>, RowChange<MysqlOffset>];
      expect({ ...a }, `change ${i}`).toEqual({ ...b });
    }

    // And the snapshot path's values for the rows still there (after-images of their last change).
    const reader = await mysqlAdapter({ connection: db.server().url }).createChunkReader();
    const snapshot = await collect(reader.readChunk(schema, { start: null, end: null }));
    await reader.close();
    const last = new Map<number, Row | null>();
    for (const c of here.changes) last.set((c.after ?? c.before)?.id as number, c.after);
    const remaining = [...last.values()].filter((v): v is Row => v !== null);
    const byId = (xs: Row[]) => [...xs].sort((a, b) => (a.id as number) - (b.id as number));
    expect(remaining.length).toBeGreaterThan(100);
    expect(byId(remaining)).toEqual(byId(snapshot));
  }, 120_000);

  it('give ENUM values with commas as declared, as the snapshot does (zongji splits them)', async () => {
    const sql = db.sql();
    await sql.query("CREATE TABLE enum_commas (id int PRIMARY KEY, en enum('x','a,b','c'))");
    const schema = await describeTable('enum_commas');
    const from = await highWatermark();
    await sql.query("INSERT INTO enum_commas VALUES (1, 'a,b'), (2, 'c'), (3, NULL)");
    const here = await read(schema, from, await highWatermark(), 'highwater', 814);
    expect(here.readHere).toBe(1);
    const expected = [
      { id: 1, en: 'a,b' },
      { id: 2, en: 'c' },
      { id: 3, en: null },
    ];
    expect(here.changes.map((c) => c.after)).toEqual(expected);
    const reader = await mysqlAdapter({ connection: db.server().url }).createChunkReader();
    expect(await collect(reader.readChunk(schema, { start: null, end: null }))).toEqual(expected);
    await reader.close();
  }, 60_000);

  it('leave a table with a type they do not read to zongji', async () => {
    const sql = db.sql();
    await sql.query("CREATE TABLE slow_types (id int PRIMARY KEY, t time(3), s set('a','b'))");
    const schema = await describeTable('slow_types');
    const from = await highWatermark();
    await sql.query("INSERT INTO slow_types VALUES (1, '-01:02:03.5', 'a,b'), (2, NULL, '')");
    const here = await read(schema, from, await highWatermark(), 'highwater', 813);
    expect(here.readHere).toBe(0);
    expect(here.changes.map((c) => c.after)).toEqual([
      { id: 1, t: '-01:02:03.5', s: 'a,b' },
      { id: 2, t: null, s: '' },
    ]);
  }, 60_000);
});
