import { JsonText, type Row, type TableSchema, type Value } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { postgresAdapter } from '../src/index.js';
import type { PgOffset } from '../src/offsets/pg-offset.js';
import { usePostgres } from './helpers.js';

const pgs = usePostgres();

/** A JSON document `JSON.parse` would change: digits beyond 2^53 and a double, `1.10`, `1e-400`, `1e400`. */
const EXACT_JSON =
  '{"id": 12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1E400, "d34": 0.1234567890123456789012345678901234}';
/** The same document as jsonb prints it. */
const EXACT_JSONB = `{"id": 12345678901234567890, "d34": 0.1234567890123456789012345678901234, "huge": 1${'0'.repeat(400)}, "tiny": 0.${'0'.repeat(399)}1, "price": 1.10}`;

/** Column type, SQL literals to store, and what each must decode to (both paths). */
const CASES: readonly { readonly type: string; readonly values: readonly [string, Value][] }[] = [
  {
    type: 'int2',
    values: [
      ['-32768', -32768],
      ['7', 7],
    ],
  },
  {
    type: 'int4',
    values: [
      ['2147483647', 2147483647],
      ['-1', -1],
    ],
  },
  {
    type: 'int8',
    values: [
      ['9007199254740991', 9007199254740991],
      ['9223372036854775807', 9223372036854775807n],
      ['-9007199254740993', -9007199254740993n],
    ],
  },
  {
    type: 'numeric(30,10)',
    values: [
      ['12345678901234567890.0123456789', '12345678901234567890.0123456789'],
      ['-0.0000000001', '-0.0000000001'],
    ],
  },
  {
    type: 'numeric',
    values: [
      ["'NaN'", 'NaN'],
      ['1e-20', '0.00000000000000000001'],
    ],
  },
  {
    type: 'float4',
    values: [
      ['0.1', 0.1],
      ["'NaN'", Number.NaN],
      ["'-Infinity'", Number.NEGATIVE_INFINITY],
    ],
  },
  {
    type: 'float8',
    values: [
      ['1.7976931348623157e308', 1.7976931348623157e308],
      ["'Infinity'", Number.POSITIVE_INFINITY],
      ['-0.000001', -0.000001],
    ],
  },
  {
    type: 'bool',
    values: [
      ['true', true],
      ['false', false],
    ],
  },
  {
    type: 'text',
    values: [
      ["E'tab\\there\\nnew line \\\\ back\\\\slash \"q\" ''s'''", 'tab\there\nnew line \\ back\\slash "q" \'s\''],
      ["'héllo 😀 \\N'", 'héllo 😀 \\N'],
      ["''", ''],
    ],
  },
  { type: 'varchar(10)', values: [["'abc'", 'abc']] },
  { type: 'char(4)', values: [["'ab'", 'ab  ']] },
  {
    type: 'bytea',
    values: [
      ["'\\x00ff0a5c'", new Uint8Array([0, 255, 10, 92])],
      ["''", new Uint8Array([])],
    ],
  },
  {
    type: 'date',
    values: [
      ["'2024-02-29'", '2024-02-29'],
      ["'0044-03-15 BC'", '-0043-03-15'],
      ["'infinity'", 'infinity'],
    ],
  },
  {
    type: 'time',
    values: [
      ["'13:45:00.123456'", '13:45:00.123456'],
      ["'00:00:00'", '00:00:00'],
    ],
  },
  { type: 'timetz', values: [["'13:45:00.5+02'", '13:45:00.5+02']] },
  {
    type: 'timestamp',
    values: [
      ["'2024-02-29 13:45:00.123456'", '2024-02-29T13:45:00.123456'],
      ["'1999-12-31 23:59:59'", '1999-12-31T23:59:59'],
    ],
  },
  {
    type: 'timestamptz',
    values: [
      ["'2024-02-29 13:45:00.123456+00'", '2024-02-29T13:45:00.123456Z'],
      ["'2024-03-01 01:30:00.000001+02'", '2024-02-29T23:30:00.000001Z'],
      ["'-infinity'", '-infinity'],
    ],
  },
  {
    type: 'interval',
    values: [
      ["'1 year 2 mons 3 days 04:05:06.5'", 'P1Y2M3DT4H5M6.5S'],
      ["'-1 day'", 'P-1D'],
    ],
  },
  { type: 'uuid', values: [["'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']] },
  {
    // json keeps the document as written, byte for byte.
    type: 'json',
    values: [
      [`'${EXACT_JSON}'`, new JsonText(EXACT_JSON)],
      ["'null'", new JsonText('null')],
      ['\'{"b": {"c": true},  "a": [1, null, "x"]}\'', new JsonText('{"b": {"c": true},  "a": [1, null, "x"]}')],
    ],
  },
  {
    // jsonb prints its normalised form (keys by length then bytes, numerics in full), exactly.
    type: 'jsonb',
    values: [
      [`'${EXACT_JSON}'`, new JsonText(EXACT_JSONB)],
      ["'null'", new JsonText('null')],
      ['\'{"b": 1,"a": [1, null, "x\\ty"]}\'', new JsonText('{"a": [1, null, "x\\ty"], "b": 1}')],
    ],
  },
  {
    type: 'int4[]',
    values: [
      ["'{1,NULL,3}'", [1, null, 3]],
      [
        "'{{1,2},{3,4}}'",
        [
          [1, 2],
          [3, 4],
        ],
      ],
      ["'{}'", []],
    ],
  },
  { type: 'text[]', values: [[`'{"a b","x\\"y",NULL,"NULL","t\\\\ab"}'`, ['a b', 'x"y', null, 'NULL', 't\\ab']]] },
  { type: 'timestamptz[]', values: [["ARRAY['2024-01-01 00:00:00+00'::timestamptz]", ['2024-01-01T00:00:00Z']]] },
  { type: 'mood', values: [["'happy'", 'happy']] },
  { type: 'mood[]', values: [["'{sad,happy}'", ['sad', 'happy']]] },
  { type: 'posint', values: [['42', 42]] },
  { type: 'inet', values: [["'192.168.0.1/24'", '192.168.0.1/24']] },
  { type: 'cidr', values: [["'10.0.0.0/8'", '10.0.0.0/8']] },
  { type: 'macaddr', values: [["'08:00:2b:01:02:03'", '08:00:2b:01:02:03']] },
  { type: 'bit(3)', values: [["B'101'", '101']] },
  { type: 'varbit', values: [["B'1'", '1']] },
  { type: 'money', values: [['1000.5', '$1,000.50']] },
  { type: 'tsvector', values: [["'a fat cat'", "'a' 'cat' 'fat'"]] },
  { type: 'int4range', values: [["'[1,10)'", '[1,10)']] },
  { type: 'tstzrange', values: [["'[2024-01-01 00:00+00,)'", '["2024-01-01 00:00:00+00",)']] },
  {
    type: 'json[]',
    values: [
      [
        `ARRAY['1.10'::json, NULL, 'null', '${EXACT_JSON}']`,
        [new JsonText('1.10'), null, new JsonText('null'), new JsonText(EXACT_JSON)],
      ],
    ],
  },
];

const columnName = (i: number) => `c${i}`;
const rowCount = Math.max(...CASES.map((c) => c.values.length));

function expectedRow(id: number, index: number): Row {
  const row: Record<string, Value> = { id };
  CASES.forEach((c, i) => {
    row[columnName(i)] = c.values[index]?.[1] ?? null;
  });
  return row;
}

function insertSql(id: number, index: number): string {
  const values = CASES.map((c) => c.values[index]?.[0] ?? 'NULL');
  return `INSERT INTO types VALUES (${id}, ${values.join(', ')})`;
}

describe('every type decodes identically from COPY (snapshot) and pgoutput (log)', () => {
  it('snapshot values, then logged inserts and updates with the same values', async () => {
    const db = pgs.sql();
    await db.query(`
      CREATE TYPE mood AS ENUM ('sad', 'happy');
      CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
      CREATE TABLE types (id int4 PRIMARY KEY, ${CASES.map((c, i) => `${columnName(i)} ${c.type}`).join(', ')});
      ALTER TABLE types REPLICA IDENTITY FULL;
    `);
    for (let i = 0; i < rowCount; i++) await db.query(insertSql(i, i));
    await db.query(`INSERT INTO types (id) VALUES (${rowCount})`); // all NULL

    const adapter = postgresAdapter({ connection: pgs.server().url, slotName: 'types', publicationName: 'types' });
    const introspector = await adapter.createIntrospector();
    const [table] = (await introspector.describeTables([{ schema: 'public', name: 'types' }])) as TableSchema[];
    const schema = table as TableSchema;
    expect(schema.columns.find((c) => c.name === 'c26')).toMatchObject({
      type: { kind: 'int32' },
      nativeType: 'posint',
    });
    expect(schema.columns.find((c) => c.name === 'c24')).toMatchObject({
      type: { kind: 'enum', values: ['sad', 'happy'] },
    });

    // Snapshot path (COPY text format).
    const reader = await adapter.createChunkReader();
    const snapshot: Row[] = [];
    for await (const batch of reader.readChunk(schema, { start: null, end: null })) snapshot.push(...batch);
    snapshot.sort((a, b) => (a.id as number) - (b.id as number));
    const expected = [...Array(rowCount).keys()].map((i) => expectedRow(i, i));
    expected.push({ ...expectedRow(rowCount, -1), id: rowCount });
    expect(snapshot).toEqual(expected);

    // Log path: the same values inserted again, then row 0 updated to row 1's values.
    const from = await introspector.lowWatermark();
    const log = await adapter.createLogReader({ from, tables: [schema] });
    for (let i = 0; i < rowCount; i++) await db.query(insertSql(100 + i, i));
    const sets = CASES.map((c, i) => `${columnName(i)} = ${c.values[1]?.[0] ?? 'NULL'}`);
    await db.query(`UPDATE types SET ${sets.join(', ')} WHERE id = 0`);
    const hw = await introspector.highWatermark();
    const items = [];
    for await (const batch of log) {
      items.push(...batch);
      const last = batch[batch.length - 1];
      if (last !== undefined && adapter.offsets.compare(last.offset, hw) >= 0) break;
    }
    const changes = items.filter((i) => i.kind === 'change');
    const inserts = changes.filter((c) => c.op === 'c');
    expect(inserts.map((c) => c.after)).toEqual(
      [...Array(rowCount).keys()].map((i) => ({ ...expectedRow(i, i), id: 100 + i })),
    );
    const update = changes.find((c) => c.op === 'u');
    expect(update?.beforeImage).toBe('full');
    expect(update?.before).toEqual(expectedRow(0, 0));
    expect(update?.after).toEqual({ ...expectedRow(1, 1), id: 0 });
    // And the snapshot of the updated row matches the logged after-image.
    const again: Row[] = [];
    for await (const batch of reader.readChunk(schema, { start: [0], end: [1] })) again.push(...batch);
    expect(again).toEqual([update?.after]);
    await log.close();
    await reader.close();
    await introspector.close();
  });
});

export type { PgOffset };
