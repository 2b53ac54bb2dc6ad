import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChangeEvent, createSource, type EventBatch, type Source } from '@highwater/core';
import { type MongoSimulator, startMongoSimulator } from '@highwater/test-servers';
import { Decimal128, MaxKey, MinKey, MongoClient, ObjectId } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MongoAdapterOptions, mongodbAdapter } from '../src/index.js';

/** Adapter tests through the real driver against the MongoDB simulator of @highwater/test-servers. */
let sim: MongoSimulator;
let client: MongoClient;
const open: Source[] = [];
const iterators = new WeakMap<Source, AsyncIterator<EventBatch>>();
const dirs: string[] = [];

beforeAll(async () => {
  sim = await startMongoSimulator({ preAndPostImages: true });
  client = new MongoClient(sim.url, { useBigInt64: true });
  await client.connect();
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

function source(collection: string, options: Partial<MongoAdapterOptions> = {}, chunkSize = 3): Source {
  const adapter = mongodbAdapter({ url: sim.url, databases: ['adapter_tests'], ...options });
  const s = createSource({ adapter, tables: { include: [`adapter_tests.${collection}`] }, chunkSize });
  open.push(s);
  return s;
}

/** Reads change events until `done` says enough, on one iterator per source (ending a for-await loop would close it). */
async function read(s: Source, done: (events: ChangeEvent[]) => boolean): Promise<ChangeEvent[]> {
  let it = iterators.get(s);
  if (it === undefined) {
    it = s[Symbol.asyncIterator]();
    iterators.set(s, it);
  }
  const events: ChangeEvent[] = [];
  for (;;) {
    const next = await it.next();
    if (next.done === true) return events;
    for (const e of next.value.events) if (e.kind === 'change') events.push(e);
    if (done(events)) return events;
  }
}

describe('mongodb adapter on the simulator', () => {
  it('snapshots mixed _id types in BSON order and streams their changes exactly', async () => {
    const coll = client.db('adapter_tests').collection('mixed');
    const ids = [new MaxKey(), 'b', 'a', 3, 2.5, -1n, new ObjectId(), { k: 1 }, null, new MinKey(), true, new Date(0)];
    await coll.insertMany(ids.map((_id, i) => ({ _id, i }) as never));
    const s = source('mixed', { changelog: 'preImages' }, 2);
    const reads = await read(s, (e) => e.filter((x) => x.op === 'r').length >= ids.length);
    expect(reads.map((e) => e.after?.document)).toHaveLength(ids.length);
    expect(new Set(reads.map((e) => (e.after as { document: { i: number } }).document.i)).size).toBe(ids.length);
    await coll.updateOne({ _id: 'a' } as never, { $set: { i: 100, d: Decimal128.fromString('0.10') } });
    const [update] = (await read(s, (e) => e.some((x) => x.op === 'u'))).filter((x) => x.op === 'u');
    expect(update?.before).toEqual({ _id: 'a', document: { i: 2 } });
    expect(update?.after).toEqual({ _id: 'a', document: { i: 100, d: { $numberDecimal: '0.10' } } });
  });

  it('delivers the events of a transaction in one batch, with one txId', async () => {
    const coll = client.db('adapter_tests').collection('txn');
    await coll.insertOne({ _id: 0 } as never);
    const s = source('txn', { changelog: 'upsert' });
    await read(s, (e) => e.length >= 1);
    const session = client.startSession();
    await session.withTransaction(async () => {
      for (let i = 1; i <= 5; i++) await coll.insertOne({ _id: i } as never, { session });
    });
    await session.endSession();
    // The first batch with an insert holds the whole transaction.
    let changes: ChangeEvent[] = [];
    await read(s, (e) => {
      changes = e;
      return e.length > 0;
    });
    expect(changes.map((e) => e.after?._id)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(changes.map((e) => e.source.txId)).size).toBe(1);
    expect(changes[0]?.source.txId).toMatch(/^[0-9a-f-]{36}:\d+$/);
  });

  it('resumes inside a transaction from the offset of one of its events (a crash in the middle of it)', async () => {
    const coll = client.db('adapter_tests').collection('midtxn');
    await coll.insertOne({ _id: 0 } as never);
    const first = source('midtxn', { changelog: 'preImages' });
    await read(first, (e) => e.length >= 1);
    const session = client.startSession();
    await session.withTransaction(async () => {
      for (let i = 1; i <= 4; i++) await coll.insertOne({ _id: i } as never, { session });
    });
    await session.endSession();
    const txn = await read(first, (e) => e.length >= 4);
    await first.close();
    // The consumer stored the second event of the transaction, then crashed.
    const adapter = mongodbAdapter({ url: sim.url, databases: ['adapter_tests'] });
    const resumed = createSource({
      adapter,
      tables: { include: ['adapter_tests.midtxn'] },
      startup: { mode: 'offset', offset: txn[1]?.source.offset ?? null },
    });
    open.push(resumed);
    const rest = await read(resumed, (e) => e.length >= 2);
    expect(rest.map((e) => e.after?._id)).toEqual([3, 4]);
    expect(rest.map((e) => e.source.offset)).toEqual(txn.slice(2).map((e) => e.source.offset));
  });

  it('changelog normalize: exact images from update descriptions, none asked of the server', async () => {
    const coll = client.db('adapter_tests').collection('norm');
    await coll.insertMany([
      { _id: 1, a: { b: 1 }, arr: [1, 2, 3] },
      { _id: 2, x: 'y' },
    ] as never);
    // Pre-images off: normalize must not need them.
    await client.db('adapter_tests').command({ collMod: 'norm', changeStreamPreAndPostImages: { enabled: false } });
    const dir = mkdtempSync(join(tmpdir(), 'hw-norm-'));
    dirs.push(dir);
    const s = source('norm', { changelog: 'normalize', normalizeStore: { directory: dir } });
    await read(s, (e) => e.length >= 2);
    await coll.updateOne(
      { _id: 1 } as never,
      { $set: { 'a.c': 2 }, $unset: { 'a.b': '' }, $push: { arr: 4 } } as never,
    );
    await coll.deleteOne({ _id: 2 } as never);
    const events = await read(s, (e) => e.length >= 2);
    expect(events[0]).toMatchObject({
      op: 'u',
      beforeImage: 'full',
      before: { _id: 1, document: { a: { b: 1 }, arr: [1, 2, 3] } },
      after: { _id: 1, document: { a: { c: 2 }, arr: [1, 2, 3, 4] } },
    });
    expect(events[1]).toMatchObject({ op: 'd', before: { _id: 2, document: { x: 'y' } }, after: null });
  });

  it('says to run collMod when pre-images are required but not recorded', async () => {
    const coll = client.db('adapter_tests').collection('noimages');
    await coll.insertOne({ _id: 1, v: 1 } as never);
    await client.db('adapter_tests').command({ collMod: 'noimages', changeStreamPreAndPostImages: { enabled: false } });
    const s = source('noimages', { changelog: 'preImages' });
    await read(s, (e) => e.length >= 1);
    await coll.updateOne({ _id: 1 } as never, { $set: { v: 2 } });
    const failure = await read(s, () => false).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 'HW_DATABASE_SETUP' });
    expect(String((failure as Error).message)).toContain(
      "collMod: 'noimages', changeStreamPreAndPostImages: { enabled: true }",
    );
  });

  it('refuses a standalone server, saying how to make it a replica set', async () => {
    const standalone = await startMongoSimulator({ standalone: true });
    try {
      const adapter = mongodbAdapter({ url: standalone.url, databases: ['x'] });
      const c = new MongoClient(standalone.url);
      await c
        .db('x')
        .collection('t')
        .insertOne({ _id: 1 } as never);
      await c.close();
      const s = createSource({ adapter, tables: { include: ['x.t'] }, startup: { mode: 'latest' } });
      const failure = await s[Symbol.asyncIterator]()
        .next()
        .then(
          () => null,
          (error: unknown) => error,
        );
      await s.close();
      expect(failure).toMatchObject({ code: 'HW_DATABASE_SETUP' });
      expect(String((failure as Error).message)).toContain('rs.initiate()');
    } finally {
      await standalone.close();
    }
  });

  it('refuses a user without the changeStream privilege with a PermissionError naming it', async () => {
    const coll = client.db('adapter_tests').collection('denied');
    await coll.insertOne({ _id: 1 } as never);
    sim.denyActions(['changeStream']);
    try {
      const s = source('denied', { changelog: 'upsert' });
      const failure = await read(s, () => false).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 'HW_PERMISSION_DENIED' });
      expect(String((failure as Error).message)).toContain('changeStream');
    } finally {
      sim.denyActions([]);
    }
  });

  it('reports an unreachable host as a network failure', async () => {
    const adapter = mongodbAdapter({
      url: 'mongodb://127.0.0.1:1/',
      databases: ['x'],
      clientOptions: { serverSelectionTimeoutMS: 500 },
    });
    await expect(adapter.createIntrospector()).rejects.toMatchObject({ code: 'HW_CONNECTION_LOST' });
  });
});
