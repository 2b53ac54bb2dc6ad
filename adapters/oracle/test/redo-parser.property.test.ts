import type { Value } from '@highwater/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRedo } from '../src/redo/parser.js';
import { RedoRowDecoder } from '../src/redo/redo-values.js';
import { decoderFor } from '../src/types/decode.js';
import { familyOf, type OracleColumn, oracleColumn } from '../src/types/oracle-column.js';
import { deleteRedo, insertRedo, type RawRow, updateRedo } from './simulator/redo-writer.js';
import { encodeValue, type Raw, sessionValue, toChar } from './simulator/values.js';

/**
 * Property: any row → the SQL_REDO the simulator writes for it in LogMiner's format → the adapter's
 * parser and typing → the same values; and the snapshot path (what a session returns for the stored
 * value, decoded) gives the same values too. FC_SEED replays a failure.
 */

const p2 = (n: number) => String(n).padStart(2, '0');
const digits = (max: number, min = 0) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const trimFraction = (f: string) => f.replace(/0+$/, '');
const canonicalDecimal = (sign: boolean, whole: string, fraction: string): string => {
  const w = whole.replace(/^0+/, '') || '0';
  const f = trimFraction(fraction);
  const zero = w === '0' && f === '';
  return `${sign && !zero ? '-' : ''}${w}${f === '' ? '' : `.${f}`}`;
};
const nonZeroDouble = fc.double().filter((d) => !Object.is(d, -0));
const dateParts = fc.record({
  y: fc.integer({ min: 1, max: 9999 }),
  mo: fc.integer({ min: 1, max: 12 }),
  d: fc.integer({ min: 1, max: 28 }),
  h: fc.integer({ min: 0, max: 23 }),
  mi: fc.integer({ min: 0, max: 59 }),
  s: fc.integer({ min: 0, max: 59 }),
});
const isoDateTime = (p: { y: number; mo: number; d: number; h: number; mi: number; s: number }) =>
  `${String(p.y).padStart(4, '0')}-${p2(p.mo)}-${p2(p.d)}T${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}`;
/** Any text, and text made of the characters SQL_REDO must escape (quotes, backslashes, newlines, non-ASCII). */
const text = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom("'", '\\', '"', '\n', '\t', 'é', '日', '🎉', 'a', ' ', ';', ')'),
    minLength: 1,
    maxLength: 20,
  }),
);

