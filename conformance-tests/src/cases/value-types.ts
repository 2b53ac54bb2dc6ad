import { JsonText, type LogicalType, type Row, type Value } from '@highwater/core';
import type { ConformanceCase } from '../case.js';
import { Consumer, changesOf } from '../support/consumer.js';
import { check, listSome } from '../support/failure.js';
import { formatValue, valueEquals } from '../support/values.js';
import type { ColumnDefinition } from '../harness.js';

/** Columns of each kind and sample values in their canonical form (see `Value`). */
const SAMPLES: readonly { readonly type: LogicalType; readonly values: readonly Value[] }[] = [
  { type: { kind: 'boolean' }, values: [true, false] },
  { type: { kind: 'int16' }, values: [-32768, 32767] },
  { type: { kind: 'int32' }, values: [-2147483648, 2147483647, 0] },
  { type: { kind: 'int64' }, values: [2n ** 53n + 1n, -(2n ** 63n), 42] },
  { type: { kind: 'float64' }, values: [Math.PI, -1e-300, 1e300, 0.1] },
  { type: { kind: 'decimal', precision: 30, scale: 10 }, values: ['12345678901234567890.0123456789', '-0.0000000001'] },
  { type: { kind: 'string' }, values: ['', 'ünïcödé 日本語 🎉', 'it\'s "quoted"\n\ttab \\ back'] },
  { type: { kind: 'bytes' }, values: [new Uint8Array([0, 255, 1, 128, 39, 92]), new Uint8Array([])] },
  { type: { kind: 'uuid' }, values: ['123e4567-e89b-42d3-a456-426614174000', '00000000-0000-0000-0000-000000000000'] },
  {
    type: { kind: 'json' },
    // What `JSON.parse` would change: digits beyond 2^53 and beyond a double, `1.10`, `1e-400`, `1e400`;
    // and a JSON null document, which is not SQL NULL.
    values: [
      new JsonText(
        '{"id": 12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1e400, ' +
          '"d34": 0.1234567890123456789012345678901234, "s": "é \\"q\\"", "a": [true, null, {"b": "x"}]}',
      ),
      new JsonText('null'),
      new JsonText('[1.10, 2.5, "three", -12345678901234567890]'),
    ],
  },
  { type: { kind: 'date' }, values: ['2024-02-29', '1970-01-01'] },
  { type: { kind: 'time', precision: 6 }, values: ['13:45:00.123456', '00:00:00'] },
  { type: { kind: 'timestamp', precision: 6 }, values: ['2024-02-29T13:45:00.123456', '1999-12-31T23:59:59'] },
  { type: { kind: 'timestamptz', precision: 6 }, values: ['2024-02-29T13:45:00.123456Z', '1970-01-01T00:00:00Z'] },
];

const VARIANTS = 3;

export const valueTypesCase: ConformanceCase = {
  id: 'value-types',
  title: 'every supported type has the identical value on the snapshot path and the log path',
  purpose:
    'A table with one column per logical type the harness supports (integers beyond 2^53, exact decimals, bytes, ' +
    'unicode, JSON documents with numbers JSON.parse would change and a JSON null document, UUIDs, dates, times, ' +
    'timestamps) and sample rows. The rows are inserted once before the snapshot ' +
    '(read by readChunk) and again, with the same values, after it (decoded from the log); one row is also updated to ' +
    'the values of another, and one is all nulls. Drivers often disagree between the two paths.',
  passCondition:
    'For every column, the snapshot read, the logged insert and the logged update carry values identical to each other, ' +
    'to what was written, and to readTable (same JavaScript type: a bigint is never a number; a JSON document is ' +
    "the text written, byte for byte, or the database's own normal form of it where the harness has normalJson).",
  requires: (caps) =>
    SAMPLES.some((s) => caps.harness.columnTypes.has(s.type.kind))
      ? null
      : 'the harness supports none of the sampled types',
  async run(ctx) {
    const kinds = ctx.capabilities.harness.columnTypes;
    const samples = SAMPLES.filter((s) => kinds.has(s.type.kind));
    const columns: ColumnDefinition[] = [
      { name: 'id', type: { kind: 'int32' } },
      ...samples.map((s) => ({ name: `c_${s.type.kind}`, type: s.type })),
    ];
    // What the database gives back for each JSON document written: the text, or the server's normal form of it.
    const stored = new Map<Value, Value>();
    for (const s of samples)
      for (const v of s.values)
        if (v instanceof JsonText && ctx.harness.normalJson !== undefined)
          stored.set(v, new JsonText(await ctx.harness.normalJson(v.text)));
    const row = (id: number, variant: number | null, as: 'written' | 'stored' = 'stored'): Row => {
      const out: Record<string, Value> = { id };
      for (const s of samples) {
        const value = variant === null ? null : (s.values[variant % s.values.length] as Value);
        out[`c_${s.type.kind}`] = as === 'stored' ? (stored.get(value) ?? value) : value;
      }
      return out;
    };
    const table = await ctx.createTable({ name: 'types', columns, primaryKey: ['id'] });
    // Snapshot path: ids 0..VARIANTS (the last all nulls).
    for (let v = 0; v < VARIANTS; v++) await ctx.harness.insert(table, row(v, v, 'written'));
    await ctx.harness.insert(table, row(VARIANTS, null));
    const adapter = await ctx.createAdapter();
    const consumer = new Consumer(ctx, ctx.createSource({ adapter, tables: { include: [table] } }), adapter);
    await consumer.snapshotDone([table]);
    // Log path: ids 100.. with the same values, and row 0 updated to variant 1.
    for (let v = 0; v < VARIANTS; v++) await ctx.harness.insert(table, row(100 + v, v, 'written'));
    await ctx.harness.insert(table, row(100 + VARIANTS, null));
    const { id: _id, ...variant1 } = row(0, 1, 'written');
    await ctx.harness.update(table, { id: 0 }, variant1);
    await consumer.catchUp([table]);

    const events = changesOf(consumer.events);
    const tableRows = new Map((await ctx.harness.readTable(table)).map((r) => [r.id as number, r]));
    const problems: string[] = [];
    const compare = (path: string, got: Row | null | undefined, expected: Row) => {
      if (got === null || got === undefined) {
        problems.push(`${path}: no row for id ${String(expected.id)}`);
        return;
      }
      for (const c of columns) {
        if (!valueEquals(got[c.name], expected[c.name])) {
          problems.push(
            `${path}, column ${c.name} (${c.type.kind}): got ${formatValue(got[c.name])}, wrote ${formatValue(expected[c.name])}`,
          );
        }
      }
    };
    for (let v = 0; v <= VARIANTS; v++) {
      const variant = v === VARIANTS ? null : v;
      const read = events.find((e) => e.op === 'r' && e.after?.id === v);
      compare('snapshot read', read?.after, row(v, variant));
      const inserted = events.find((e) => e.op === 'c' && e.after?.id === 100 + v);
      compare('logged insert', inserted?.after, row(100 + v, variant));
      compare('readTable', tableRows.get(100 + v), row(100 + v, variant));
    }
    const updated = events.find((e) => e.op === 'u' && e.after?.id === 0);
    compare('logged update', updated?.after, row(0, 1));
    if (updated?.beforeImage === 'full') compare('update before-image', updated.before, row(0, 0));
    check(problems.length === 0, () => `values differ between paths:\n  ${listSome(problems, 15)}`);
  },
};
