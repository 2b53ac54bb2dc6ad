import { Decimal128, Double, Int32, Long, MongoServerError, ObjectId, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyDocument, anyCollection, openSimulator, type SimulatorSession } from './mongodb-helpers.js';

// The MongoDB simulator driven by the real `mongodb` driver: handshake, CRUD, cursors, DDL and split commands.
describe('MongoDB simulator through the mongodb driver', () => {
  let session: SimulatorSession;
  beforeAll(async () => {
    session = await openSimulator();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('answers hello as the primary of replica set rs0 and labels itself a simulator', async () => {
    const admin = session.client.db('admin');
    const hello = await admin.command({ hello: 1 });
    expect(hello).toMatchObject({ isWritablePrimary: true, setName: 'rs0', ok: 1 });
    expect(hello.hosts).toEqual([`127.0.0.1:${session.simulator.port}`]);
    expect(hello.operationTime._bsontype).toBe('Timestamp');
    expect(hello.highwaterSimulator).toMatch(/simulator/);
    expect((await admin.command({ buildInfo: 1 })).simulator).toMatch(/not a MongoDB server/);
    expect((await admin.command({ ping: 1 })).ok).toBe(1);
  });

  it('inserts and reads back every BSON type exactly', async () => {
    const coll = anyCollection(session, 'types', 'values');
    const doc = {
      _id: new ObjectId(),
      int: new Int32(7),
      long: Long.fromString('9007199254740993'),
      double: new Double(-0),
      nan: Number.NaN,
      decimal: Decimal128.fromString('1234567890.123456789012345678'),
      date: new Date('2024-02-29T12:00:00Z'),
      nested: { list: [1, 'two', { three: 3 }] },
    };
    await coll.insertOne(doc);
    const back = await coll.findOne({ _id: doc._id }, { promoteValues: false, promoteLongs: false });
    expect(back?.long.toString()).toBe('9007199254740993');
    expect(back?.long._bsontype).toBe('Long');
    expect(back?.int._bsontype).toBe('Int32');
    expect(Object.is(back?.double.valueOf(), -0)).toBe(true);
    expect(back?.decimal.toString()).toBe('1234567890.123456789012345678');
    expect(Object.keys(back ?? {})[0]).toBe('_id');
  });

  it('rejects a duplicate _id with E11000 and keeps going in an unordered batch', async () => {
    const coll = anyCollection(session, 'crud', 'dupes');
    await coll.insertOne({ _id: 1 });
    await expect(coll.insertOne({ _id: 1 })).rejects.toMatchObject({ code: 11000 });
    // 1 and 1.0 are the same key.
    await expect(coll.insertOne({ _id: new Double(1) })).rejects.toMatchObject({ code: 11000 });
    const result = await coll.insertMany([{ _id: 1 }, { _id: 2 }], { ordered: false }).catch((error) => error);
    expect(result.code).toBe(11000);
    expect(await coll.countDocuments()).toBe(2);
  });

  it('filters, sorts, skips, limits, projects and pages with getMore on Int64 cursor ids', async () => {
    const coll = anyCollection(session, 'crud', 'paging');
    await coll.insertMany(
      Array.from({ length: 250 }, (_, i) => ({ _id: i, even: i % 2 === 0, tag: `t${i % 5}`, n: i })),
    );
    const cursor = coll.find(
      { even: true, n: { $gte: 10, $lt: 200 } },
      { batchSize: 7, sort: { n: -1 }, projection: { n: 1 } },
    );
    const all = await cursor.toArray();
    expect(all).toHaveLength(95);
    expect(all[0]).toEqual({ _id: 198, n: 198 });
    expect(await coll.find({ _id: { $lt: 2 } }, { projection: { _id: 1 } }).toArray()).toEqual([
      { _id: 0 },
      { _id: 1 },
    ]);
    expect(await coll.find({ _id: 3 }, { projection: { _id: 0, tag: 1 } }).toArray()).toEqual([{ tag: 't3' }]);
    expect(await coll.find({ _id: 3 }, { projection: { tag: 0, even: 0 } }).toArray()).toEqual([{ _id: 3, n: 3 }]);
    expect(all.at(-1)).toEqual({ _id: 10, n: 10 });
    // t1 and t2 are _id 1, 2, 6, 7, 11, 12, 16, …: skip three, take four.
    expect(
      (
        await coll
          .find({ tag: { $in: ['t1', 't2'] } })
          .skip(3)
          .limit(4)
          .toArray()
      ).map((d) => d._id),
    ).toEqual([7, 11, 12, 16]);
    const raw = await session.client.db('crud').command({ find: 'paging', batchSize: 2 }, { promoteLongs: false });
    expect(raw.cursor.id._bsontype).toBe('Long');
    expect(raw.cursor.id.toBigInt()).toBeGreaterThan(2n ** 32n);
    const more = await session.client
      .db('crud')
      .command({ getMore: raw.cursor.id, collection: 'paging', batchSize: 3 });
    expect(more.cursor.nextBatch.map((d: { _id: number }) => d._id)).toEqual([2, 3, 4]);
    const killed = await session.client.db('crud').command({ killCursors: 'paging', cursors: [raw.cursor.id] });
    expect(killed.cursorsKilled).toHaveLength(1);
    await expect(
      session.client.db('crud').command({ getMore: raw.cursor.id, collection: 'paging' }),
    ).rejects.toMatchObject({ code: 43 });
    expect(await coll.countDocuments({ even: false })).toBe(125);
    expect(await coll.estimatedDocumentCount()).toBe(250);
    expect(await coll.distinct('tag')).toEqual(['t0', 't1', 't2', 't3', 't4']);
  });

  it('applies update operators on dotted paths, upserts, replaces and deletes', async () => {
    const coll = anyCollection(session, 'crud', 'updates');
    await coll.insertOne({ _id: 'a', count: new Int32(1), nested: { keep: true, drop: 1 }, list: [1] });
    const update: Document = {
      $inc: { count: 2 },
      $set: { 'nested.added': 'x' },
      $unset: { 'nested.drop': '' },
      $push: { list: { $each: [2, 3] } },
    };
    const result = await coll.updateOne({ _id: 'a' }, update);
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 'a' })).toEqual({
      _id: 'a',
      count: 3,
      nested: { keep: true, added: 'x' },
      list: [1, 2, 3],
    });
    expect((await coll.updateOne({ _id: 'a' }, { $set: { count: 3 } })).modifiedCount).toBe(0);
    const upsert = await coll.updateOne({ _id: 'b', kind: 'new' }, { $set: { v: 1 } }, { upsert: true });
    expect(upsert.upsertedId).toBe('b');
    expect(await coll.findOne({ _id: 'b' })).toEqual({ _id: 'b', kind: 'new', v: 1 });
    await coll.replaceOne({ _id: 'b' }, { only: true });
    expect(await coll.findOne({ _id: 'b' })).toEqual({ _id: 'b', only: true });
    const many = await coll.updateMany({}, { $set: { touched: true } });
    expect(many.modifiedCount).toBe(2);
    await expect(coll.updateOne({ _id: 'a' }, { $inc: { nested: 1 } })).rejects.toMatchObject({ code: 14 });
    const found = await coll.findOneAndUpdate({ _id: 'a' }, { $set: { count: 10 } }, { returnDocument: 'after' });
    expect(found?.count).toBe(10);
    const removed = await coll.findOneAndDelete({ _id: 'b' });
    expect(removed?.only).toBe(true);
    expect((await coll.deleteMany({})).deletedCount).toBe(1);
  });

  it('runs aggregate with $match, $sort, $group, $count and $bucketAuto', async () => {
    const coll = anyCollection(session, 'agg', 'nums');
    await coll.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, group: i % 2 })));
    expect(await coll.aggregate([{ $match: { group: 1 } }, { $count: 'n' }]).toArray()).toEqual([{ n: 10 }]);
    expect(
      await coll.aggregate([{ $group: { _id: '$group', total: { $sum: '$_id' } } }, { $sort: { _id: 1 } }]).toArray(),
    ).toEqual([
      { _id: 0, total: 90 },
      { _id: 1, total: 100 },
    ]);
    const buckets = await coll.aggregate([{ $bucketAuto: { groupBy: '$_id', buckets: 4 } }]).toArray();
    expect(buckets).toEqual([
      { _id: { min: 0, max: 5 }, count: 5 },
      { _id: { min: 5, max: 10 }, count: 5 },
      { _id: { min: 10, max: 15 }, count: 5 },
      { _id: { min: 15, max: 19 }, count: 5 },
    ]);
    await expect(coll.aggregate([{ $lookup: {} }]).toArray()).rejects.toThrow(
      /not implemented by the MongoDB simulator/,
    );
  });

  it('creates, lists, modifies, renames and drops collections and databases', async () => {
    const db = session.client.db('ddl');
    await db.createCollection('plain');
    await db.createCollection('images', { changeStreamPreAndPostImages: { enabled: true } });
    const validator = { $jsonSchema: { bsonType: 'object', properties: { n: { bsonType: 'int' } } } };
    await db.createCollection('typed', { validator, validationLevel: 'moderate' });
    expect((await db.listCollections({ name: 'typed' }, { nameOnly: false }).toArray())[0]?.options).toEqual({
      validator,
      validationLevel: 'moderate',
    });
    await db.command({ collMod: 'typed', validator: { $jsonSchema: { bsonType: 'object' } } });
    expect((await db.listCollections({ name: 'typed' }, { nameOnly: false }).toArray())[0]?.options).toEqual({
      validator: { $jsonSchema: { bsonType: 'object' } },
      validationLevel: 'moderate',
    });
    await db.collection('typed').drop();
    await expect(db.createCollection('plain')).rejects.toMatchObject({ code: 48 });
    const listed = await db.listCollections({}, { nameOnly: false }).toArray();
    expect(listed.map((c) => c.name).sort()).toEqual(['images', 'plain']);
    expect(listed.find((c) => c.name === 'images')?.options).toEqual({
      changeStreamPreAndPostImages: { enabled: true },
    });
    await db.command({ collMod: 'plain', changeStreamPreAndPostImages: { enabled: true } });
    expect((await db.listCollections({ name: 'plain' }, { nameOnly: false }).toArray())[0]?.options).toEqual({
      changeStreamPreAndPostImages: { enabled: true },
    });
    await db.collection<AnyDocument>('plain').insertOne({ _id: 1 });
    await db.renameCollection('plain', 'renamed');
    expect(await db.collection<AnyDocument>('renamed').findOne({})).toEqual({ _id: 1 });
    expect(await db.collection<AnyDocument>('plain').findOne({})).toBeNull();
    await db.collection<AnyDocument>('renamed').drop();
    expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(['images']);
    const names = (await session.client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
    expect(names).toContain('ddl');
    await db.dropDatabase();
    expect((await session.client.db('admin').admin().listDatabases()).databases.map((d) => d.name)).not.toContain(
      'ddl',
    );
    await expect(db.command({ collMod: 'nothing' })).rejects.toMatchObject({ code: 26 });
  });

  it('answers splitVector with _id split points about half a chunk apart', async () => {
    const coll = anyCollection(session, 'split', 'docs');
    await coll.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, pad: 'x'.repeat(100) })));
    const size = (await coll.aggregate([{ $collStats: { storageStats: {} } }]).toArray())[0]?.storageStats.avgObjSize;
    expect(size).toBeGreaterThan(100);
    const reply = await session.client
      .db('admin')
      .command({ splitVector: 'split.docs', keyPattern: { _id: 1 }, maxChunkSizeBytes: size * 20 });
    // keyCount 10 documents per half chunk: the server splits on the 11th key, then on every 11th after it.
    expect(reply.splitKeys).toEqual([10, 21, 32, 43, 54, 65, 76, 87, 98].map((_id) => ({ _id })));
  });

  it('reports $collStats sizes of the documents as they are now, after updates and deletes', async () => {
    // Sizes are remembered per stored document (stored-size.ts): a write must never leave a stale one.
    const coll = anyCollection(session, 'split', 'sizes');
    await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i, pad: 'x' })));
    const stats = async () => (await coll.aggregate([{ $collStats: { storageStats: {} } }]).toArray())[0]?.storageStats;
    const before = await stats();
    await coll.updateMany({}, { $set: { pad: 'x'.repeat(101) } });
    const grown = await stats();
    expect(grown.size).toBe(before.size + 10 * 100);
    await coll.deleteMany({ _id: { $gte: 5 } });
    expect((await stats()).size).toBe(grown.size / 2);
  });

  it('exposes the oplog as local.oplog.rs, oldest first with $natural', async () => {
    await anyCollection(session, 'oplog', 'c').insertOne({ _id: 'first' });
    const oldest = await session.client
      .db('local')
      .collection('oplog.rs')
      .find({})
      .sort({ $natural: 1 })
      .limit(1)
      .next();
    expect(oldest?.op).toBe('n');
    const latest = await session.client
      .db('local')
      .collection('oplog.rs')
      .find({})
      .sort({ $natural: -1 })
      .limit(1)
      .next();
    expect(latest).toMatchObject({ op: 'i', ns: 'oplog.c', o: { _id: 'first' } });
  });

  it('reads a collection as it was at a cluster time (readConcern snapshot with atClusterTime)', async () => {
    const db = session.client.db('snap');
    const coll = anyCollection(session, 'snap', 'c');
    await coll.insertMany([
      { _id: 1, v: 'a' },
      { _id: 2, v: 'b' },
    ]);
    const at = (await db.command({ ping: 1 })).operationTime;
    await coll.updateOne({ _id: 1 }, { $set: { v: 'changed' } });
    await coll.deleteOne({ _id: 2 });
    await coll.insertOne({ _id: 3, v: 'new' });
    const then = await db.command({ find: 'c', readConcern: { level: 'snapshot', atClusterTime: at } });
    expect(then.cursor.firstBatch).toEqual([
      { _id: 1, v: 'a' },
      { _id: 2, v: 'b' },
    ]);
    expect(then.cursor.atClusterTime.equals(at)).toBe(true);
    const snapshotSession = session.client.startSession({ snapshot: true });
    try {
      expect(await coll.find({}, { session: snapshotSession }).toArray()).toEqual([
        { _id: 1, v: 'changed' },
        { _id: 3, v: 'new' },
      ]);
      await coll.insertOne({ _id: 4 });
      // Later reads of a snapshot session stay at its first read's cluster time.
      expect(await coll.countDocuments({}, { session: snapshotSession })).toBe(2);
    } finally {
      await snapshotSession.endSession();
    }
    session.simulator.truncateOplogBefore();
    await expect(
      db.command({ find: 'c', readConcern: { level: 'snapshot', atClusterTime: at } }),
    ).rejects.toMatchObject({
      code: 239,
    });
  });

  it('keeps each batch within 16 MB, as the server does', async () => {
    const coll = anyCollection(session, 'crud', 'large');
    const big = 'x'.repeat(5 * 1024 * 1024);
    for (let i = 0; i < 4; i++) await coll.insertOne({ _id: i, big });
    const first = await session.client.db('crud').command({ find: 'large', batchSize: 100 });
    expect(first.cursor.firstBatch.map((d: { _id: number }) => d._id)).toEqual([0, 1, 2]);
    expect((await coll.find({}, { projection: { big: 0 } }).toArray()).map((d) => d._id)).toEqual([0, 1, 2, 3]);
    expect((await coll.find({}).toArray()).length).toBe(4);
    await coll.drop();
  });

  it('fails unknown commands with CommandNotFound (59)', async () => {
    const error = await session.client
      .db('admin')
      .command({ noSuchThing: 1 })
      .catch((e: MongoServerError) => e);
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(59);
  });
});
