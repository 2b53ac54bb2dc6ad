import { JsonText, type LogicalType, type Row, UnrepresentableValueError } from '@highwater/core';
import { startMariadb, startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_MIN_ROWS, createSqlSink } from '../../src/sinks/sql/index.js';
import { targetTableOf } from '../../src/verify/target-reader.js';
import { canonicalValue, targetAdapter } from './adapter-canonical.js';
import {
  type CapturedLog,
  checkpoint,
  context,
  insert,
  q,
  sinkConfig,
  table,
  type TargetKind,
  targetClient,
  update,
} from '../../../../sinks/sql/test/helpers.js';

const columns: [string, LogicalType][] = [
  ['id', { kind: 'int32' }],
  ['b', { kind: 'boolean' }],
  ['i16', { kind: 'int16' }],
  ['i32', { kind: 'int32' }],
  ['i64', { kind: 'int64' }],
  ['u64', { kind: 'uint64' }],
  ['dec', { kind: 'decimal', precision: 30, scale: 10 }],
  ['f32', { kind: 'float32' }],
  ['f64', { kind: 'float64' }],
  ['s', { kind: 'string' }],
  ['by', { kind: 'bytes' }],
  ['u', { kind: 'uuid' }],
  ['j', { kind: 'json' }],
  ['jb', { kind: 'json', normalised: true }],
  ['aj', { kind: 'array', element: { kind: 'json' } }],
  ['d', { kind: 'date' }],
  ['t', { kind: 'time', precision: 6 }],
  ['ts', { kind: 'timestamp', precision: 6 }],
  ['tz', { kind: 'timestamptz', precision: 6 }],
  ['iv', { kind: 'interval' }],
  ['en', { kind: 'enum', values: ['a', 'b'] }],
  ['st', { kind: 'set', values: ['a', 'b', 'c'] }],
  ['bt', { kind: 'bits', length: 10 }],
  ['ai', { kind: 'array', element: { kind: 'int32' } }],
  ['as', { kind: 'array', element: { kind: 'string' } }],
  ['o', { kind: 'other' }],
];
const types = table('types', columns, ['id']);

/** A document `JSON.parse` would change (big integers, `1.10`, `1e-400`, `1e400`, 34 digits), spaced as written. */
const EXACT_JSON =
  '{"id":  12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1e400, "d34": 0.1234567890123456789012345678901234, "b": [1, "x", null]}';
/** A document in the normal form Postgres's jsonb prints (keys by length, then bytes). */
const NORMAL_JSON = '{"a": {"c": true}, "id": 12345678901234567890, "price": 1.10}';

const full: Row = {
  id: 1,
  b: true,
  i16: -32768,
  i32: 2147483647,
  i64: -9007199254740993n,
  u64: 18446744073709551615n,
  dec: '12345678901234567890.0123456789',
  f32: 1.5,
  f64: 0.1,
  s: 'héllo 🌊 \'"\\ end',
  by: new Uint8Array([0, 1, 254, 255]),
  u: '0e9b1a8e-8d3f-4c52-9d5e-3f2a1b0c9d8e',
  j: new JsonText(EXACT_JSON),
  jb: new JsonText(NORMAL_JSON),
  aj: [new JsonText('1.10'), null, new JsonText('null')],
  d: '2024-02-29',
  t: '13:45:00.123456',
  ts: '2024-02-29T13:45:00.123456',
  tz: '2024-02-29T13:45:00.123456Z',
  iv: 'P1Y2M3DT4H5M6S',
  en: 'b',
  st: 'a,c',
  bt: '0000000101',
  ai: [1, 2, null],
  as: ['a', 'b,c', '"q"'],
  o: 'anything',
};
/** A JSON null document in each JSON column: not SQL NULL. */
const nullDocuments = (): Row => ({ ...nulls, id: 5, j: new JsonText('null'), jb: new JsonText('null') });
const nulls: Row = Object.fromEntries(columns.map(([name]) => [name, name === 'id' ? 2 : null]));
const nonFinite: Row = { ...nulls, id: 3, f32: Number.NaN, f64: Number.POSITIVE_INFINITY };
const negInf: Row = { ...nulls, id: 4, f64: Number.NEGATIVE_INFINITY, f32: Number.NEGATIVE_INFINITY };

