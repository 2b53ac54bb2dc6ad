import { JsonText } from '@highwater/core';
import {
  Binary,
  BSON,
  Code,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { bsonToValue, documentToValue } from '../src/rows/document-form.js';
import { bsonDocumentJson, bsonJson, documentJson } from '../src/rows/document-json.js';

describe('document JSON text', () => {
  it('writes what plain JSON loses as exact text or Extended JSON', () => {
    const doc = {
      big: Long.fromString('9007199254740993'),
      nan: new Double(Number.NaN),
      inf: new Double(Number.NEGATIVE_INFINITY),
      negZero: new Double(-0),
      bytes: new Binary(Buffer.from([1, 2, 255]), 0),
      dec: Decimal128.fromString('1.10'),
      oid: ObjectId.createFromHexString('0123456789abcdef01234567'),
      nested: { list: [1, 'two', null, { three: true }] },
      'quote"key': 'line\nbreak',
    };
    expect(documentJson(bsonToValue(doc))).toEqual(
      new JsonText(
        '{"big":9007199254740993,"nan":{"$numberDouble":"NaN"},"inf":{"$numberDouble":"-Infinity"},' +
          '"negZero":{"$numberDouble":"-0.0"},"bytes":{"$binary":{"base64":"AQL/","subType":"00"}},' +
          '"dec":{"$numberDecimal":"1.10"},"oid":{"$oid":"0123456789abcdef01234567"},' +
          '"nested":{"list":[1,"two",null,{"three":true}]},"quote\\"key":"line\\nbreak"}',
      ),
    );
  });

  it('is valid JSON', () => {
    const text = documentJson(bsonToValue({ a: [1.5, -2, 1e300], b: { c: 'd' } })).text;
    expect(JSON.parse(text)).toEqual({ a: [1.5, -2, 1e300], b: { c: 'd' } });
  });

  it('writes the same text straight from driver values as through the value form', () => {
    // Every type of the value form, as the driver returns them: raw (BSON.deserialize with the
    // adapter's options) and as constructed objects (Int32, Double, Long wrappers).
    const doc = {
      _id: ObjectId.createFromHexString('0123456789abcdef01234567'),
      s: 'a "quoted"\n\u2028 string',
      t: true,
      i: new Int32(-7),
      d: new Double(2.5),
      nan: new Double(Number.NaN),
      inf: Number.POSITIVE_INFINITY,
      negZero: -0,
      small: 12n,
      long: Long.fromString('-9007199254740993'),
      dec: Decimal128.fromString('-0.000100'),
      oid: ObjectId.createFromHexString('89abcdef0123456789abcdef'),
      date: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
      ts: new Timestamp({ t: 1_700_000_000, i: 3 }),
      bytes: new Binary(Buffer.from([0, 1, 254, 255]), 0),
      buf: Buffer.from([9, 8]),
      uuid: new UUID('123e4567-e89b-42d3-a456-426614174000'),
      bin5: new Binary(Buffer.from([1, 2, 3]), 5),
      re: new BSON.BSONRegExp('^a.*', 'im'),
      min: new MinKey(),
      max: new MaxKey(),
      code: new Code('function () { return 1; }'),
      nul: null,
      undef: undefined,
      nested: { deeper: [[1, { x: null }], [], {}], $lone: { $x: 1 } },
      wrapped: { $only: 'one dollar field' },
      empty: [],
      '12': 'integer-like key',
    };
    const raw = BSON.deserialize(BSON.serialize(doc), { useBigInt64: true, bsonRegExp: true, promoteValues: true });
    for (const d of [doc, raw] as Record<string, unknown>[]) {
      const { _id, ...rest } = d;
      expect(bsonDocumentJson(d, '_id')).toEqual(documentJson(documentToValue(rest)));
      expect(bsonJson(d.nested)).toEqual(documentJson(bsonToValue(d.nested)));
      expect(bsonJson(d.wrapped)).toEqual(documentJson(bsonToValue(d.wrapped)));
    }
    expect(bsonDocumentJson({ _id: 1, $lone: 2 }, '_id').text).toBe('{"$document":{"$lone":2}}');
    expect(JSON.parse(bsonDocumentJson(raw, '_id').text).nested.$lone).toEqual({ $document: { $x: 1 } });
  });
});
