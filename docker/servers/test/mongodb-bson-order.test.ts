import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareValues, typeRank } from '../src/mongodb/compare.js';
import { type AnyDocument, anyCollection, openSimulator, type SimulatorSession } from './mongodb-helpers.js';

// One value of each BSON type, in the order of the manual's "Comparison/Sort Order" page
// (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/).
const ascending: unknown[] = [
  new MinKey(),
  null,
  Number.NaN, // NaN sorts below every other number
  Number.NEGATIVE_INFINITY,
  Long.fromString('-9223372036854775808'),
  new Int32(-1),
  new Double(0.5),
  Decimal128.fromString('1.5'),
  Long.fromString('9007199254740993'), // above 2^53: exact as Int64, not as a double
  Long.fromString('9007199254740994'),
  Number.POSITIVE_INFINITY,
  '', // strings: simple binary (UTF-8 byte) order
  'B',
  'a',
  '\uffff',
  '\u{1F600}', // a code point above every BMP one, though its UTF-16 units are lower
  { a: 1 },
  { a: 1, b: 0 },
  { b: 0 },
  [1, 2],
  new Binary(Buffer.from([9]), 0), // shorter binData first, then subtype, then bytes
  new Binary(Buffer.from([1, 2]), 0),
  new Binary(Buffer.from([1, 2]), 4),
  new ObjectId('000000000000000000000001'),
  new ObjectId('ffffffffffffffffffffffff'),
  false,
  true,
  new Date(-1),
  new Date(0),
  new Timestamp({ t: 1, i: 2 }),
  new Timestamp({ t: 2, i: 1 }),
  new BSONRegExp('a', ''),
  new BSONRegExp('a', 'i'),
  new MaxKey(),
];

describe('BSON comparison order of the MongoDB simulator', () => {
  it('orders one value of each type as the manual lists them', () => {
    for (let i = 0; i + 1 < ascending.length; i++) {
      expect(
        compareValues(ascending[i], ascending[i + 1]),
        `${i}: ${String(ascending[i])} < ${String(ascending[i + 1])}`,
      ).toBe(-1);
      expect(compareValues(ascending[i + 1], ascending[i])).toBe(1);
    }
  });

  it('treats numbers of every width as equal when their values are', () => {
    expect(compareValues(new Int32(3), new Double(3))).toBe(0);
    expect(compareValues(Long.fromNumber(3), Decimal128.fromString('3'))).toBe(0);
    expect(compareValues(new Double(-0), 0)).toBe(0);
  });
});

describe('mixed-type _id ranges through the mongodb driver', () => {
  let session: SimulatorSession;
  // An array cannot be an _id, and the driver replaces a null _id with a new ObjectId; NaN is left out so every
  // remaining value has a distinct place.
  const ids = ascending.filter(
    (value) => value !== null && !(typeof value === 'number' && Number.isNaN(value)) && !Array.isArray(value),
  );
  beforeAll(async () => {
    session = await openSimulator();
    const shuffled = [...ids].reverse();
    await anyCollection(session, 'mixed', 'ids').insertMany(shuffled.map((_id, n) => ({ _id, n }) as AnyDocument));
  });
  afterAll(async () => {
    await session?.close();
  });

  const idsOf = (docs: { _id?: unknown }[]) => docs.map((doc) => doc._id);

  it('sorts _id in BSON order', async () => {
    const sorted = await anyCollection(session, 'mixed', 'ids')
      .find({}, { sort: { _id: 1 }, promoteValues: false, promoteLongs: false })
      .toArray();
    expect(sorted).toHaveLength(ids.length);
    expect(sorted.filter((doc, i) => compareValues(doc._id, ids[i]) !== 0)).toEqual([]);
    const descending = await anyCollection(session, 'mixed', 'ids')
      .find({}, { sort: { _id: -1 } })
      .toArray();
    expect(descending).toHaveLength(ids.length);
    expect(compareValues(descending[0]?._id, new MaxKey())).toBe(0);
  });

  it('brackets range predicates by type, except against MinKey and MaxKey', async () => {
    const coll = anyCollection(session, 'mixed', 'ids');
    // $gte a number matches numbers only, never the strings or dates that sort above them.
    const numbers = await coll.find({ _id: { $gte: 0 } }).toArray();
    expect(numbers.map((doc) => typeRank(doc._id))).toEqual([3, 3, 3, 3, 3]); // 0.5, 1.5, 2^53+1, 2^53+2, +Infinity
    expect(await coll.countDocuments({ _id: { $gte: new MinKey() } })).toBe(ids.length);
    expect(idsOf(await coll.find({ _id: { $gte: 'B', $lt: 'z' } }).toArray())).toEqual(['B', 'a']);
    // A number and a string bound bracket each other out.
    expect(await coll.find({ _id: { $gte: 0, $lt: 'z' } }).toArray()).toEqual([]);
    // A regex operand matches strings by pattern (and an equal regex), not by BSON order.
    expect(idsOf(await coll.find({ _id: /^a$/ }).toArray())).toEqual(['a']);
    expect(idsOf(await coll.find({ _id: new Double(0.5) }).toArray())).toEqual([0.5]);
    expect(await coll.countDocuments({ _id: { $lt: new MaxKey(), $gt: new MinKey() } })).toBe(ids.length - 2);
  });

  it('reads a chunk of mixed types between min and max index bounds with hint { _id: 1 }', async () => {
    const coll = anyCollection(session, 'mixed', 'ids');
    // From 'a' (inclusive) to ObjectId(…01) (exclusive): strings, objects, binData in between.
    const chunk = await coll
      .find({})
      .min({ _id: 'a' })
      .max({ _id: new ObjectId('000000000000000000000001') })
      .hint({ _id: 1 })
      .toArray();
    expect(
      idsOf(chunk).map((id) =>
        typeof id === 'object' && id !== null ? ((id as { _bsontype?: string })._bsontype ?? 'object') : typeof id,
      ),
    ).toEqual(['string', 'string', 'string', 'object', 'object', 'object', 'Binary', 'Binary', 'Binary']);
    await expect(coll.find({}).min({ _id: 1 }).toArray()).rejects.toThrow(/hint/);
  });
});
