import { JsonText, type LogItem, type Row, type RowChange } from '@highwater/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MysqlOffset, mysqlAdapter } from '../src/index.js';
import { collect, LogTap, useMariadb } from './helpers.js';

const db = useMariadb();

/** A JSON document `JSON.parse` would change: digits beyond 2^53 and a double, `1.10`, `1e-400`, `1e400`. */
const EXACT_JSON =
  '{"id": 12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1E400, "d34": 0.1234567890123456789012345678901234}';

/** Column definitions and the literal values inserted into them (SQL text, one row each). */
const COLUMNS: readonly [string, string, readonly string[]][] = [
  ['ti', 'tinyint', ['-128', '127', '0']],
  ['tiu', 'tinyint unsigned', ['255', '0', '1']],
  ['si', 'smallint', ['-32768', '32767', '1']],
  ['siu', 'smallint unsigned', ['65535', '0', '2']],
  ['mi', 'mediumint', ['-8388608', '8388607', '3']],
  ['miu', 'mediumint unsigned', ['16777215', '0', '4']],
  ['i', 'int', ['-2147483648', '2147483647', '5']],
  ['iu', 'int unsigned', ['4294967295', '0', '6']],
  ['bi', 'bigint', ['-9223372036854775808', '9223372036854775807', '9007199254740993']],
  ['biu', 'bigint unsigned', ['18446744073709551615', '9007199254740991', '9007199254740992']],
  ['b', 'bool', ['1', '0', '5']],
  ['dec', 'decimal(30,10)', ['-12345678901234567890.0123456789', '0.0000000001', '0']],
  ['dec0', 'decimal(5,0)', ['-99999', '0', '42']],
  ['f', 'float', ['1.1', '-3.4028234e38', '1.17549435e-38']],
  ['d', 'double', ['0.1', '-1.7976931348623157e308', '5e-324']],
  ['bit1', 'bit(1)', ["b'1'", "b'0'", "b'1'"]],
  ['bit12', 'bit(12)', ["b'101010101010'", "b'0'", "b'111111111111'"]],
  ['c', 'char(5)', ["'ab'", "''", "'ümlä'"]],
  ['vc', 'varchar(20)', ["'héllo 😀'", "''", "'trailing  '"]],
  ['tx', 'text', ["'long 😀 text'", "''", "'x'"]],
  ['l1', 'varchar(20) character set latin1', ["'café'", "''", "'Ñandú'"]],
  ['bin', 'binary(4)', ["x'00010200'", "x'ff'", "''"]],
  ['vb', 'varbinary(10)', ["x'00ff00'", "''", "x'61'"]],
  ['bl', 'blob', ["x'deadbeef00'", "''", "x'00'"]],
  ['dt', 'date', ["'2024-02-29'", "'0000-00-00'", "'1000-01-01'"]],
  ['tm', 'time', ["'-838:59:59'", "'838:59:59'", "'25:00:01'"]],
  ['tm6', 'time(6)', ["'-01:02:03.000004'", "'100:00:00.5'", "'00:00:00'"]],
  ['dtm', 'datetime', ["'2024-02-29 13:45:00'", "'0000-00-00 00:00:00'", "'9999-12-31 23:59:59'"]],
  ['dtm3', 'datetime(3)', ["'2024-02-29 13:45:00.123'", "'1970-01-01 00:00:00'", "'2000-01-01 00:00:00.5'"]],
  ['dtm6', 'datetime(6)', ["'2024-02-29 13:45:00.123456'", "'1000-01-01 00:00:00.000001'", "'2038-01-19 03:14:08'"]],
  ['ts', 'timestamp null', ["'2024-02-29 13:45:00'", "'0000-00-00 00:00:00'", "'1970-01-01 00:00:01'"]],
  ['ts6', 'timestamp(6) null', ["'2024-07-01 02:30:00.654321'", "'2038-01-19 03:14:07.999999'", 'NULL']],
  ['dtm1', 'datetime(1)', ["'2024-02-29 13:45:00.1'", "'1000-01-01 00:00:00'", "'2099-12-31 23:59:59.9'"]],
  ['dtm2', 'datetime(2)', ["'2024-02-29 13:45:00.12'", "'1969-12-31 23:59:59.99'", "'2000-01-01 00:00:00'"]],
  ['dtm4', 'datetime(4)', ["'2024-02-29 13:45:00.1234'", "'1969-12-31 23:59:59.9999'", "'2000-01-01 00:00:00.0001'"]],
  ['dtm5', 'datetime(5)', ["'2024-02-29 13:45:00.12345'", "'9999-12-31 23:59:59.99999'", "'2000-01-01 00:00:00'"]],
  ['ts1', 'timestamp(1) null', ["'2024-03-10 02:30:00.1'", "'2038-01-19 03:14:07.9'", "'1970-01-01 00:00:01'"]],
  ['ts2', 'timestamp(2) null', ["'2024-11-03 01:30:00.12'", "'2000-01-01 00:00:00.01'", 'NULL']],
  ['ts3', 'timestamp(3) null', ["'2024-02-29 13:45:00.123'", "'2000-01-01 00:00:00'", "'1999-12-31 23:59:59.999'"]],
  ['ts4', 'timestamp(4) null', ["'2024-02-29 13:45:00.1234'", "'2000-01-01 00:00:00.0001'", "'2001-01-01 00:00:00'"]],
  ['ts5', 'timestamp(5) null', ["'2024-02-29 13:45:00.12345'", "'2000-01-01 00:00:00'", "'2037-06-30 12:00:00.5'"]],
  ['tm3', 'time(3)', ["'-838:59:58.999'", "'24:00:00.001'", "'-00:00:00.5'"]],
  ['geo', 'geometry', ["ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0, 1 1.5)')", 'NULL']],
  ['pt', 'point', ["ST_GeomFromText('POINT(-71.06 42.36)')", 'NULL', "ST_GeomFromText('POINT(0 0)')"]],
  ['yr', 'year', ['2024', '0', '1901']],
  ['en', "enum('small','medium','it''s')", ["'medium'", "'it''s'", "'small'"]],
  ['st', "set('a','b','c','d''q')", ["'a,c'", "''", "'a,b,c,d''q'"]],
  ['js', 'json', [`'${EXACT_JSON}'`, "'null'", '\'[1.10, {"a": [1, 2.5, "x"], "b": null}]\'']],
  ['dz', 'decimal(8,4) zerofill', ['123.4569', '0.5', '0']],
];

