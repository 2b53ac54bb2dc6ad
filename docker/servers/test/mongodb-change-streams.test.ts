import type { ChangeStream, ChangeStreamDocument, Document, ResumeToken, Timestamp } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnyDocument, anyCollection, openSimulator, type SimulatorSession } from './mongodb-helpers.js';

type Event = ChangeStreamDocument<AnyDocument> & Document;

/** The next `n` events of a stream (the driver's getMore waits on the server for each). */
async function take(stream: ChangeStream<AnyDocument>, n: number): Promise<Event[]> {
  const out: Event[] = [];
  while (out.length < n) out.push((await stream.next()) as Event);
  return out;
}

// Change streams of the MongoDB simulator through the real driver: event layout, resume, images, DDL, faults.
describe('MongoDB simulator change streams', () => {
  let session: SimulatorSession;
  const streams: ChangeStream<AnyDocument>[] = [];
  const watch = (stream: ChangeStream<AnyDocument>) => {
    streams.push(stream);
    return stream;
  };
  beforeEach(async () => {
    session = await openSimulator();
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) await stream.close().catch(() => undefined);
    await session?.close();
  });

  it('reports insert, update, replace and delete with the server event layout', async () => {
    const coll = anyCollection(session, 'shop', 'orders');
    const stream = watch(coll.watch());
    await stream.tryNext(); // opens the cursor now, so the writes below come after its start
    await coll.insertOne({ _id: 1, items: [1, 2, 3], state: 'new', note: 'x' });
    await coll.updateOne({ _id: 1 }, { $set: { state: 'paid', 'meta.by': 'bob' }, $unset: { note: '' } });
    await coll.updateOne({ _id: 1 }, [{ $set: { items: { $slice: ['$items', 1] } } }]);
    await coll.replaceOne({ _id: 1 }, { state: 'replaced' });
    await coll.deleteOne({ _id: 1 });
    const [insert, update, pipelineUpdate, replace, remove] = await take(stream, 5);
    expect(insert).toMatchObject({
      operationType: 'insert',
      ns: { db: 'shop', coll: 'orders' },
      documentKey: { _id: 1 },
      fullDocument: { _id: 1, items: [1, 2, 3], state: 'new', note: 'x' },
    });
    expect(insert?.clusterTime?._bsontype).toBe('Timestamp');
    expect(insert?.wallTime).toBeInstanceOf(Date);
    expect(Object.keys(insert?._id as object)).toEqual(['_data']);
    expect(update).toMatchObject({
      operationType: 'update',
      updateDescription: {
        updatedFields: { state: 'paid', 'meta.by': 'bob' },
        removedFields: ['note'],
        truncatedArrays: [],
      },
    });
    expect(update?.fullDocument).toBeUndefined();
    expect(pipelineUpdate?.updateDescription).toEqual({
      updatedFields: {},
      removedFields: [],
      truncatedArrays: [{ field: 'items', newSize: 1 }],
    });
    expect(replace).toMatchObject({ operationType: 'replace', fullDocument: { _id: 1, state: 'replaced' } });
    expect(remove).toMatchObject({ operationType: 'delete', documentKey: { _id: 1 } });
    expect(remove?.fullDocumentBeforeChange).toBeUndefined();
    // Tokens order as strings in stream order.
    // Like the server's, a token starts with 0x82 and the cluster time (8 bytes, big-endian).
    const data = ((insert as Event)._id as { _data: string })._data;
    const ts = insert?.clusterTime as Timestamp;
    expect(data.slice(0, 18)).toBe(
      `82${ts.t.toString(16).padStart(8, '0')}${ts.i.toString(16).padStart(8, '0')}`.toUpperCase(),
    );
    const tokens = [insert, update, pipelineUpdate, replace, remove].map(
      (e) => ((e as Event)._id as { _data: string })._data,
    );
    expect([...tokens].sort()).toEqual(tokens);
  });

  it('resumes after a token, starts after an invalidate, and starts at an operation time', async () => {
    const coll = anyCollection(session, 'shop', 'resume');
    const first = watch(coll.watch());
    await first.tryNext();
    const write = await coll.insertOne({ _id: 'a' });
    expect(write.acknowledged).toBe(true);
    await coll.insertOne({ _id: 'b' });
    await coll.insertOne({ _id: 'c' });
    const [a] = await take(first, 1);
    const afterA = watch(coll.watch([], { resumeAfter: a?._id as ResumeToken }));
    expect((await take(afterA, 2)).map((e) => e.documentKey?._id)).toEqual(['b', 'c']);
    const atA = watch(coll.watch([], { startAtOperationTime: a?.clusterTime as Timestamp }));
    expect((await take(atA, 3)).map((e) => e.documentKey?._id)).toEqual(['a', 'b', 'c']);

    await coll.drop();
    const [, , drop, invalidate] = await take(first, 4);
    expect(drop).toMatchObject({ operationType: 'drop', ns: { db: 'shop', coll: 'resume' } });
    expect(invalidate?.operationType).toBe('invalidate');
    expect(first.closed).toBe(true);
    await expect(coll.watch([], { resumeAfter: invalidate?._id as ResumeToken }).tryNext()).rejects.toMatchObject({
      code: 260,
    });
    const startAfter = watch(coll.watch([], { startAfter: invalidate?._id as ResumeToken }));
    await coll.insertOne({ _id: 'after-drop' });
    expect((await take(startAfter, 1))[0]?.documentKey).toEqual({ _id: 'after-drop' });
  });

  it('moves the post-batch resume token forward on a quiet stream', async () => {
    const quiet = anyCollection(session, 'app', 'quiet');
    const busy = anyCollection(session, 'app', 'busy');
    const stream = watch(quiet.watch());
    await stream.tryNext();
    const before = (stream.resumeToken as { _data: string })._data;
    await busy.insertOne({ _id: 1 });
    expect(await stream.tryNext()).toBeNull();
    const after = (stream.resumeToken as { _data: string })._data;
    expect(after > before).toBe(true);
    // Resuming from the quiet stream's token sees the next write to its collection, and nothing before.
    await quiet.insertOne({ _id: 'late' });
    const resumed = watch(quiet.watch([], { resumeAfter: stream.resumeToken as ResumeToken }));
    expect((await take(resumed, 1))[0]?.documentKey).toEqual({ _id: 'late' });
  });

  it('returns pre- and post-images when the collection records them, and fails when required but absent', async () => {
    const db = session.client.db('img');
    await db.createCollection('on', { changeStreamPreAndPostImages: { enabled: true } });
    await db.createCollection('off');
    const on = anyCollection(session, 'img', 'on');
    const off = anyCollection(session, 'img', 'off');
    const required = watch(on.watch([], { fullDocument: 'required', fullDocumentBeforeChange: 'required' }));
    const whenAvailable = watch(
      off.watch([], { fullDocument: 'whenAvailable', fullDocumentBeforeChange: 'whenAvailable' }),
    );
    const lookup = watch(on.watch([], { fullDocument: 'updateLookup' }));
    await Promise.all([required.tryNext(), whenAvailable.tryNext(), lookup.tryNext()]);
    await on.insertOne({ _id: 1, v: 1 });
    await on.updateOne({ _id: 1 }, { $set: { v: 2 } });
    await on.updateOne({ _id: 1 }, { $set: { v: 3 } });
    await on.deleteOne({ _id: 1 });
    const [, firstUpdate, secondUpdate, deleted] = await take(required, 4);
    expect(firstUpdate).toMatchObject({ fullDocumentBeforeChange: { _id: 1, v: 1 }, fullDocument: { _id: 1, v: 2 } });
    expect(secondUpdate).toMatchObject({ fullDocumentBeforeChange: { _id: 1, v: 2 }, fullDocument: { _id: 1, v: 3 } });
    expect(deleted).toMatchObject({ operationType: 'delete', fullDocumentBeforeChange: { _id: 1, v: 3 } });
    // updateLookup reads the document as it is now: deleted, so null — not the image after that update.
    const [, lookedUp] = await take(lookup, 2);
    expect(lookedUp?.fullDocument).toBeNull();

    await off.insertOne({ _id: 1, v: 1 });
    await off.updateOne({ _id: 1 }, { $set: { v: 2 } });
    const [, missing] = await take(whenAvailable, 2);
    expect(missing).toMatchObject({ fullDocument: null, fullDocumentBeforeChange: null });
    const strict = off.watch([], {
      fullDocumentBeforeChange: 'required',
      startAtOperationTime: missing?.clusterTime as Timestamp,
    });
    await expect(strict.next()).rejects.toMatchObject({ code: 51770, message: expect.stringMatching(/collMod/) });
    await strict.close();
    const strictAfter = off.watch([], {
      fullDocument: 'required',
      startAtOperationTime: missing?.clusterTime as Timestamp,
    });
    await expect(strictAfter.next()).rejects.toMatchObject({ code: 47, message: expect.stringMatching(/post-image/) });
    await strictAfter.close();
    // A $match that reads no image field runs before the image lookup (the server's pre-image stage declares
    // canSwapWithMatch): a database stream keeping only 'on' is not failed by the update of 'off'.
    const filtered = db.watch([{ $match: { 'ns.coll': 'on' } }], {
      fullDocument: 'required',
      fullDocumentBeforeChange: 'required',
      startAtOperationTime: missing?.clusterTime as Timestamp,
    });
    await on.insertOne({ _id: 2 });
    expect(await filtered.next()).toMatchObject({ operationType: 'insert', documentKey: { _id: 2 } });
    await filtered.close();
  });

  it('watches a database and the cluster with $match on namespaces, and reports DDL events', async () => {
    const dbStream = watch(session.client.db('multi').watch([{ $match: { 'ns.coll': { $in: ['a', 'b'] } } }]));
    const cluster = watch(session.client.watch([], { showExpandedEvents: true }));
    await Promise.all([dbStream.tryNext(), cluster.tryNext()]);
    await anyCollection(session, 'multi', 'a').insertOne({ _id: 1 });
    await anyCollection(session, 'multi', 'skipped').insertOne({ _id: 2 });
    await anyCollection(session, 'multi', 'b').insertOne({ _id: 3 });
    await session.client.db('multi').command({ collMod: 'b', changeStreamPreAndPostImages: { enabled: true } });
    await session.client.db('admin').command({ renameCollection: 'multi.a', to: 'multi.c' });
    await session.client.db('multi').dropDatabase();
    const dbEvents = await take(dbStream, 4);
    expect(dbEvents.map((e) => [e.operationType, e.documentKey?._id])).toEqual([
      ['insert', 1],
      ['insert', 3],
      ['rename', undefined],
      ['drop', undefined],
    ]);
    expect(dbEvents[2]).toMatchObject({ ns: { db: 'multi', coll: 'a' }, to: { db: 'multi', coll: 'c' } });
    const clusterEvents = await take(cluster, 12);
    expect(
      clusterEvents.map((e) => `${e.operationType}:${(e.ns as { coll?: string } | undefined)?.coll ?? ''}`),
    ).toEqual([
      'create:a',
      'insert:a',
      'create:skipped',
      'insert:skipped',
      'create:b',
      'insert:b',
      'modify:b',
      'rename:a',
      // dropDatabase drops each collection (in catalog order: the renamed one last), then the database.
      'drop:skipped',
      'drop:b',
      'drop:c',
      'dropDatabase:',
    ]);
    expect(clusterEvents[0]?.collectionUUID?._bsontype).toBe('Binary');
  });

  it('ends a database stream with invalidate after dropDatabase', async () => {
    const stream = watch(session.client.db('gone').watch());
    await stream.tryNext();
    await anyCollection(session, 'gone', 'x').insertOne({ _id: 1 });
    await session.client.db('gone').dropDatabase();
    const events = await take(stream, 4);
    expect(events.map((e) => e.operationType)).toEqual(['insert', 'drop', 'dropDatabase', 'invalidate']);
  });

  it('delivers a transaction at commit, all events under one cluster time with lsid and txnNumber', async () => {
    const coll = anyCollection(session, 'bank', 'accounts');
    await coll.insertMany([
      { _id: 'alice', balance: 100 },
      { _id: 'bob', balance: 0 },
    ]);
    const stream = watch(coll.watch());
    await stream.tryNext();
    const txnSession = session.client.startSession();
    try {
      txnSession.startTransaction();
      await coll.updateOne({ _id: 'alice' }, { $inc: { balance: -40 } }, { session: txnSession });
      await coll.updateOne({ _id: 'bob' }, { $inc: { balance: 40 } }, { session: txnSession });
      // Inside the transaction its own writes are visible; outside, nothing yet.
      expect((await coll.findOne({ _id: 'bob' }, { session: txnSession }))?.balance).toBe(40);
      expect((await coll.findOne({ _id: 'bob' }))?.balance).toBe(0);
      expect(await stream.tryNext()).toBeNull();
      await txnSession.commitTransaction();

      txnSession.startTransaction();
      await coll.insertOne({ _id: 'carol', balance: 1 }, { session: txnSession });
      await txnSession.abortTransaction();
    } finally {
      await txnSession.endSession();
    }
    await coll.insertOne({ _id: 'dave' });
    const [debit, credit, after] = await take(stream, 3);
    expect(debit?.clusterTime?.equals(credit?.clusterTime as Timestamp)).toBe(true);
    expect(debit?.lsid?.id).toBeDefined();
    expect(debit?.txnNumber).toBeDefined();
    expect(credit?.lsid?.id?.toString('hex')).toBe(debit?.lsid?.id?.toString('hex'));
    expect(after?.documentKey).toEqual({ _id: 'dave' }); // the aborted insert never appears
    expect(await coll.findOne({ _id: 'carol' })).toBeNull();
  });

  it('fails with ChangeStreamHistoryLost (286) when the resume point left the oplog', async () => {
    const coll = anyCollection(session, 'lost', 'c');
    const stream = watch(coll.watch());
    await stream.tryNext();
    await coll.insertOne({ _id: 1 });
    const [event] = await take(stream, 1);
    await coll.insertOne({ _id: 2 });
    session.simulator.truncateOplogBefore();
    const resumed = coll.watch([], { resumeAfter: event?._id as ResumeToken });
    await expect(resumed.next()).rejects.toMatchObject({ code: 286, codeName: 'ChangeStreamHistoryLost' });
    await resumed.close();
    const early = coll.watch([], { startAtOperationTime: event?.clusterTime as Timestamp });
    await expect(early.next()).rejects.toMatchObject({ code: 286 });
    await early.close();
  });

  it('survives dropped connections: the driver resumes from its token without losing or repeating events', async () => {
    const coll = anyCollection(session, 'net', 'c');
    const stream = watch(coll.watch());
    await stream.tryNext();
    await coll.insertOne({ _id: 1 });
    expect((await take(stream, 1))[0]?.documentKey).toEqual({ _id: 1 });
    session.simulator.dropConnections();
    await coll.insertOne({ _id: 2 }).catch(() => coll.insertOne({ _id: 2 }));
    await coll.insertOne({ _id: 3 });
    expect((await take(stream, 2)).map((e) => e.documentKey?._id)).toEqual([2, 3]);
  });

  it('holds change events back for the injected change-stream lag, in log order', async () => {
    const coll = anyCollection(session, 'lag', 'c');
    const stream = watch(coll.watch([], { maxAwaitTimeMS: 50 }));
    await stream.tryNext();
    session.simulator.setChangeStreamLagMs(60_000);
    await coll.insertOne({ _id: 'hidden' });
    expect(await stream.tryNext()).toBeNull();
    session.simulator.setChangeStreamLagMs(0);
    await coll.insertOne({ _id: 'visible' });
    // Entries stay in order: the second cannot overtake the first, which is still hidden.
    expect(await stream.tryNext()).toBeNull();
  });

  it('holds commits behind the majority commit point under a visibility-lag fault', async () => {
    const coll = anyCollection(session, 'vis', 'c');
    await coll.insertOne({ _id: 1, v: 'old' });
    const stream = watch(coll.watch([], { maxAwaitTimeMS: 50 }));
    await stream.tryNext();
    const majorityTime = async () => {
      const reply = await session.client
        .db('vis')
        .command({ find: 'c', filter: {}, readConcern: { level: 'majority' } });
      return reply.operationTime as Timestamp;
    };
    const before = await majorityTime();
    session.simulator.setVisibilityLag({ holdCommits: true });
    await coll.updateOne({ _id: 1 }, { $set: { v: 'new' } });
    await coll.insertOne({ _id: 2 });
    expect(session.simulator.heldCommits).toBe(2);
    // Neither the change stream nor reads have them; $clusterTime moved on, a majority read's operationTime did not.
    expect(await stream.tryNext()).toBeNull();
    expect(await coll.find().toArray()).toEqual([{ _id: 1, v: 'old' }]);
    expect((await majorityTime()).equals(before)).toBe(true);
    expect(session.simulator.clusterTime().greaterThan(before)).toBe(true);
    // Writes apply to the latest state: a second insert of _id 2 is still a duplicate.
    await expect(coll.insertOne({ _id: 2 })).rejects.toMatchObject({ code: 11000 });
    session.simulator.setVisibilityLag(null);
    session.simulator.releaseHeldCommits();
    expect(session.simulator.heldCommits).toBe(0);
    expect((await take(stream, 2)).map((e) => e.operationType)).toEqual(['update', 'insert']);
    expect(await coll.find().toArray()).toEqual([{ _id: 1, v: 'new' }, { _id: 2 }]);
    expect((await majorityTime()).greaterThan(before)).toBe(true);
  });

  it('fails with Unauthorized (13) for a denied changeStream privilege', async () => {
    session.simulator.denyActions(['changeStream']);
    const stream = anyCollection(session, 'auth', 'c').watch();
    await expect(stream.next()).rejects.toMatchObject({ code: 13, message: expect.stringMatching(/changeStream/) });
    await stream.close();
    session.simulator.denyActions([]);
    await expect(anyCollection(session, 'auth', 'c').find().toArray()).resolves.toEqual([]);
  });

  it('splits an event over 16 MB with $changeStreamSplitLargeEvent, resumable per fragment', async () => {
    await session.client.db('big').createCollection('docs', { changeStreamPreAndPostImages: { enabled: true } });
    const coll = anyCollection(session, 'big', 'docs');
    const stream = watch(
      coll.watch([{ $changeStreamSplitLargeEvent: {} }], {
        fullDocument: 'required',
        fullDocumentBeforeChange: 'required',
      }),
    );
    await stream.tryNext();
    const big = 'x'.repeat(9 * 1024 * 1024);
    await coll.insertOne({ _id: 1, a: big });
    await coll.updateOne({ _id: 1 }, { $set: { b: 'y' } });
    const [, first, second] = await take(stream, 3);
    expect(first?.splitEvent).toEqual({ fragment: 1, of: 2 });
    expect(second?.splitEvent).toEqual({ fragment: 2, of: 2 });
    expect(first?.fullDocument ?? second?.fullDocument).toBeDefined();
    const resumed = watch(
      coll.watch([{ $changeStreamSplitLargeEvent: {} }], {
        resumeAfter: first?._id as ResumeToken,
        fullDocument: 'required',
        fullDocumentBeforeChange: 'required',
      }),
    );
    expect((await take(resumed, 1))[0]?.splitEvent).toEqual({ fragment: 2, of: 2 });
    const unsplit = coll.watch([], {
      fullDocument: 'required',
      fullDocumentBeforeChange: 'required',
      startAtOperationTime: first?.clusterTime as Timestamp,
    });
    await expect(unsplit.next()).rejects.toThrow(/16 MB/);
    await unsplit.close();
  });
});

describe('MongoDB simulator posing as a standalone server', () => {
  it('refuses change streams with code 40573', async () => {
    const session = await openSimulator({ standalone: true });
    try {
      const hello = await session.client.db('admin').command({ hello: 1 });
      expect(hello.setName).toBeUndefined();
      await expect(session.client.db('admin').command({ replSetGetStatus: 1 })).rejects.toMatchObject({ code: 76 });
      const stream = anyCollection(session, 'x', 'y').watch();
      await expect(stream.next()).rejects.toMatchObject({
        code: 40573,
        message: expect.stringMatching(/replica sets/),
      });
      await stream.close();
    } finally {
      await session.close();
    }
  });
});
