import { type LogicalType, type Row, UnrepresentableValueError, type Value } from '@highwater/core';
import { startMariadb, startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpoint,
  context,
  createSqlSink,
  insert,
  q,
  sinkConfig,
  table,
  type TargetClient,
  type TargetKind,
  targetClient,
} from './helpers.js';

/**
 * Values the source databases accept, written through each SQL sink on both paths (a snapshot read
 * `r` and a streamed insert `c` are the same upsert, but both are written) and read back as the
 * target server's own text: equal to the source's text, or, where the target type cannot hold the
 * value, a batch failing with `UnrepresentableValueError` naming table, column, key and value.
 */

let servers: Record<TargetKind, ThrowawayServer>;
let clients: Record<TargetKind, TargetClient>;
let n = 0;

beforeAll(async () => {
  const [postgres, mysql] = await Promise.all([startPostgres({ useEnv: false }), startMariadb({ useEnv: false })]);
  servers = { postgres, mysql };
  clients = { postgres: await targetClient('postgres', postgres.url), mysql: await targetClient('mysql', mysql.url) };
});
afterAll(async () => {
  await clients?.postgres.close().catch(() => undefined);
  await clients?.mysql.close().catch(() => undefined);
  await Promise.all([servers?.postgres.stop(), servers?.mysql.stop()]);
});

/** The target server's own text of `column` per row id, after writing `values` (one row per value) with both ops. */
async function roundTrip(kind: TargetKind, type: LogicalType, values: readonly Value[]): Promise<(string | null)[]> {
  const schema = `v${++n}`;
  await clients[kind].createSchema(schema);
  const t = table(
    'vals',
    [
      ['id', { kind: 'int32' }],
      ['v', type],
    ],
    ['id'],
  );
  const sink = createSqlSink(sinkConfig(kind, servers[kind].url, schema), context([t]));
  try {
    await sink.open();
    const rows: Row[] = values.map((v, i) => ({ id: i + 1, v }));
    const half = Math.ceil(rows.length / 2);
    // The first half as snapshot reads, the rest as streamed inserts.
    const events = rows.map((r, i) => ({ ...insert(t, r), op: i < half ? ('r' as const) : ('c' as const) }));
    await sink.write({ events, checkpoint: checkpoint(1) });
  } finally {
    await sink.close();
  }
  const text =
    kind === 'postgres'
      ? '"v"::text'
      : type.kind === 'float32'
        ? 'CAST(`v` AS DOUBLE)'
        : type.kind === 'bits' && type.varying !== true
          ? 'BIN(`v`)'
          : 'CAST(`v` AS CHAR)';
  const rows = await clients[kind].query(`SELECT ${text} AS x FROM ${q(kind, schema, 'vals')} ORDER BY id`);
  return rows.map((r) => (r.x === null ? null : String(r.x)));
}

/** The error writing one row with `value` fails with (the test fails if it does not fail). */
async function rejection(kind: TargetKind, type: LogicalType, value: Value): Promise<UnrepresentableValueError> {
  const error = await roundTrip(kind, type, [value]).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnrepresentableValueError);
  return error as UnrepresentableValueError;
}

const tz: LogicalType = { kind: 'timestamptz', precision: 6 };
const timetz: LogicalType = { kind: 'time', precision: 6, withTimeZone: true };

describe('the postgres sink keeps what Postgres accepted', () => {
  it('writes 2-D arrays', async () => {
    const back = await roundTrip('postgres', { kind: 'array', element: { kind: 'int32' } }, [
      [
        [1, 2],
        [3, 4],
      ],
      [[null, 5]],
    ]);
    expect(back).toEqual(['{{1,2},{3,4}}', '{{NULL,5}}']);
  });

  it('writes timestamptz ±infinity, also inside arrays', async () => {
    expect(await roundTrip('postgres', tz, ['infinity', '-infinity'])).toEqual(['infinity', '-infinity']);
    const back = await roundTrip('postgres', { kind: 'array', element: tz }, [
      ['infinity', '2024-02-29T13:45:00.5Z', '-infinity', null],
    ]);
    expect(back).toEqual(['{infinity,"2024-02-29 13:45:00.5+00",-infinity,NULL}']);
  });

  it('writes BC dates and timestamps', async () => {
    expect(await roundTrip('postgres', { kind: 'date' }, ['-0043-03-15', '0000-01-01'])).toEqual([
      '0044-03-15 BC',
      '0001-01-01 BC',
    ]);
    expect(await roundTrip('postgres', { kind: 'timestamp', precision: 6 }, ['-0043-03-15T10:00:00.5'])).toEqual([
      '0044-03-15 10:00:00.5 BC',
    ]);
    expect(await roundTrip('postgres', tz, ['-0043-03-15T10:00:00.5Z'])).toEqual(['0044-03-15 10:00:00.5+00 BC']);
  });

  it('keeps timetz with its offset', async () => {
    expect(await roundTrip('postgres', timetz, ['13:45:00.5+02', '23:59:59-11:30'])).toEqual([
      '13:45:00.5+02',
      '23:59:59-11:30',
    ]);
  });

  it('writes real at its maximum and float32 as the shortest text', async () => {
    expect(await roundTrip('postgres', { kind: 'float32' }, [3.4028235e38, -3.4028235e38, 0.1, 1e-45])).toEqual([
      '3.4028235e+38',
      '-3.4028235e+38',
      '0.1',
      '1e-45',
    ]);
  });

  it('rejects with a typed error what Postgres cannot hold: MySQL TIME durations, NUL in text', async () => {
    const time = await rejection('postgres', { kind: 'time', precision: 0 }, '838:59:59');
    expect(time.code).toBe('HW_SINK_VALUE_NOT_REPRESENTABLE');
    expect(time).toMatchObject({ column: 'v', key: '{"id":1}', value: '"838:59:59"' });
    expect(time.table).toMatch(/"vals"$/);
    expect(time.message).toMatch(/column v, key \{"id":1\}: value "838:59:59" cannot be stored: Postgres time/);
    await rejection('postgres', { kind: 'time', precision: 0 }, '-01:00:00');
    await rejection('postgres', { kind: 'string' }, 'a\u0000b');
  });
});