const TABLE = 'types_all';

describe('values: identical on the snapshot and the binlog path', () => {
  // Half-hour and +14 h offsets and a DST zone: no value may depend on the process time zone.
  const zones = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Kiritimati'];
  let savedTz: string | undefined;
  beforeEach(() => {
    savedTz = process.env.TZ;
  });
  afterEach(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('every column type, both paths', async () => {
    const sql = db.sql();
    await sql.query("SET SESSION sql_mode = ''");
    await sql.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await sql.query(
      `CREATE TABLE ${TABLE} (id int PRIMARY KEY, ${COLUMNS.map(([n, t]) => `\`${n}\` ${t}`).join(', ')}) CHARACTER SET utf8mb4`,
    );
    const adapter = mysqlAdapter({ connection: db.server().url, serverId: 501 });
    const introspector = await adapter.createIntrospector();
    try {
      const [schema] = await introspector.describeTables([{ schema: 'highwater', name: TABLE }]);
      if (schema === undefined) throw new Error('no schema');
      const from = await introspector.highWatermark();
      for (let r = 0; r < 3; r++) {
        await sql.query(
          `INSERT INTO ${TABLE} (id, ${COLUMNS.map(([n]) => `\`${n}\``).join(', ')}) VALUES (${r}, ${COLUMNS.map(([, , v]) => v[r]).join(', ')})`,
        );
      }
      await sql.query(`INSERT INTO ${TABLE} (id) VALUES (100)`); // all NULL (or defaults)
      await sql.query(`UPDATE ${TABLE} SET id = id + 10`);
      for (const tz of zones) {
        process.env.TZ = tz;
        const reader = await adapter.createChunkReader();
        const snapshot = (await collect(reader.readChunk(schema, { start: null, end: null }))).filter(
          (row) => (row.id as number) >= 10,
        );
        await reader.close();
        const log = await adapter.createLogReader({ from, tables: [schema] });
        const tap = new LogTap<LogItem<MysqlOffset>>(log);
        const items = await tap.until((xs) => xs.filter((x) => x.kind === 'change').length >= 8);
        await log.close();
        const changes = items.filter((x): x is RowChange<MysqlOffset> => x.kind === 'change');
        const inserted = changes.filter((c) => c.op === 'c').map((c) => c.after as Row);
        const updated = changes.filter((c) => c.op === 'u').map((c) => c.after as Row);
        const befores = changes.filter((c) => c.op === 'u').map((c) => c.before as Row);
        const byId = (rows: Row[]) => [...rows].sort((a, b) => (a.id as number) - (b.id as number));
        expect(byId(updated), `binlog after-images vs snapshot, TZ=${tz}`).toEqual(byId(snapshot));
        expect(byId(befores)).toEqual(byId(inserted));
        // Spot checks of the forms themselves.
        const first = byId(snapshot)[0] as Row;
        expect(first.biu).toBe(18446744073709551615n);
        expect(first.bi).toBe(-9223372036854775808n);
        expect(first.dec).toBe('-12345678901234567890.0123456789');
        expect(first.dtm6).toBe('2024-02-29T13:45:00.123456');
        expect(first.ts).toBe('2024-02-29T13:45:00Z');
        expect(first.tm).toBe('-838:59:59');
        expect(first.bin).toEqual(new Uint8Array([0, 1, 2, 0]));
        // JSON: the document's text exactly (MariaDB keeps it as written), a null document is not NULL.
        expect(first.js).toStrictEqual(new JsonText(EXACT_JSON));
        expect((byId(snapshot)[1] as Row).js).toStrictEqual(new JsonText('null'));
        expect((byId(snapshot)[2] as Row).js).toStrictEqual(new JsonText('[1.10, {"a": [1, 2.5, "x"], "b": null}]'));
        expect((byId(snapshot)[3] as Row).js).toBeNull();
        // DECIMAL ZEROFILL: the value, without the display padding the text protocol adds.
        expect(first.dz).toBe('123.4569');
        expect((byId(snapshot)[1] as Row).dz).toBe('0.5000');
        expect(first.l1).toBe('café');
        expect(first.dtm4).toBe('2024-02-29T13:45:00.1234');
        expect(first.ts1).toBe('2024-03-10T02:30:00.1Z');
        expect(first.tm3).toBe('-838:59:58.999');
        // GEOMETRY: zongji's point structure on both paths (see src/types/geometry.ts).
        expect(first.geo).toEqual({ x: 1, y: 2 });
        expect(first.pt).toEqual({ x: -71.06, y: 42.36 });
        expect((byId(snapshot)[1] as Row).geo).toEqual([
          { x: 0, y: 0 },
          { x: 1, y: 1.5 },
        ]);
      }
    } finally {
      await introspector.close();
    }
  }, 60_000);
});
