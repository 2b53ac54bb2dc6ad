import { type LogicalType, type Row, UnrepresentableValueError } from '@highwater/core';
import { startMariadb, startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlSink } from '../../src/sinks/sql/index.js';
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
} from './helpers.js';

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
  j: { b: [1, 'x', null], a: { c: true } },
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
const nulls: Row = Object.fromEntries(columns.map(([name]) => [name, name === 'id' ? 2 : null]));
const nonFinite: Row = { ...nulls, id: 3, f32: Number.NaN, f64: Number.POSITIVE_INFINITY };
const negInf: Row = { ...nulls, id: 4, f64: Number.NEGATIVE_INFINITY, f32: Number.NEGATIVE_INFINITY };

describe.each<TargetKind>(['postgres', 'mysql'])('types through the %s sink', (kind) => {
  let server: ThrowawayServer;

  beforeAll(async () => {
    server = kind === 'postgres' ? await startPostgres({ useEnv: false }) : await startMariadb({ useEnv: false });
    const db = await targetClient(kind, server.url);
    await db.createSchema('types_target');
    await db.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function readBack(): Promise<Map<number, Row>> {
    const config = sinkConfig(kind, server.url, 'types_target');
    const reader = await targetAdapter(config).createChunkReader();
    const out = new Map<number, Row>();
    try {
      for await (const batch of reader.readChunk(targetTableOf(types, config, 'types_target'), {
        start: null,
        end: null,
      }))
        for (const row of batch) out.set(Number(row.id), row);
    } finally {
      await reader.close();
    }
    return out;
  }

  it('every logical type round-trips (as the canonical form verify compares)', async () => {
    const log: CapturedLog = { warnings: [] };
    const sink = createSqlSink(sinkConfig(kind, server.url, 'types_target'), context([types], log));
    await sink.open();
    if (kind === 'postgres') {
      await sink.write({
        events: [full, nulls, nonFinite, negInf].map((r) => insert(types, r)),
        checkpoint: checkpoint(1),
      });
    } else {
      // MySQL has no NaN or infinities: each such row fails its batch, naming the value.
      for (const row of [nonFinite, negInf]) {
        await expect(sink.write({ events: [insert(types, row)], checkpoint: checkpoint(1) })).rejects.toBeInstanceOf(
          UnrepresentableValueError,
        );
      }
      await sink.write({ events: [full, nulls].map((r) => insert(types, r)), checkpoint: checkpoint(1) });
    }
    await sink.close();
    const back = await readBack();
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
    if (kind === 'postgres') {
      expectRow(3, nonFinite);
      expectRow(4, negInf);
    } else {
      expect(back.has(3) || back.has(4)).toBe(false);
    }
    expect(log.warnings).toEqual([]);
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
