import type { ChangeEvent, LogicalType, Row, TableSchema, Value } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { ARRAY_STATEMENT_ROWS } from '../src/array-writer.js';
import { BULK_MIN_ROWS } from '../src/sql-sink.js';
import {
  checkpoint,
  context,
  createSqlSink,
  insert,
  q,
  remove,
  sinkConfig,
  table,
  type TargetKind,
  throwawayTarget,
  update,
} from './helpers.js';

/**
 * The statements a stream's batch becomes (one delete and one upsert per table: array parameters
 * on Postgres, multi-row statements on MySQL) against real targets: values of every type written
 * as updates read back as the same text as when bulk-loaded as new rows, deletes by keys of several
 * types, keys deleted and re-inserted or moved inside one batch, and groups larger than one statement.
 */

/** Columns of (nearly) every logical type, with values that stress quoting and the array text format. */
const typed: [string, LogicalType, Value][] = [
  ['i16', { kind: 'int16' }, -32768],
  ['i32', { kind: 'int32' }, 2147483647],
  ['i64', { kind: 'int64' }, -9007199254740993n],
  ['u64', { kind: 'uint64' }, 18446744073709551615n],
  ['dec', { kind: 'decimal', precision: 30, scale: 10 }, '-12345678901234567890.0123456789'],
  ['f32', { kind: 'float32' }, 3.4028234663852886e38],
  ['f64', { kind: 'float64' }, -1.5e-300],
  ['flag', { kind: 'boolean' }, true],
  ['txt', { kind: 'string' }, 'a "quoted", {braced} \\ back\\slash\ttab\nline NULL ünï 𝄞'],
  ['vc', { kind: 'string', length: 12 }, 'NULL'],
  ['empty', { kind: 'string' }, ''],
  ['bin', { kind: 'bytes' }, new Uint8Array([0, 1, 92, 34, 123, 255])],
  ['id', { kind: 'uuid' }, '0f8fad5b-d9cb-469f-a165-70867728950e'],
  ['doc', { kind: 'json' }, { a: [1, 'two', { three: null }], 'quote"d': '\\' }],
  ['day', { kind: 'date' }, '2024-02-29'],
  ['clock', { kind: 'time', precision: 6 }, '23:59:59.999999'],
  ['ts', { kind: 'timestamp', precision: 6 }, '2024-02-29T12:34:56.789012'],
  ['tstz', { kind: 'timestamptz', precision: 3 }, '2024-02-29T12:34:56.789Z'],
  ['span', { kind: 'interval' }, 'P1Y2M3DT4H5M6.5S'],
  ['mood', { kind: 'enum', values: ['happy', 'sad'] }, 'sad'],
  ['bits', { kind: 'bits', length: 5 }, '10101'],
  ['ints', { kind: 'array', element: { kind: 'int32' } }, [1, null, 3]],
  ['texts', { kind: 'array', element: { kind: 'string' } }, ['a,b', '"q"', 'NULL', null, '{x}', '\\']],
  ['nothing', { kind: 'string' }, null],
];

const values = table(
  'vals',
  [['k', { kind: 'int32' }], ...typed.map(([name, type]): [string, LogicalType] => [name, type])],
  ['k'],
);

/** A table keyed by text and integer together, for deletes and moves by a composite key. */
const pairs = table(
  'pairs',
  [
    ['name', { kind: 'string', length: 40 }],
    ['n', { kind: 'int64' }],
    ['v', { kind: 'string' }],
  ],
  ['name', 'n'],
);

function typedRow(k: number, withValues: boolean): Row {
  return Object.fromEntries([['k', k], ...typed.map(([name, , value]) => [name, withValues ? value : null])]);
}