/** Each column with a generator of canonical Highwater values for it (what the column gives back). */
const COLUMNS: readonly { column: OracleColumn; value: fc.Arbitrary<Value> }[] = [
  {
    column: oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }),
    value: fc.integer({ min: -999_999_999, max: 999_999_999 }),
  },
  {
    column: oracleColumn('BIG', 'NUMBER', { precision: 19, scale: 0 }),
    value: fc.bigInt(-(10n ** 19n) + 1n, 10n ** 19n - 1n).map((b) => (Number.isSafeInteger(Number(b)) ? Number(b) : b)),
  },
  {
    column: oracleColumn('AMOUNT', 'NUMBER', { precision: 30, scale: 10 }),
    value: fc.tuple(fc.boolean(), digits(20), digits(10)).map(([s, w, f]) => canonicalDecimal(s, w, f)),
  },
  {
    column: oracleColumn('ANY_NUMBER', 'NUMBER'),
    value: fc.tuple(fc.boolean(), digits(19), digits(19)).map(([s, w, f]) => canonicalDecimal(s, w, f)),
  },
  { column: oracleColumn('D64', 'BINARY_DOUBLE'), value: nonZeroDouble },
  {
    column: oracleColumn('F32', 'BINARY_FLOAT'),
    value: nonZeroDouble.map(Math.fround).filter((d) => !Object.is(d, -0)),
  },
  { column: oracleColumn('NAME', 'VARCHAR2', { length: 100 }), value: text },
  { column: oracleColumn('NATIONAL', 'NVARCHAR2', { length: 100 }), value: text },
  {
    column: oracleColumn('CODE', 'CHAR', { length: 12 }),
    value: fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.padEnd(12, ' ')),
  },
  { column: oracleColumn('BYTES', 'RAW', { length: 64 }), value: fc.uint8Array({ minLength: 1, maxLength: 64 }) },
  { column: oracleColumn('BORN', 'DATE'), value: dateParts.map(isoDateTime) },
  {
    column: oracleColumn('AT', 'TIMESTAMP(9)'),
    value: fc
      .tuple(dateParts, digits(9))
      .map(([p, f]) => `${isoDateTime(p)}${trimFraction(f) === '' ? '' : `.${trimFraction(f)}`}`),
  },
  {
    column: oracleColumn('AT_TZ', 'TIMESTAMP(6) WITH TIME ZONE'),
    value: fc
      .tuple(dateParts, digits(6))
      .map(([p, f]) => `${isoDateTime(p)}${trimFraction(f) === '' ? '' : `.${trimFraction(f)}`}Z`),
  },
  {
    column: oracleColumn('AT_LTZ', 'TIMESTAMP(6) WITH LOCAL TIME ZONE'),
    value: fc
      .tuple(dateParts, digits(6))
      .map(([p, f]) => `${isoDateTime(p)}${trimFraction(f) === '' ? '' : `.${trimFraction(f)}`}Z`),
  },
  {
    column: oracleColumn('SPAN_YM', 'INTERVAL YEAR(2) TO MONTH'),
    value: fc
      .tuple(fc.boolean(), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 11 }))
      .map(([neg, y, m]) => `${neg && (y || m) ? '-' : ''}P${y}Y${m}M`),
  },
  {
    column: oracleColumn('SPAN_DS', 'INTERVAL DAY(2) TO SECOND(6)'),
    value: fc
      .tuple(
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        digits(6),
      )
      .map(([d, h, m, s, f]) => `P${d}DT${h}H${m}M${s}${trimFraction(f) === '' ? '' : `.${trimFraction(f)}`}S`),
  },
  { column: oracleColumn('NOTE', 'CLOB'), value: fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }) },
];

const columns = COLUMNS.map((c) => c.column);
const rowArb = fc.record(
  Object.fromEntries(COLUMNS.map((c) => [c.column.name, fc.option(c.value, { nil: null, freq: 5 })])),
) as fc.Arbitrary<Record<string, Value>>;

function encode(row: Record<string, Value>): RawRow {
  const out: Record<string, Raw> = {};
  for (const c of columns) out[c.name] = encodeValue(c, row[c.name] ?? null);
  return out;
}

/** The snapshot path: what a session returns for the stored value (TO_CHAR for date/time types), decoded. */
function snapshotRow(raw: RawRow): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const c of columns) {
    const v = raw[c.name] ?? null;
    const f = familyOf(c);
    const formats: Record<string, string | null> = {
      date: 'YYYY-MM-DD HH24:MI:SS',
      timestamp: 'YYYY-MM-DD HH24:MI:SS.FF9',
      timestamptz: 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM',
      'interval-ym': null,
      'interval-ds': null,
    };
    out[c.name] = decoderFor(c)(f in formats ? toChar(c, v, formats[f] ?? null) : sessionValue(c, v));
  }
  return out;
}

const decoder = new RedoRowDecoder(columns);
const KEY = ['ID'];

