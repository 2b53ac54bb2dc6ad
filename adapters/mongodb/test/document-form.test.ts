import fc from 'fast-check';
import { Binary, BSON, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { compareBson } from '../src/bson/bson-order.js';
import { plainDecimal } from '../src/bson/decimal-text.js';
import { bsonToValue, valueToBson } from '../src/rows/document-form.js';

const { BSONRegExp } = BSON;

describe('the MongoDB value form', () => {
  it('keeps every BSON type exactly', () => {
    const id = ObjectId.createFromHexString('65a1b2c3d4e5f60718293a4b');
    const doc = {
      oid: id,
      dec: Decimal128.fromString('-0.0000000001'),
      big: 2n ** 60n,
      small: 42n,
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      negZero: -0,
      date: new Date('2024-02-29T13:45:00.123Z'),
      ts: new Timestamp({ t: 1700000000, i: 7 }),
      bytes: new Binary(Buffer.from([0, 255]), 0),
      uuid: new UUID('123e4567-e89b-42d3-a456-426614174000'),
      md5: new Binary(Buffer.alloc(16, 1), 5),
      re: new BSONRegExp('^a.*', 'im'),
      min: new MinKey(),
      max: new MaxKey(),
      nested: { a: [1, 'x', { b: null }] },
      dollar: { $oid: 'not an ObjectId' },
    };
    const value = bsonToValue(doc);
    expect(value).toEqual({
      oid: { $oid: '65a1b2c3d4e5f60718293a4b' },
      dec: { $numberDecimal: '-0.0000000001' },
      big: 2n ** 60n,
      small: 42,
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      negZero: -0,
      date: { $date: '2024-02-29T13:45:00.123Z' },
      ts: { $timestamp: { t: 1700000000, i: 7 } },
      bytes: new Uint8Array([0, 255]),
      uuid: { $uuid: '123e4567-e89b-42d3-a456-426614174000' },
      md5: { $binary: { base64: Buffer.alloc(16, 1).toString('base64'), subType: '05' } },
      re: { $regularExpression: { pattern: '^a.*', options: 'im' } },
      min: { $minKey: 1 },
      max: { $maxKey: 1 },
      nested: { a: [1, 'x', { b: null }] },
      dollar: { $document: { $oid: 'not an ObjectId' } },
    });
    expect(Object.is((value as { negZero: number }).negZero, -0)).toBe(true);
    // Back to BSON: equal in the server's order, field by field.
    const back = valueToBson(value) as Record<string, unknown>;
    for (const [k, v] of Object.entries(doc)) expect([k, compareBson(back[k], v) || 0]).toEqual([k, 0]);
    expect(back.dollar).toEqual({ $oid: 'not an ObjectId' });
  });

  it('round-trips generated documents (property)', () => {
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => n as unknown),
      fc.double().map((n) => n as unknown),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => Long.fromBigInt(n) as unknown),
      fc.string().map((s) => s as unknown),
      fc.boolean().map((s) => s as unknown),
      fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => new ObjectId(Buffer.from(b)) as unknown),
      fc.date({ noInvalidDate: true }).map((d) => d as unknown),
    );
    const doc = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 4 }),
      fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })),
    );
    fc.assert(
      fc.property(doc, (d) => {
        expect(compareBson(valueToBson(bsonToValue(d)), d) || 0).toBe(0);
      }),
    );
  });
});

describe('plainDecimal', () => {
  it('writes Decimal128 text without exponents', () => {
    expect(plainDecimal('-1E-10')).toBe('-0.0000000001');
    expect(plainDecimal('1.50E+3')).toBe('1500');
    expect(plainDecimal('12345678901234567890.0123456789')).toBe('12345678901234567890.0123456789');
    expect(plainDecimal('1.2E+1')).toBe('12');
    expect(plainDecimal('1.23E-2')).toBe('0.0123');
    expect(plainDecimal('NaN')).toBe('NaN');
    expect(plainDecimal('-Infinity')).toBe('-Infinity');
    for (const text of ['0.001', '-123.4500', '1E+6143', '9.999999999999999999999999999999999E+6144']) {
      // The plain text is the same number (compared exactly, as the server compares decimals).
      const plain = plainDecimal(Decimal128.fromString(text).toString());
      expect(plain).not.toMatch(/E/i);
      expect(compareBson(Decimal128.fromString(plain), Decimal128.fromString(text)) || 0).toBe(0);
    }
  });
});