describe.each<TargetKind>(['postgres', 'mysql'])('a stream batch into the %s sink', (kind) => {
  const target = throwawayTarget(kind, 's');

  /** Every column of `vals` as the target's own text, per row, in key order. */
  async function texts(schema: string): Promise<string[][]> {
    const text = (name: string, type: LogicalType) =>
      kind === 'postgres'
        ? `"${name}"::text`
        : type.kind === 'float32'
          ? `CAST(\`${name}\` AS DOUBLE)`
          : type.kind === 'bits'
            ? `BIN(\`${name}\`)`
            : type.kind === 'bytes'
              ? `HEX(\`${name}\`)`
              : `CAST(\`${name}\` AS CHAR)`;
    const list = typed.map(
      ([name, type]) => `${text(name, type)} AS ${kind === 'postgres' ? `"${name}"` : `\`${name}\``}`,
    );
    const rows = await target.db.query(`SELECT ${list.join(', ')} FROM ${q(kind, schema, 'vals')} ORDER BY k`);
    return rows.map((r) => typed.map(([name]) => (r[name] === null ? 'NULL' : String(r[name]))));
  }

  async function write(schema: string, tables: TableSchema[], batches: ChangeEvent[][]): Promise<void> {
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), context(tables));
    try {
      await sink.open();
      let n = 0;
      for (const events of batches) await sink.write({ events, checkpoint: checkpoint(++n) });
    } finally {
      await sink.close();
    }
  }

  it('writes values of every type as updates exactly as it bulk-loads them as new rows', async () => {
    const count = BULK_MIN_ROWS + 6;
    // Bulk-loaded: COPY on Postgres, LOAD DATA on MySQL.
    const loaded = await target.freshSchema();
    await write(loaded, [values], [Array.from({ length: count }, (_, i) => insert(values, typedRow(i + 1, true)))]);
    // Inserted with NULLs, then every row updated to the values in one batch: the update path.
    const updated = await target.freshSchema();
    await write(
      updated,
      [values],
      [
        Array.from({ length: count }, (_, i) => insert(values, typedRow(i + 1, false))),
        Array.from({ length: count }, (_, i) => update(values, typedRow(i + 1, false), typedRow(i + 1, true))),
      ],
    );
    const expected = await texts(loaded);
    expect(expected).toHaveLength(count);
    expect(expected[0]?.[typed.findIndex(([name]) => name === 'txt')]).toBe(typed.find(([n]) => n === 'txt')?.[2]);
    expect(await texts(updated)).toEqual(expected);
    // A few rows updated alone (a group below the bulk size goes the same way).
    const single = await target.freshSchema();
    await write(
      single,
      [values],
      [[insert(values, typedRow(1, false))], [update(values, typedRow(1, false), typedRow(1, true))]],
    );
    expect(await texts(single)).toEqual(expected.slice(0, 1));
  });

  it('deletes by a composite key of text and integer, with re-inserts and moves of the same keys in the batch', async () => {
    const schema = await target.freshSchema();
    const names = ['plain', 'with "quote"', 'with,comma', '{braced}', 'NULL', 'back\\slash', 'ünï'];
    const all = names.flatMap((name, i) => [
      { name, n: i, v: 'start' },
      { name, n: 10_000_000_000 + i, v: 'start' },
    ]);
    const events: ChangeEvent[] = [
      // Deleted.
      remove(pairs, all[0] as Row),
      remove(pairs, all[3] as Row),
      // Deleted, then inserted again with another value: the row is there, with the new value.
      remove(pairs, all[4] as Row),
      insert(pairs, { ...(all[4] as Row), v: 'again' }),
      // Inserted, then deleted: not there.
      insert(pairs, { name: 'new', n: 1, v: 'x' }),
      remove(pairs, { name: 'new', n: 1, v: 'x' }),
      // Moved to another key and back again, and moved away.
      update(pairs, all[6] as Row, { name: 'moved', n: 6, v: 'there' }),
      update(pairs, { name: 'moved', n: 6, v: 'there' }, { ...(all[6] as Row), v: 'back' }),
      update(pairs, all[8] as Row, { name: 'moved', n: 8, v: 'away' }),
      // Updated twice: the last image wins.
      update(pairs, all[10] as Row, { ...(all[10] as Row), v: 'first' }),
      update(pairs, all[10] as Row, { ...(all[10] as Row), v: 'last' }),
    ];
    await write(schema, [pairs], [all.map((r) => insert(pairs, r)), events]);
    const stored = await target.db.query(`SELECT name, n, v FROM ${q(kind, schema, 'pairs')}`);
    const got = stored.map((r) => `${String(r.name)}|${String(r.n)}|${String(r.v)}`).sort();
    const expected = new Map(all.map((r) => [`${r.name}|${r.n}`, r.v]));
    expected.delete(`${all[0]?.name}|${all[0]?.n}`);
    expected.delete(`${all[3]?.name}|${all[3]?.n}`);
    expected.set(`${all[4]?.name}|${all[4]?.n}`, 'again');
    expected.set(`${all[6]?.name}|${all[6]?.n}`, 'back');
    expected.delete(`${all[8]?.name}|${all[8]?.n}`);
    expected.set('moved|8', 'away');
    expected.set(`${all[10]?.name}|${all[10]?.n}`, 'last');
    expect(got).toEqual([...expected].map(([k, v]) => `${k}|${v}`).sort());
  });

  it('writes groups larger than one statement holds', async () => {
    const schema = await target.freshSchema();
    const big = table(
      'big',
      [
        ['id', { kind: 'int32' }],
        ['v', { kind: 'int32' }],
      ],
      ['id'],
    );
    const count = ARRAY_STATEMENT_ROWS + 100;
    const rows = Array.from({ length: count }, (_, i) => ({ id: i, v: 0 }));
    await write(
      schema,
      [big],
      [
        rows.map((r) => insert(big, r)),
        [
          ...rows.filter((r) => r.id % 2 === 0).map((r) => update(big, r, { id: r.id, v: 1 })),
          ...rows.filter((r) => r.id % 2 === 1).map((r) => remove(big, r)),
        ],
      ],
    );
    const [summary] = await target.db.query(
      `SELECT COUNT(*) AS n, SUM(v) AS s, MIN(id % 2) AS odd FROM ${q(kind, schema, 'big')}`,
    );
    expect([Number(summary?.n), Number(summary?.s), Number(summary?.odd)]).toEqual([
      Math.ceil(count / 2),
      Math.ceil(count / 2),
      0,
    ]);
  });
});
