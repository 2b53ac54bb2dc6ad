import { JsonText } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { decoderFor } from '../src/types/decode.js';
import { logicalTypeOf } from '../src/types/logical-type.js';
import type { PgType } from '../src/types/pg-type.js';

const base = (name: string): PgType => ({ kind: 'base', name });
const array = (element: PgType, delimiter = ','): PgType => ({ kind: 'array', name: `_x`, element, delimiter });
const decode = (type: PgType, text: string) => decoderFor(type)(text);

describe('text decoder', () => {
  it('integers: int8 as bigint only beyond 2^53', () => {
    expect(decode(base('int2'), '-32768')).toBe(-32768);
    expect(decode(base('int4'), '2147483647')).toBe(2147483647);
    expect(decode(base('int8'), '9007199254740991')).toBe(9007199254740991);
    expect(decode(base('int8'), '9007199254740992')).toBe(9007199254740992n);
    expect(decode(base('int8'), '-9223372036854775808')).toBe(-9223372036854775808n);
    expect(decode(base('int8'), '0')).toBe(0);
  });

  it('numeric exact, floats incl. NaN and infinities', () => {
    expect(decode(base('numeric'), '12345678901234567890.0123456789')).toBe('12345678901234567890.0123456789');
    expect(decode(base('numeric'), 'NaN')).toBe('NaN');
    expect(decode(base('float8'), '1.5e+300')).toBe(1.5e300);
    expect(decode(base('float8'), 'NaN')).toBeNaN();
    expect(decode(base('float4'), 'Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(decode(base('float8'), '-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(decode(base('float4'), '0.1')).toBe(0.1);
  });

  it('bool, strings, bytea', () => {
    expect(decode(base('bool'), 't')).toBe(true);
    expect(decode(base('bool'), 'f')).toBe(false);
    expect(decode(base('text'), 'héllo\n\t"')).toBe('héllo\n\t"');
    expect(decode(base('bpchar'), 'ab  ')).toBe('ab  ');
    expect(decode(base('bytea'), '\\x00ff10')).toEqual(new Uint8Array([0, 255, 16]));
    expect(decode(base('bytea'), '\\x')).toEqual(new Uint8Array([]));
  });

  it('dates and times never go through Date', () => {
    expect(decode(base('date'), '2024-02-29')).toBe('2024-02-29');
    expect(decode(base('date'), '0044-03-15 BC')).toBe('-0043-03-15');
    expect(decode(base('date'), 'infinity')).toBe('infinity');
    expect(decode(base('time'), '13:45:00.123456')).toBe('13:45:00.123456');
    expect(decode(base('timetz'), '13:45:00+02')).toBe('13:45:00+02');
    expect(decode(base('timestamp'), '2024-02-29 13:45:00.123456')).toBe('2024-02-29T13:45:00.123456');
    expect(decode(base('timestamp'), '1999-12-31 23:59:59')).toBe('1999-12-31T23:59:59');
    expect(decode(base('timestamp'), '294276-12-31 23:59:59.999999')).toBe('294276-12-31T23:59:59.999999');
    expect(decode(base('timestamptz'), '2024-02-29 13:45:00.123456+00')).toBe('2024-02-29T13:45:00.123456Z');
    expect(decode(base('timestamptz'), '1970-01-01 00:00:00+00')).toBe('1970-01-01T00:00:00Z');
    expect(decode(base('timestamptz'), '2024-03-01 01:30:00.000001+02')).toBe('2024-02-29T23:30:00.000001Z');
    expect(decode(base('timestamptz'), '2024-01-01 00:00:00-05:30')).toBe('2024-01-01T05:30:00Z');
    expect(decode(base('timestamptz'), '-infinity')).toBe('-infinity');
    expect(decode(base('interval'), 'P1Y2M3DT4H5M6.5S')).toBe('P1Y2M3DT4H5M6.5S');
  });

  it('uuid, json (its exact text), network, bits, money, tsvector, ranges as strings', () => {
    expect(decode(base('uuid'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(decode(base('jsonb'), '{"a": [1, null, 12345678901234567890]}')).toStrictEqual(
      new JsonText('{"a": [1, null, 12345678901234567890]}'),
    );
    expect(decode(base('json'), '"s"')).toStrictEqual(new JsonText('"s"'));
    expect(decode(base('json'), 'null')).toStrictEqual(new JsonText('null'));
    for (const [t, v] of [
      ['inet', '192.168.0.1/24'],
      ['cidr', '10.0.0.0/8'],
      ['macaddr', '08:00:2b:01:02:03'],
      ['bit', '101'],
      ['varbit', '1'],
      ['money', '$1,000.00'],
      ['tsvector', "'a' 'fat':2"],
    ] as const) {
      expect(decode(base(t), v)).toBe(v);
    }
    expect(decode({ kind: 'other', name: 'int4range' }, '[1,10)')).toBe('[1,10)');
    expect(decode({ kind: 'enum', name: 'mood', labels: ['sad', 'ok'] }, 'ok')).toBe('ok');
  });

  it('arrays: nested, NULL elements, quoting, dimensions, other delimiters', () => {
    expect(decode(array(base('int4')), '{1,2,NULL,4}')).toEqual([1, 2, null, 4]);
    expect(decode(array(base('int4')), '{}')).toEqual([]);
    expect(decode(array(base('int4')), '{{1,2},{3,4}}')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(decode(array(base('text')), '{"a b","x\\"y","NULL",NULL,"back\\\\slash",plain,""}')).toEqual([
      'a b',
      'x"y',
      'NULL',
      null,
      'back\\slash',
      'plain',
      '',
    ]);
    expect(decode(array(base('int8')), '[0:1]={9007199254740993,1}')).toEqual([9007199254740993n, 1]);
    expect(decode(array(base('bytea')), '{"\\\\x01ff"}')).toEqual([new Uint8Array([1, 255])]);
    expect(decode(array(base('box'), ';'), '{(1,1),(0,0);(2,2),(1,1)}')).toEqual(['(1,1),(0,0)', '(2,2),(1,1)']);
    expect(decode(array(base('timestamptz')), '{"2024-01-01 00:00:00+00"}')).toEqual(['2024-01-01T00:00:00Z']);
  });
});

describe('logical types', () => {
  it('maps types and typmods', () => {
    expect(logicalTypeOf(base('numeric'), ((30 << 16) | 10) + 4)).toEqual({
      kind: 'decimal',
      precision: 30,
      scale: 10,
    });
    expect(logicalTypeOf(base('numeric'), -1)).toEqual({ kind: 'decimal' });
    expect(logicalTypeOf(base('varchar'), 20 + 4)).toEqual({ kind: 'string', length: 20 });
    expect(logicalTypeOf(base('timestamptz'), 3)).toEqual({ kind: 'timestamptz', precision: 3 });
    expect(logicalTypeOf(base('int8'), -1)).toEqual({ kind: 'int64' });
    expect(logicalTypeOf(array(base('int4')), -1)).toEqual({ kind: 'array', element: { kind: 'int32' } });
    expect(logicalTypeOf({ kind: 'enum', name: 'm', labels: ['a'] }, -1)).toEqual({ kind: 'enum', values: ['a'] });
    expect(logicalTypeOf(base('inet'), -1)).toEqual({ kind: 'other' });
  });
});
