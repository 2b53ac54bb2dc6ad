import fc from 'fast-check';
import { Binary, BSON, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { compareBson, exactText } from '../src/bson/bson-order.js';

const { BSONRegExp } = BSON;

/** One value of every type class, in the server's order (MongoDB manual, "Comparison/Sort Order"). */
const ASCENDING: unknown[] = [
  new MinKey(),
  null,
  Number.NaN,
  Number.NEGATIVE_INFINITY,
  -(2n ** 63n),
  -1.5,
  Decimal128.fromString('-1.4999999999999999999'),
  0,
  1,
  Decimal128.fromString('1.0000000000000000001'),
  2n ** 53n + 1n,
  Number.POSITIVE_INFINITY,
  '',
  'A',
  'a',
  'é',
  '😀',
  {},
  { a: 1 },
  { a: 1, b: 1 },
  // Field by field: the type class of the value first, then the name, then the value.
  { b: 0 },
  { a: 'x' },
  [],
  [1],
  [1, 2],
  new Binary(Buffer.from([9]), 0),
  new Binary(Buffer.from([0, 0]), 0),
  new Binary(Buffer.from([0, 0]), 5),
  new UUID('00000000-0000-0000-0000-000000000001'),
  ObjectId.createFromHexString('000000000000000000000000'),
  ObjectId.createFromHexString('ffffffffffffffffffffffff'),
  false,
  true,
  new Date(-1),
  new Date(0),
  new Timestamp({ t: 1, i: 2 }),
  new Timestamp({ t: 2, i: 0 }),
  new BSONRegExp('a', ''),
  new BSONRegExp('a', 'i'),
  new MaxKey(),
];

describe('compareBson', () => {
  it('orders one value of every type class as the server does', () => {
    for (let i = 0; i < ASCENDING.length; i++) {
      for (let j = 0; j < ASCENDING.length; j++) {
        const c = Math.sign(compareBson(ASCENDING[i], ASCENDING[j])) || 0;
        expect([i, j, c]).toEqual([i, j, Math.sign(i - j) || 0]);
      }
    }
  });

  it('compares numbers of every BSON type by exact value', () => {
    expect(compareBson(new Int32(5), 5n)).toBe(0);
    expect(compareBson(new Double(5), Long.fromNumber(5))).toBe(0);
    expect(compareBson(Decimal128.fromString('5.00'), 5)).toBe(0);
    expect(compareBson(-0, 0)).toBe(0);
    expect(compareBson(Number.NaN, Decimal128.fromString('NaN'))).toBe(0);
    // 2^53 + 1 is not a double: the bigint is above the double 2^53.
    expect(compareBson(2n ** 53n + 1n, 2 ** 53)).toBe(1);
    // 0.1 as a double is slightly above the decimal 0.1.
    expect(compareBson(0.1, Decimal128.fromString('0.1'))).toBe(1);
  });

  it('writes the exact decimal expansion of a double', () => {
    expect(exactText(0.5)).toBe('0.5');
    expect(exactText(-0.125)).toBe('-0.125');
    expect(exactText(0.1)).toBe('0.1000000000000000055511151231257827021181583404541015625');
  });

  it('is a total order on mixed values (property)', () => {
    const value = fc.oneof(
      fc.integer().map((n) => n as unknown),
      fc.double().map((n) => n as unknown),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => n as unknown),
      fc.string().map((s) => s as unknown),
      fc.boolean().map((b) => b as unknown),
      fc.uint8Array({ maxLength: 4 }).map((b) => new Binary(b, 0) as unknown),
      fc.constantFrom<unknown>(null, new MinKey(), new MaxKey()),
      fc.record({ a: fc.integer(), b: fc.string() }).map((d) => d as unknown),
    );
    fc.assert(
      fc.property(value, value, value, (a, b, c) => {
        expect(Math.sign(compareBson(a, b)) || 0).toBe(-Math.sign(compareBson(b, a)) || 0);
        expect(compareBson(a, a) || 0).toBe(0);
        if (compareBson(a, b) <= 0 && compareBson(b, c) <= 0) expect(compareBson(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('agrees with the numeric order of doubles and integers (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (d, n) => {
        const expected = d < Number(n) ? -1 : d > Number(n) ? 1 : Math.sign(Number(BigInt(Math.trunc(d)) - n));
        if (Number.isFinite(d) && Math.abs(d) < 2 ** 52) {
          // Within the exactly representable range the naive comparison is right.
          expect(Math.sign(compareBson(d, n))).toBe(Math.sign(d - Number(n)) || (Number.isInteger(d) ? 0 : expected));
        } else if (!Number.isFinite(d)) {
          expect(Math.sign(compareBson(d, n))).toBe(d > 0 ? 1 : -1);
        }
      }),
    );
  });
});
