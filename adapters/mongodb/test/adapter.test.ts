import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChangeEvent, createSource, type EventBatch, JsonText, type Source } from '@highwater/core';
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

/** What a source of one collection (`startup: latest`) fails with on its first read; null when it does not. */
async function startFailure(adapter: ReturnType<typeof mongodbAdapter>, table: string): Promise<unknown> {
  const s = createSource({ adapter, tables: { include: [table] }, startup: { mode: 'latest' } });
  try {
    return await s[Symbol.asyncIterator]()
      .next()
      .then(
        () => null,
        (error: unknown) => error,
      );
  } finally {
    await s.close();
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
    expect(
      new Set(reads.map((e) => ((e.after as { document: JsonText }).document.parse() as { i: number }).i)).size,
    ).toBe(ids.length);
    await coll.updateOne({ _id: 'a' } as never, { $set: { i: 100, d: Decimal128.fromString('0.10') } });
    const [update] = (await read(s, (e) => e.some((x) => x.op === 'u'))).filter((x) => x.op === 'u');
    expect(update?.before).toEqual({ _id: 'a', document: new JsonText('{"i":2}') });
    expect(update?.after).toEqual({ _id: 'a', document: new JsonText('{"i":100,"d":{"$numberDecimal":"0.10"}}') });
  });

  it('passes each high watermark on the heartbeat event when the heartbeat collection is in the stream', async () => {
    // A getMore on a quiet stream returns when a matching event arrives or maxAwaitTimeMS passes. With the heartbeat
    // collection in the captured database the stream matches it, so a chunk's high-watermark marker ends the wait:
    // with a wait of a minute, 4 chunks (each waiting for the stream to pass its high watermark) finish long before
    // this test's timeout. Not capturing the heartbeat collection itself (a pattern matches it).
    const coll = client.db('adapter_tests').collection('hb_scope');
    await coll.insertMany(Array.from({ length: 12 }, (_, i) => ({ _id: i })) as never);
    const adapter = mongodbAdapter({
      url: sim.url,
      databases: ['adapter_tests'],
      maxAwaitTimeMs: 60_000,
      heartbeat: { database: 'adapter_tests', collection: 'hb_marker' },
    });
    const s = createSource({ adapter, tables: { include: ['adapter_tests.hb_*'] }, chunkSize: 3 });
    open.push(s);
    const reads = await read(s, (e) => e.length >= 12);
    expect(reads.map((e) => e.source.table)).toEqual(Array(12).fill('adapter_tests.hb_scope'));
    await client
      .db('adapter_tests')
      .collection('hb_marker')
      .updateOne(
        { _id: 'x' } as never,
        { $set: { n: 1 } },
        {
          upsert: true,
        },
      );
    await coll.insertOne({ _id: 12 } as never);
    const [insert] = (await read(s, (e) => e.some((x) => x.op === 'c'))).filter((x) => x.op === 'c');
    expect(insert?.source.table).toBe('adapter_tests.hb_scope');
  }, 30_000);

  it('leaves a heartbeat collection without images out of a preImages stream (its updates would fail it)', async () => {
    // Under fullDocumentBeforeChange 'required' an update event of a collection that records no pre-images fails the
    // stream: such a heartbeat is not matched, and high watermarks are passed when a getMore's wait ends.
    await client
      .db('adapter_tests')
      .createCollection('hbplain_marker', { changeStreamPreAndPostImages: { enabled: false } });
    const coll = client.db('adapter_tests').collection('hbplain');
    await coll.insertMany(Array.from({ length: 6 }, (_, i) => ({ _id: i })) as never);
    const adapter = mongodbAdapter({
      url: sim.url,
      databases: ['adapter_tests'],
      changelog: 'preImages',
      maxAwaitTimeMs: 50,
      heartbeat: { database: 'adapter_tests', collection: 'hbplain_marker' },
    });
    const s = createSource({ adapter, tables: { include: ['adapter_tests.hbplain'] }, chunkSize: 3 });
    open.push(s);
    expect(await read(s, (e) => e.length >= 6)).toHaveLength(6);
    await coll.updateOne({ _id: 1 } as never, { $set: { n: 1 } });
    const [update] = (await read(s, (e) => e.some((x) => x.op === 'u'))).filter((x) => x.op === 'u');
    expect(update?.source.table).toBe('adapter_tests.hbplain');
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
      before: { _id: 1, document: new JsonText('{"a":{"b":1},"arr":[1,2,3]}') },
      after: { _id: 1, document: new JsonText('{"a":{"c":2},"arr":[1,2,3,4]}') },
    });
    expect(events[1]).toMatchObject({ op: 'd', before: { _id: 2, document: new JsonText('{"x":"y"}') }, after: null });
  });

  it('changelog normalize: Int64 _ids are found after seeding, and a restart catches up past filtered-out writes', async () => {
    const db = client.db('adapter_tests');
    const coll = db.collection('norm64');
    // Int64 ids (the client writes bigints as Int64): the seeding read must key them as the events do.
    await coll.insertMany([
      { _id: 5n, v: 1 },
      { _id: 2n ** 40n, v: 2 },
      { _id: 2.5, v: 3 },
    ] as never);
    const dir = mkdtempSync(join(tmpdir(), 'hw-norm64-'));
    dirs.push(dir);
    const first = source('norm64', { changelog: 'normalize', normalizeStore: { directory: dir } });
    expect(await read(first, (e) => e.length >= 3)).toHaveLength(3);
    await first.close();
    // Only writes the stream filters out between the store's position and the next start.
    for (let i = 0; i < 3; i++) await db.collection('elsewhere').insertOne({ i } as never);
    const second = source('norm64', { changelog: 'normalize', normalizeStore: { directory: dir } });
    await read(second, (e) => e.length >= 3);
    await coll.updateOne({ _id: 5n } as never, { $inc: { v: 10 } });
    await coll.updateOne({ _id: 2n ** 40n } as never, { $set: { w: true } });
    const events = await read(second, (e) => e.length >= 2);
    expect(events.map((e) => [e.op, e.beforeImage, e.before, e.after])).toEqual([
      ['u', 'full', { _id: 5, document: new JsonText('{"v":1}') }, { _id: 5, document: new JsonText('{"v":11}') }],
      [
        'u',
        'full',
        { _id: 2 ** 40, document: new JsonText('{"v":2}') },
        { _id: 2 ** 40, document: new JsonText('{"v":2,"w":true}') },
      ],
    ]);
  });

  it('joins an event over 16 MB from its $changeStreamSplitLargeEvent fragments, and resumes after it', async () => {
    const db = client.db('adapter_tests');
    await db.createCollection('big', { changeStreamPreAndPostImages: { enabled: true } });
    const coll = db.collection('big');
    // 9 MB before and 9 MB after: the update event is about 18 MB, over the 16 MB limit of one event.
    const large = 'x'.repeat(9 * 1024 * 1024);
    await coll.insertOne({ _id: 1, a: large } as never);
    const s = source('big', { changelog: 'preImages' });
    await read(s, (e) => e.length >= 1);
    await coll.updateOne({ _id: 1 } as never, { $set: { b: 'y' } });
    await coll.insertOne({ _id: 2 } as never);
    const events = await read(s, (e) => e.length >= 2);
    expect(events.map((e) => e.op)).toEqual(['u', 'c']);
    const update = events[0] as ChangeEvent;
    expect(update.beforeImage).toBe('full');
    expect(((update.before as { document: JsonText }).document.parse() as { a: string }).a).toHaveLength(large.length);
    expect(((update.after as { document: JsonText }).document.parse() as { b: string }).b).toBe('y');
    // The update's offset (its last fragment's token) resumes after the whole event.
    const resumed = createSource({
      adapter: mongodbAdapter({ url: sim.url, databases: ['adapter_tests'], changelog: 'preImages' }),
      tables: { include: ['adapter_tests.big'] },
      startup: { mode: 'offset', offset: update.source.offset },
    });
    open.push(resumed);
    const after = await read(resumed, (e) => e.length >= 1);
    expect(after.map((e) => [e.op, e.after?._id])).toEqual([['c', 2]]);
  });

  it('splits the snapshot at the server split points (splitVector) when allowed, and pages by _id when refused', async () => {
    const coll = client.db('adapter_tests').collection('splits');
    // String ids: the core walks boundaries (no even integer split), so every boundary is asked for.
    await coll.insertMany(
      Array.from({ length: 60 }, (_, i) => ({ _id: `k${String(i).padStart(3, '0')}`, i })) as never,
    );
    const snapshotIds = async (options: Partial<MongoAdapterOptions>) => {
      const s = createSource({
        adapter: mongodbAdapter({ url: sim.url, databases: ['adapter_tests'], ...options }),
        tables: { include: ['adapter_tests.splits'] },
        startup: { mode: 'snapshot' },
        chunkSize: 10,
      });
      open.push(s);
      const ids: unknown[] = [];
      for await (const batch of s) for (const e of batch.events) if (e.kind === 'change') ids.push(e.after?._id);
      return ids.sort();
    };
    const all = Array.from({ length: 60 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const splitVectors = sim.commandCount('splitVector');
    expect(await snapshotIds({})).toEqual(all);
    expect(sim.commandCount('splitVector')).toBe(splitVectors + 1);
    sim.denyActions(['splitVector']);
    try {
      const finds = sim.commandCount('find');
      expect(await snapshotIds({})).toEqual(all);
      // Refused: one boundary query per chunk (6 chunks), besides the reads.
      expect(sim.commandCount('find') - finds).toBeGreaterThanOrEqual(6 + 6);
    } finally {
      sim.denyActions([]);
    }
    const before = sim.commandCount('splitVector');
    expect(await snapshotIds({ chunkBoundaries: 'paging' })).toEqual(all);
    expect(sim.commandCount('splitVector')).toBe(before);
  });

  it('opens the log reader on the aggregate alone, and its first iteration still delivers what the first read finds', async () => {
    // With a getMore wait far beyond the test's timeout, a reader whose opening waited for the first
    // getMore (as it did) could not open in time: opening must need only the aggregate.
    const coll = client.db('adapter_tests').collection('early_open');
    await coll.insertOne({ _id: 0 } as never);
    const adapter = mongodbAdapter({ url: sim.url, databases: ['adapter_tests'], maxAwaitTimeMs: 600_000 });
    const introspector = await adapter.createIntrospector();
    try {
      const tables = await introspector.describeTables([{ database: 'adapter_tests', name: 'early_open' }]);
      const reader = await adapter.createLogReader({ from: await introspector.lowWatermark(), tables });
      try {
        // The first read, still waiting in its getMore, returns with this insert.
        await coll.insertOne({ _id: 1, note: 'after open' } as never);
        const next = await reader[Symbol.asyncIterator]().next();
        const changes = [];
        for (const item of next.done === true ? [] : next.value)
          if (item.kind === 'change') changes.push([item.op, item.after]);
        expect(changes).toEqual([['c', { _id: 1, document: new JsonText('{"note":"after open"}') }]]);
      } finally {
        await reader.close();
      }
    } finally {
      await introspector.close();
    }
  });

  it.each(['preImages', 'upsert', 'normalize'] as const)(
    'changelog %s: drop, rename away and dropDatabase reach the sink as truncates, and the stream goes on past the invalidate',
    async (changelog) => {
      const dbName = `ddl_${changelog.toLowerCase()}`;
      const db = client.db(dbName);
      await db.collection('a').insertOne({ _id: 1, v: 1 } as never);
      await db.collection('b').insertOne({ _id: 1, v: 1 } as never);
      const dir = mkdtempSync(join(tmpdir(), 'hw-ddl-'));
      dirs.push(dir);
      const adapter = mongodbAdapter({
        url: sim.url,
        databases: [dbName],
        changelog,
        ...(changelog === 'normalize' ? { normalizeStore: { directory: dir } } : {}),
      });
      const s = createSource({ adapter, tables: { include: [`${dbName}.a`, `${dbName}.b`] } });
      open.push(s);
      const it = s[Symbol.asyncIterator]();
      const seen: string[] = [];
      const until = async (count: number) => {
        while (seen.length < count) {
          const next = await it.next();
          if (next.done === true) throw new Error(`the source ended after ${JSON.stringify(seen)}`);
          for (const e of next.value.events) {
            if (e.kind === 'change') seen.push(`${e.op} ${e.source.table} ${JSON.stringify(e.after?._id ?? null)}`);
            else if (e.kind === 'truncate') seen.push(`truncate ${e.table}`);
          }
        }
        return seen;
      };
      await until(2); // the snapshot
      await db.collection('a').drop();
      await db.collection('a').insertOne({ _id: 2, v: 'after the drop' } as never);
      await db.collection('b').rename('b_moved');
      await db.dropDatabase();
      // The database stream ends with an invalidate after dropDatabase; the reader opens it again after it.
      await db.collection('a').insertOne({ _id: 3, v: 'after dropDatabase' } as never);
      expect((await until(9)).slice(2)).toEqual([
        `truncate ${dbName}.a`,
        `c ${dbName}.a 2`,
        `truncate ${dbName}.b`,
        // dropDatabase: a drop event per collection left, then the dropDatabase event (a truncate per captured one).
        `truncate ${dbName}.a`,
        `truncate ${dbName}.a`,
        `truncate ${dbName}.b`,
        `c ${dbName}.a 3`,
      ]);
    },
  );

  it('refuses a resume point the oplog lost with OffsetUnavailableError naming the point and the oplog window', async () => {
    const coll = client.db('adapter_tests').collection('lost_history');
    await coll.insertOne({ _id: 0 } as never);
    const adapter = mongodbAdapter({ url: sim.url, databases: ['adapter_tests'] });
    const introspector = await adapter.createIntrospector();
    try {
      const tables = await introspector.describeTables([{ database: 'adapter_tests', name: 'lost_history' }]);
      const from = await introspector.lowWatermark();
      await coll.insertOne({ _id: 1 } as never);
      sim.truncateOplogBefore();
      await coll.insertOne({ _id: 2 } as never);
      const failure = await adapter.createLogReader({ from, tables }).then(
        async (reader) => {
          await reader.close();
          return null;
        },
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 'HW_OFFSET_UNAVAILABLE' });
      const message = String((failure as Error).message);
      expect(message).toContain('ChangeStreamHistoryLost');
      const seconds = String(from.clusterTime >> 32n);
      expect(message).toContain(
        `The resume point is at ${new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z')} (${seconds}.`,
      );
      expect(message).toMatch(/the oplog now holds \S+ \(\d+\.\d+\) to \S+ \(\d+\.\d+\) \(a window of \d+\.\d\d h\)/);
    } finally {
      await introspector.close();
    }
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

  it('refuses a wrong password with a PermissionError saying what to check, without the password', async () => {
    const guarded = await startMongoSimulator({ users: [{ username: 'cdc', password: 'right-pw' }] });
    try {
      const url = guarded.url.replace('mongodb://', 'mongodb://cdc:wrong-pw-123@');
      const adapter = mongodbAdapter({ url, databases: ['x'] });
      const failure = await startFailure(adapter, 'x.t');
      expect(failure).toMatchObject({ code: 'HW_PERMISSION_DENIED' });
      const message = String((failure as Error).message);
      expect(message).toContain('authentication failed');
      expect(message).toContain('check the user name, password and authSource');
      expect(message).not.toContain('wrong-pw-123');
    } finally {
      await guarded.close();
    }
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
      const failure = await startFailure(adapter, 'x.t');
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

  it('changelog normalize: a start older than the snapshot history is OffsetUnavailableError saying what to do', async () => {
    await client
      .db('adapter_tests')
      .collection('tooold')
      .insertOne({ _id: 1 } as never);
    const dir = mkdtempSync(join(tmpdir(), 'hw-tooold-'));
    dirs.push(dir);
    const adapter = mongodbAdapter({
      url: sim.url,
      databases: ['adapter_tests'],
      changelog: 'normalize',
      normalizeStore: { directory: dir },
    });
    expect(adapter.capabilities.startFromEarliest).toBe(false);
    const s = createSource({
      adapter,
      tables: { include: ['adapter_tests.tooold'] },
      startup: { mode: 'timestamp', timestamp: '2001-01-01T00:00:00Z' },
    });
    open.push(s);
    const failure = await read(s, () => false).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 'HW_OFFSET_UNAVAILABLE' });
    expect(String((failure as Error).message)).toContain('minSnapshotHistoryWindowInSeconds');
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
