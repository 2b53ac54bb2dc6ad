import type { Db } from './replicate.js';

/**
 * One source column type with values every target can hold (written on both paths), and values a
 * target is expected to refuse (each written alone, expecting `UnrepresentableValueError`).
 */
export interface Sample {
  readonly column: string;
  /** The source's type, as the table is created with it (and as the docs table names it). */
  readonly type: string;
  /** Two SQL literals. */
  readonly values: readonly [string, string];
  readonly refused?: { readonly [sink in Db]?: readonly string[] };
  /** How the docs table names the row, when not by `type`. */
  readonly label?: string;
}

export const POSTGRES_SAMPLES: readonly Sample[] = [
  { column: 'i2', type: 'smallint', values: ['-32768', '32767'] },
  { column: 'i4', type: 'integer', values: ['-2147483648', '2147483647'] },
  { column: 'i8', type: 'bigint', values: ['-9223372036854775808', '9223372036854775807'] },
  { column: 'n', type: 'numeric(30,10)', values: ['12345678901234567890.0123456789', '-0.0000000001'] },
  {
    column: 'nu',
    type: 'numeric',
    values: ['1.10', '-12345678901234567890123456789012345'],
    refused: { mysql: ["'NaN'", '0.1234567890123456789012345678901234567'] },
  },
  { column: 'r', type: 'real', values: ['3.4028235e38', '-1.17549435e-38'], refused: { mysql: ["'NaN'"] } },
  {
    column: 'd',
    type: 'double precision',
    values: ['0.1', '-1.7976931348623157e308'],
    refused: { mysql: ["'-Infinity'"] },
  },
  { column: 'b', type: 'boolean', values: ['true', 'false'] },
  { column: 't', type: 'text', values: [`'héllo 🌊 "q" \\ end'`, "''"] },
  { column: 'vc', type: 'varchar(120)', values: ["'abc'", "'  padded  '"] },
  { column: 'c', type: 'char(5)', values: ["'ab'", "'abcde'"] },
  { column: 'by', type: 'bytea', values: ["'\\x00ff10'", "''"] },
  {
    column: 'u',
    type: 'uuid',
    values: ["'0e9b1a8e-8d3f-4c52-9d5e-3f2a1b0c9d8e'", "'00000000-0000-0000-0000-000000000000'"],
  },
  { column: 'jb', type: 'jsonb', values: [`'{"b": [1, "x", null], "a": {"c": true}}'`, `'[]'`] },
  { column: 'js', type: 'json', values: [`'{"b": 1,  "a": "s"}'`, `'"text"'`] },
  {
    column: 'dt',
    type: 'date',
    values: ['2024-02-29', '0001-01-01'].map((v) => `'${v}'`) as [string, string],
    refused: { mysql: ["'infinity'", "'0044-03-15 BC'", "'12000-01-01'"] },
  },
  { column: 'tm', type: 'time(6)', values: ["'13:45:00.123456'", "'24:00:00'"] },
  { column: 'ttz', type: 'timetz', values: ["'13:45:00.5+02'", "'00:00:00-11:30'"] },
  {
    column: 'ts',
    type: 'timestamp(6)',
    values: ["'2024-02-29 13:45:00.123456'", "'1000-01-01 00:00:00'"],
    refused: { mysql: ["'-infinity'"] },
  },
  {
    column: 'tz',
    type: 'timestamptz(3)',
    values: ["'2024-02-29 13:45:00.5+00'", "'9999-12-31 23:59:59.999+00'"],
    refused: { mysql: ["'infinity'"] },
  },
  { column: 'iv', type: 'interval', values: ["'1 year 2 mons 3 days 04:05:06.5'", "'-1 day'"] },
  { column: 'a2', type: 'integer[]', values: ["'{{1,2},{3,4}}'", "'{1,NULL,3}'"] },
  { column: 'at', type: 'text[]', values: [`'{"a","b,c","q\\"x",NULL}'`, "'{}'"] },
  { column: 'atz', type: 'timestamptz[]', values: ['\'{infinity,"2024-02-29 13:45:00+00"}\'', "'{}'"] },
  { column: 'bt', type: 'bit(5)', values: ["B'00101'", "B'11111'"] },
  { column: 'vb', type: 'varbit(20)', values: ["B'101'", "B''"] },
  { column: 'en', type: 'mood', values: ["'happy'", "'sad'"] },
  { column: 'ip', type: 'inet', values: ["'192.168.0.1/24'", "'::1'"] },
];

export const MYSQL_SAMPLES: readonly Sample[] = [
  { column: 'ti', type: 'TINYINT', values: ['-128', '127'] },
  { column: 'su', type: 'SMALLINT UNSIGNED', values: ['0', '65535'] },
  { column: 'i4', type: 'INT', values: ['-2147483648', '2147483647'] },
  { column: 'i8', type: 'BIGINT', values: ['-9223372036854775808', '9223372036854775807'] },
  { column: 'u8', type: 'BIGINT UNSIGNED', values: ['0', '18446744073709551615'] },
  { column: 'dc', type: 'DECIMAL(12,3)', values: ['-123456789.125', '0.001'] },
  { column: 'f', type: 'FLOAT', values: ['3.4028234e38', '0.1'] },
  { column: 'db', type: 'DOUBLE', values: ['0.1', '-1.7976931348623157e308'] },
  { column: 'bt', type: 'BIT(5)', values: ["b'00101'", "b'0'"] },
  { column: 'ch', type: 'CHAR(5)', values: ["'ab'", "'abcde'"] },
  { column: 'vc', type: 'VARCHAR(50)', values: ["'héllo 🌊'", "'  padded  '"] },
  { column: 'tx', type: 'TEXT', values: [`'"q" \\\\ end'`, "''"] },
  { column: 'bl', type: 'BLOB', values: ["X'00ff10'", "''"] },
  { column: 'dt', type: 'DATE', values: ["'2024-02-29'", "'1000-01-01'"] },
  {
    column: 'zd',
    type: 'DATE',
    label: 'DATE holding the zero date `0000-00-00`',
    values: ["'0000-00-00'", "'2024-02-29'"],
  },
  { column: 'dtm', type: 'DATETIME(6)', values: ["'2024-02-29 13:45:00.123456'", "'9999-12-31 23:59:59'"] },
  { column: 'tsp', type: 'TIMESTAMP(6) NULL', values: ["'2024-02-29 13:45:00.5'", "'1970-01-02 00:00:00'"] },
  {
    column: 'tm',
    type: 'TIME(3)',
    values: ["'12:34:56.789'", "'00:00:00'"],
    refused: { postgres: ["'-01:00:00'", "'838:59:59'"] },
  },
  { column: 'yr', type: 'YEAR', values: ['2024', '1901'] },
  { column: 'en', type: "ENUM('new','paid')", values: ["'new'", "'paid'"] },
  { column: 'st', type: "SET('a','b','c')", values: ["'a,c'", "''"] },
  { column: 'js', type: 'JSON', values: [`'{"b": [1, "x", null], "a": {"c": true}}'`, `'[]'`] },
];