describe.each<TargetKind>(['postgres', 'mysql'])('types through the %s sink', (kind) => {
  let server: ThrowawayServer;

  beforeAll(async () => {
    server = kind === 'postgres' ? await startPostgres({ useEnv: false }) : await startMariadb({ useEnv: false });
    const db = await targetClient(kind, server.url);
    await db.createSchema('types_target');
    await db.createSchema('types_bulk');
    await db.createSchema('types_staged');
    await db.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function readBack(schema: string): Promise<Map<number, Row>> {
    const config = sinkConfig(kind, server.url, schema);
    const reader = await targetAdapter(config).createChunkReader();
    const out = new Map<number, Row>();
    try {
      for await (const batch of reader.readChunk(targetTableOf(types, config, schema), {
        start: null,
        end: null,
      }))
        for (const row of batch) out.set(Number(row.id), row);
    } finally {
      await reader.close();
    }
    return out;
  }

  // With enough new rows in one batch, a target with a bulk load (Postgres COPY) takes them that way:
  // the same values must arrive as through bound parameters.
  const fillers = Array.from({ length: BULK_MIN_ROWS }, (_, i): Row => ({ ...full, id: 100 + i }));
  const asInsert = (r: Row) => insert(types, r);
  const asUpdate = (r: Row) => update(types, { id: r.id ?? null }, r);
  it.each([
    ['multi-row statements', 'types_target', [], asInsert],
    ['a bulk load', 'types_bulk', fillers, asInsert],
    ['a bulk upsert through a stage', 'types_staged', fillers, asUpdate],
  ] as const)(
    'every logical type round-trips through %s (as the canonical form verify compares)',
    async (_, schema, more, asEvent) => {
      const log: CapturedLog = { warnings: [] };
      const sink = createSqlSink(sinkConfig(kind, server.url, schema), context([types], log));
      await sink.open();
      if (kind === 'postgres') {
        await sink.write({
          events: [full, nulls, nonFinite, negInf, nullDocuments(), ...more].map(asEvent),
          checkpoint: checkpoint(1),
        });
      } else {
        // MySQL has no NaN or infinities: each such row fails its batch, naming the value.
        for (const row of [nonFinite, negInf]) {
          await expect(sink.write({ events: [asEvent(row)], checkpoint: checkpoint(1) })).rejects.toBeInstanceOf(
            UnrepresentableValueError,
          );
        }
        await sink.write({
          events: [full, nulls, nullDocuments(), ...more].map(asEvent),
          checkpoint: checkpoint(1),
        });
      }
      await sink.close();
      const back = await readBack(schema);
      expect(back.size).toBe((kind === 'postgres' ? 5 : 3) + more.length);
      const expectRow = (id: number, expected: Row) => {
        const got = back.get(id) as Row;
        for (const [name, type] of columns) {
          expect(canonicalValue(type, got[name] ?? null), `${kind} column ${name}`).toBe(
            canonicalValue(type, expected[name] ?? null),
          );
        }
      };
      expectRow(1, full);
      expectRow(2, nulls);
      expectRow(5, nullDocuments());
      // JSON documents come back as the text written, byte for byte; a null document is not SQL NULL.
      expect(back.get(1)?.j).toStrictEqual(new JsonText(EXACT_JSON));
      expect(back.get(1)?.jb).toStrictEqual(new JsonText(NORMAL_JSON));
      expect(back.get(5)?.j).toStrictEqual(new JsonText('null'));
      expect(back.get(2)?.j).toBeNull();
      if (kind === 'postgres') {
        expectRow(3, nonFinite);
        expectRow(4, negInf);
      } else {
        expect(back.has(3) || back.has(4)).toBe(false);
      }
      expect(log.warnings).toEqual([]);
    },
  );

  it('keeps JSON keys of different types apart (a MongoDB _id of 1 and of "1")', async () => {
    const keyed = table(
      'json_keys',
      [
        ['_id', { kind: 'json', normalised: true }],
        ['v', { kind: 'string' }],
      ],
      ['_id'],
    );
    const sink = createSqlSink(sinkConfig(kind, server.url, 'types_target'), context([keyed]));
    await sink.open();
    await sink.write({
      events: [
        insert(keyed, { _id: 1, v: 'number' }),
        insert(keyed, { _id: '1', v: 'string' }),
        insert(keyed, { _id: { $oid: '65a1b2c3d4e5f60718293a4b' }, v: 'object id' }),
      ],
      checkpoint: checkpoint(1),
    });
    await sink.close();
    const db = await targetClient(kind, server.url);
    try {
      const id = kind === 'postgres' ? '"_id"::text' : 'CAST(`_id` AS CHAR)';
      const rows = await db.query(`SELECT ${id} AS id, v FROM ${q(kind, 'types_target', 'json_keys')}`);
      const byId = Object.fromEntries(rows.map((r) => [String(r.id).replace(/ /g, ''), r.v]));
      expect(byId).toEqual({ '1': 'number', '"1"': 'string', '{"$oid":"65a1b2c3d4e5f60718293a4b"}': 'object id' });
    } finally {
      await db.close();
    }
  });

  it('keeps the exact text of big integers, decimals and microsecond times', async () => {
    const db = await targetClient(kind, server.url);
    try {
      const cast = kind === 'postgres' ? (c: string) => `${c}::text` : (c: string) => `CAST(${c} AS CHAR)`;
      const [row] = await db.query(
        `SELECT ${['u64', 'i64', 'dec', 'ts', 'tz'].map((c) => `${cast(kind === 'postgres' ? `"${c}"` : `\`${c}\``)} AS x_${c}`).join(', ')} FROM ${q(kind, 'types_target', 'types')} WHERE id = 1`,
      );
      expect(row?.x_u64).toBe('18446744073709551615');
      expect(row?.x_i64).toBe('-9007199254740993');
      expect(row?.x_dec).toBe('12345678901234567890.0123456789');
      expect(String(row?.x_ts)).toMatch(/^2024-02-29[ T]13:45:00\.123456/);
      expect(String(row?.x_tz)).toMatch(/^2024-02-29[ T]13:45:00\.123456(\+00)?$/);
    } finally {
      await db.close();
    }
  });
});
