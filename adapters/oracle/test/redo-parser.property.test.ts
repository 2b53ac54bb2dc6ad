import type { Value } from '@highwater/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRedo } from '../src/redo/redo-scanner.js';
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
        const statement = decodeRedo(insertRedo('SHOP', 'Orders "EU"', columns, raw), decoder);
        expect(statement).toMatchObject({ op: 'insert', owner: 'SHOP', table: 'Orders "EU"', before: null });
        const decoded = decoder.complete(statement.values);
        expect(statement.unlogged).toEqual([]);
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
        const update = decodeRedo(updateRedo('SHOP', 'ORDERS', columns, KEY, before, after, opts), decoder);
        // LogMiner leaves LOB columns out of the WHERE clause.
        const { NOTE: _note, ...beforeWithoutLob } = a;
        expect(update.before).toEqual(beforeWithoutLob);
        const merged = { ...update.before, ...update.values };
        const { NOTE: _n2, ...afterWithoutLob } = b;
        const expected = 'NOTE' in update.values ? { ...afterWithoutLob, NOTE: b.NOTE ?? null } : afterWithoutLob;
        expect(merged).toEqual(expected);
        expect(update.unlogged).toEqual([]);
        const del = decodeRedo(deleteRedo('SHOP', 'ORDERS', columns, KEY, before, opts), decoder);
        expect(del.op).toBe('delete');
        expect(del.before).toEqual(beforeWithoutLob);
        expect(del.values).toEqual({});
      }),
      { numRuns: 200 },
    );
  });
});

describe('SQL_REDO parser (examples in LogMiner format)', () => {
  it('reads quoted identifiers, doubled quotes, NULL, function literals, IS NULL predicates and lower/upper-case keywords', () => {
    const emp = new RedoRowDecoder([
      oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }),
      oracleColumn('NAME', 'VARCHAR2', { length: 50 }),
      oracleColumn('PHOTO', 'RAW', { length: 10 }),
      oracleColumn('HIRED', 'DATE'),
      oracleColumn('NOTE', 'VARCHAR2', { length: 50 }),
    ]);
    const s = decodeRedo(
      `update "HR"."EMP ""X""" set "NAME" = 'O''Brien', "PHOTO" = HEXTORAW('00ff'), "HIRED" = TO_DATE('2024-02-29 13:45:00', 'YYYY-MM-DD HH24:MI:SS'), "NOTE" = 'a' || 'b''c' where "ID" = '7' and "NAME" IS NULL and ROWID = 'AAAR3sAAEAAAACXAAA';`,
      emp,
    );
    expect(s).toMatchObject({ op: 'update', owner: 'HR', table: 'EMP "X"' });
    expect(s.values).toEqual({
      NAME: "O'Brien",
      PHOTO: Uint8Array.from([0, 255]),
      HIRED: '2024-02-29T13:45:00',
      NOTE: "ab'c",
    });
    expect(s.before).toEqual({ ID: 7, NAME: null });
    // Spaces inside calls, a format argument, a literal continued with || inside a call.
    const spaced = decodeRedo(
      `insert into "HR"."EMP"("ID","HIRED","NOTE","PHOTO") values ('1',TO_DATE( '2024-02-29 13:45:00' , 'YYYY-MM-DD HH24:MI:SS' ),UNISTR('caf\\00e9 ' || 'ok'),HEXTORAW( '0A' ));`,
      emp,
    );
    expect(spaced.values).toEqual({
      ID: 1,
      HIRED: '2024-02-29T13:45:00',
      NOTE: 'café ok',
      PHOTO: Uint8Array.from([10]),
    });
    expect(() =>
      decodeRedo(`insert into "HR"."EMP"("HIRED") values (TO_DATE('2024-02-29', 'DD-MON-RR'));`, emp),
    ).toThrow(/the session sets/);
    const upper = decodeRedo(`DELETE FROM "HR"."EMP" WHERE "ID" = -12 AND "NOTE" IS NULL`, emp);
    expect(upper).toMatchObject({ op: 'delete', before: { ID: -12, NOTE: null } });
  });

  it('marks EMPTY_CLOB() columns as not logged instead of inventing a value', () => {
    const s = decodeRedo(
      `insert into "S"."T"("ID","NOTE") values ('1',EMPTY_CLOB());`,
      new RedoRowDecoder([oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }), oracleColumn('NOTE', 'CLOB')]),
    );
    expect(s.values).toEqual({ ID: 1 });
    expect(s.unlogged).toEqual(['NOTE']);
  });

  it('converts TIMESTAMP WITH TIME ZONE offsets to UTC', () => {
    const d = decoderFor(oracleColumn('T', 'TIMESTAMP(6) WITH TIME ZONE'));
    expect(d('2024-03-01 01:30:00.500000000 +02:00')).toBe('2024-02-29T23:30:00.5Z');
    expect(d('2024-02-29 23:30:00.000000000 -05:30')).toBe('2024-03-01T05:00:00Z');
    // Any date, time and offset (-14:00 … +14:00): the same instant as JavaScript's Date computes.
    fc.assert(
      fc.property(
        dateParts.filter((p) => p.y >= 100 && p.y <= 9998),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        digits(9),
        (p, offset, f) => {
          const zone = `${offset < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(offset) / 60))}:${p2(Math.abs(offset) % 60)}`;
          const text = `${isoDateTime(p).replace('T', ' ')}${f === '' ? '' : `.${f}`} ${zone}`;
          const utc = new Date(Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi - offset, p.s)).toISOString().slice(0, 19);
          const fraction = trimFraction(f);
          expect(d(text)).toBe(`${utc}${fraction === '' ? '' : `.${fraction}`}Z`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses what it does not understand with the offset and statement', () => {
    const a = new RedoRowDecoder([oracleColumn('A', 'NUMBER')]);
    expect(() => decodeRedo(`insert into "S"."T"("A") values (SOMETHING_ELSE('x'));`, a)).toThrow(/SOMETHING_ELSE/);
    expect(() => decodeRedo(`insert into "S"."T"("A") values ('1';`, a)).toThrow(/offset \d+ of SQL_REDO/);
    expect(() => decodeRedo(`insert into "S"."T"("A") values ('1') extra;`, a)).toThrow(/after the statement/);
    expect(() => decodeRedo(`merge into "S"."T" using dual`, a)).toThrow(/not a DML statement/);
    expect(() => decodeRedo(`insert into "S"."T"("B") values ('1');`, a)).toThrow(/column B/);
    expect(() => decodeRedo(`insert into "S"."T"("A") values ('1' || HEXTORAW('00'));`, a)).toThrow(
      /joins literals only/,
    );
  });
});
