import { JsonText } from '@highwater/core';
import { Binary, Decimal128, Double, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { bsonToValue } from '../src/rows/document-form.js';
import { documentJson } from '../src/rows/document-json.js';

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
});