describe('the mysql sink keeps what the source accepted, or fails naming the value', () => {
  it('keeps Postgres timetz as its text', async () => {
    expect(await roundTrip('mysql', timetz, ['13:45:00.5+02', '00:00:00-11:30'])).toEqual([
      '13:45:00.5+02',
      '00:00:00-11:30',
    ]);
  });

  it('accepts Postgres real at its maximum, as the same float32', async () => {
    expect(await roundTrip('mysql', { kind: 'float32' }, [3.4028235e38, -3.4028235e38, 0.1])).toEqual([
      // mysql2 reads the DOUBLE cast as a number: the widened float32 FLT_MAX, exactly.
      String(Math.fround(3.4028235e38)),
      String(-Math.fround(3.4028235e38)),
      String(Math.fround(0.1)),
    ]);
  });

  it('keeps a varbit value its length', async () => {
    expect(await roundTrip('mysql', { kind: 'bits', length: 20, varying: true }, ['101', '00010'])).toEqual([
      '101',
      '00010',
    ]);
    expect(await roundTrip('mysql', { kind: 'bits', length: 5 }, ['00101'])).toEqual(['101']);
  });

  it('fails on values MySQL cannot hold, naming table, column, key and value', async () => {
    const inf = await rejection('mysql', tz, 'infinity');
    expect(inf).toMatchObject({ code: 'HW_SINK_VALUE_NOT_REPRESENTABLE', column: 'v', key: '{"id":1}' });
    expect(inf.message).toMatch(/value "infinity" cannot be stored: MySQL DATETIME has no infinity/);
    await rejection('mysql', { kind: 'date' }, '-infinity');
    await rejection('mysql', { kind: 'date' }, '12000-01-01');
    await rejection('mysql', { kind: 'date' }, '-0043-03-15');
    await rejection('mysql', { kind: 'timestamp', precision: 6 }, '10000-01-01T00:00:00');
    await rejection('mysql', { kind: 'float64' }, Number.NaN);
    await rejection('mysql', { kind: 'float32' }, Number.NEGATIVE_INFINITY);
    await rejection('mysql', { kind: 'decimal' }, 'NaN');
    const digits = await rejection('mysql', { kind: 'decimal' }, '1.0000000000000000000000000000000001');
    expect(digits.message).toMatch(/DECIMAL\(65,30\)/);
  });

  it('fails on a text key longer than a MySQL key column holds, naming the key', async () => {
    const schema = `v${++n}`;
    await clients.mysql.createSchema(schema);
    const t = table('keyed', [['s', { kind: 'string' }]], ['s']);
    const sink = createSqlSink(sinkConfig('mysql', servers.mysql.url, schema), context([t]));
    try {
      await sink.open();
      const fits = 'é'.repeat(255);
      await sink.write({ events: [insert(t, { s: fits })], checkpoint: checkpoint(1) });
      const long = 'k'.repeat(256);
      const error = await sink.write({ events: [insert(t, { s: long })], checkpoint: checkpoint(2) }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UnrepresentableValueError);
      expect(error).toMatchObject({ column: 's', key: JSON.stringify({ s: long }) });
    } finally {
      await sink.close();
    }
    const rows = await clients.mysql.query(`SELECT CHAR_LENGTH(s) AS n FROM ${q('mysql', schema, 'keyed')}`);
    expect(rows.map((r) => Number(r.n))).toEqual([255]);
  });

  it('still writes the edges MySQL can hold', async () => {
    expect(await roundTrip('mysql', { kind: 'date' }, ['0000-01-01', '9999-12-31'])).toEqual([
      '0000-01-01',
      '9999-12-31',
    ]);
    expect(await roundTrip('mysql', { kind: 'decimal' }, ['12345678901234567890123456789012345.5'])).toEqual([
      '12345678901234567890123456789012345.500000000000000000000000000000',
    ]);
  });
});