describe('SQL_REDO parser (property)', () => {
  it('insert: row → SQL_REDO → parse → the same values, equal to the snapshot path', () => {
    fc.assert(
      fc.property(rowArb, (row) => {
        const raw = encode(row);
        const statement = parseRedo(insertRedo('SHOP', 'Orders "EU"', columns, raw));
        expect(statement).toMatchObject({ op: 'insert', owner: 'SHOP', table: 'Orders "EU"' });
        const unlogged: string[] = [];
        const decoded = decoder.complete(decoder.decode(statement.values, unlogged));
        expect(unlogged).toEqual([]);
        expect(decoded).toEqual(row);
        expect(snapshotRow(raw)).toEqual(row);
      }),
      { numRuns: 300 },
    );
  });

  it('update: WHERE before-image and SET after-values; delete: WHERE before-image (ALL COLUMNS logging, with or without ROWID)', () => {
    fc.assert(
      fc.property(rowArb, rowArb, fc.boolean(), (a, b, withRowid) => {
        const before = encode(a);
        const after = encode(b);
        const opts = { allColumns: true, ...(withRowid ? { rowid: 'AAAR3sAAEAAAACXAAA' } : {}) };
        const update = parseRedo(updateRedo('SHOP', 'ORDERS', columns, KEY, before, after, opts));
        const unlogged: string[] = [];
        // LogMiner leaves LOB columns out of the WHERE clause.
        const { NOTE: _note, ...beforeWithoutLob } = a;
        expect(decoder.decode(update.where, unlogged)).toEqual(beforeWithoutLob);
        const merged = { ...decoder.decode(update.where, unlogged), ...decoder.decode(update.values, unlogged) };
        const { NOTE: _n2, ...afterWithoutLob } = b;
        const expected = update.values.has('NOTE') ? { ...afterWithoutLob, NOTE: b.NOTE ?? null } : afterWithoutLob;
        expect(merged).toEqual(expected);
        const del = parseRedo(deleteRedo('SHOP', 'ORDERS', columns, KEY, before, opts));
        expect(del.op).toBe('delete');
        expect(decoder.decode(del.where, unlogged)).toEqual(beforeWithoutLob);
      }),
      { numRuns: 200 },
    );
  });
});

describe('SQL_REDO parser (examples in LogMiner format)', () => {
  it('reads quoted identifiers, doubled quotes, NULL, function literals and IS NULL predicates', () => {
    const s = parseRedo(
      `update "HR"."EMP ""X""" set "NAME" = 'O''Brien', "PHOTO" = HEXTORAW('00ff'), "HIRED" = TO_DATE('2024-02-29 13:45:00', 'YYYY-MM-DD HH24:MI:SS') where "ID" = '7' and "NAME" IS NULL and ROWID = 'AAAR3sAAEAAAACXAAA';`,
    );
    expect(s.table).toBe('EMP "X"');
    expect(s.values.get('NAME')).toEqual({ kind: 'literal', text: "O'Brien" });
    expect(s.where.get('NAME')).toEqual({ kind: 'null' });
    expect(s.where.has('ROWID')).toBe(false);
    expect(s.values.get('HIRED')).toEqual({
      kind: 'call',
      name: 'TO_DATE',
      args: [
        { kind: 'literal', text: '2024-02-29 13:45:00' },
        { kind: 'literal', text: 'YYYY-MM-DD HH24:MI:SS' },
      ],
    });
  });

  it('marks EMPTY_CLOB() columns as not logged instead of inventing a value', () => {
    const s = parseRedo(`insert into "S"."T"("ID","NOTE") values ('1',EMPTY_CLOB());`);
    const unlogged: string[] = [];
    const row = new RedoRowDecoder([
      oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }),
      oracleColumn('NOTE', 'CLOB'),
    ]).decode(s.values, unlogged);
    expect(row).toEqual({ ID: 1 });
    expect(unlogged).toEqual(['NOTE']);
  });

  it('converts TIMESTAMP WITH TIME ZONE offsets to UTC', () => {
    const d = decoderFor(oracleColumn('T', 'TIMESTAMP(6) WITH TIME ZONE'));
    expect(d('2024-03-01 01:30:00.500000000 +02:00')).toBe('2024-02-29T23:30:00.5Z');
    expect(d('2024-02-29 23:30:00.000000000 -05:30')).toBe('2024-03-01T05:00:00Z');
  });

  it('refuses what it does not understand with the offset and statement', () => {
    expect(() => parseRedo(`insert into "S"."T"("A") values (SOMETHING_ELSE('x'));`)).not.toThrow();
    expect(() =>
      new RedoRowDecoder([oracleColumn('A', 'NUMBER')]).decode(
        parseRedo(`insert into "S"."T"("A") values (SOMETHING_ELSE('x'));`).values,
        [],
      ),
    ).toThrow(/SOMETHING_ELSE/);
    expect(() => parseRedo(`insert into "S"."T"("A") values ('x';`)).toThrow(/offset \d+ of SQL_REDO/);
    expect(() => parseRedo(`merge into "S"."T" using dual`)).toThrow(/not a DML statement/);
  });
});
