import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AdapterError, CheckpointError, ConfigError, type LogReadRequest, tableName } from '@highwater/core';
import { BSON, type Document, Long, type MongoClient } from 'mongodb';
import { timestampFromBigInt } from '../bson/bson-order.js';
import { EXACT_REPLY } from '../connection.js';
import { type Endpoint, toHighwaterError } from '../errors.js';
import type { ChangeImages, RowEvent } from '../log/images.js';
import type { ImageSource } from '../log/log-reader.js';
import { AFTER_ALL, BEFORE_ALL, compareMongoOffsets, type MongoOffset, mongoOffsets } from '../offsets/mongo-offset.js';
import type { ResolvedOptions } from '../options.js';
import type { CollectionRows } from '../rows/collection-rows.js';
import { applyUpdate } from './apply-update.js';
import { ImageStore, type StoreWrite } from './image-store.js';

/** Documents written to the store per transaction while seeding. */
const SEED_BATCH = 2000;
/** Position value of a store being seeded (a crash leaves it so: the next start seeds again). */
const SEEDING = 'seeding';

/** A change not yet acknowledged downstream: kept in memory until it is, then written to disk. */
type Pending =
  | {
      readonly kind: 'image';
      readonly offset: MongoOffset;
      readonly ns: string;
      readonly key: Buffer;
      readonly doc: Document | null;
    }
  | { readonly kind: 'drop'; readonly offset: MongoOffset; readonly ns: string };

/**
 * Changelog `normalize`: before- and after-images without the server's pre-images, from a disk-backed
 * store of the last image of every captured document (Flink CDC's ChangelogNormalize, with its state
 * on disk instead of the heap).
 *
 * - An insert or replace stores its `fullDocument`; an update's after-image is the stored image with
 *   the event's `updateDescription` applied (never `updateLookup`, which returns the document as it
 *   is when read, not as it was after this change); a delete removes it.
 * - Consistent with the checkpoint: changes go to disk only when acknowledged (the core acknowledges
 *   offsets whose checkpoint is stored), together with that position; the changes after it are held
 *   in memory. A reader resumed from a later checkpoint reads the stream from the store's position
 *   and applies, without delivering, what lies between. A store ahead of the checkpoint is refused.
 * - A new store is seeded with a point-in-time read (`readConcern: snapshot` at the start position's
 *   cluster time) of every captured collection.
 */
export class Normalizer implements ImageSource {
  readonly readFrom: MongoOffset;
  private readonly pending: Pending[] = [];
  private readonly latest = new Map<string, Pending>();
  private readonly dropped = new Map<string, Pending>();

  constructor(
    private readonly store: ImageStore,
    storedAt: MongoOffset,
  ) {
    this.readFrom = storedAt;
  }

  images(event: RowEvent, rows: CollectionRows, offset: MongoOffset): ChangeImages {
    const ns = `${event.ns.db}.${event.ns.coll}`;
    const key = Buffer.from(BSON.serialize({ _id: event.documentKey._id }));
    const before = this.lookup(ns, key);
    switch (event.operationType) {
      case 'insert':
      case 'replace': {
        const after = event.fullDocument;
        if (after === null || after === undefined)
          throw new AdapterError(`mongodb: a ${event.operationType} event of ${ns} without fullDocument`);
        this.record({ kind: 'image', offset, ns, key, doc: after });
        if (event.operationType === 'insert') return { before: null, after, beforeImage: 'none' };
        return before === undefined
          ? { before: { _id: event.documentKey._id }, after, beforeImage: 'key' }
          : { before, after, beforeImage: 'full' };
      }
      case 'update': {
        if (before === undefined) throw this.unknown(ns, rows, event.documentKey._id);
        const after = applyUpdate(before, event.updateDescription ?? {});
        this.record({ kind: 'image', offset, ns, key, doc: after });
        return { before, after, beforeImage: 'full' };
      }
      case 'delete':
        this.record({ kind: 'image', offset, ns, key, doc: null });
        return before === undefined
          ? { before: { _id: event.documentKey._id }, after: null, beforeImage: 'key' }
          : { before, after: null, beforeImage: 'full' };
    }
  }

  forget(ns: string, offset: MongoOffset): void {
    const entry: Pending = { kind: 'drop', offset, ns };
    this.pending.push(entry);
    this.dropped.set(ns, entry);
    for (const [k, e] of this.latest) if (e.ns === ns) this.latest.delete(k);
  }

  async acknowledge(offset: MongoOffset): Promise<void> {
    let n = 0;
    while (n < this.pending.length && compareMongoOffsets((this.pending[n] as Pending).offset, offset) <= 0) n++;
    if (n === 0 && compareMongoOffsets(offset, this.readFrom) <= 0) return;
    const done = this.pending.splice(0, n);
    const writes: StoreWrite[] = done.map((e) =>
      e.kind === 'drop'
        ? e
        : { kind: 'image', ns: e.ns, key: e.key, doc: e.doc === null ? null : Buffer.from(BSON.serialize(e.doc)) },
    );
    this.store.write(writes, JSON.stringify(mongoOffsets.toJSON(offset)));
    for (const e of done) {
      if (e.kind === 'drop') {
        if (this.dropped.get(e.ns) === e) this.dropped.delete(e.ns);
      } else {
        const k = mapKey(e.ns, e.key);
        if (this.latest.get(k) === e) this.latest.delete(k);
      }
    }
  }

  async close(): Promise<void> {
    this.store.close();
  }

  /** Changes held in memory, waiting for an acknowledgement. */
  get pendingCount(): number {
    return this.pending.length;
  }

  private record(entry: Pending & { kind: 'image' }): void {
    this.pending.push(entry);
    this.latest.set(mapKey(entry.ns, entry.key), entry);
  }

  /** The image as of the last change read: memory first, then (unless the collection was dropped since) disk. */
  private lookup(ns: string, key: Buffer): Document | undefined {
    const held = this.latest.get(mapKey(ns, key));
    if (held !== undefined) return held.kind === 'image' && held.doc !== null ? held.doc : undefined;
    if (this.dropped.has(ns)) return undefined;
    const stored = this.store.get(ns, key);
    return stored === undefined ? undefined : BSON.deserialize(stored, { useBigInt64: true, bsonRegExp: true });
  }

  private unknown(ns: string, rows: CollectionRows, id: unknown): Error {
    return new AdapterError(
      `mongodb: changelog 'normalize' has no image of ${ns} _id ${JSON.stringify(rows.keyOf(id), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))} in its store (${this.store.path}): the store is out of step with the collection; delete the file and start again with startup 'initial'`,
    );
  }
}

function mapKey(ns: string, key: Buffer): string {
  return `${ns}\u0000${key.toString('base64')}`;
}

/** Opens (and seeds, when new) the store of changelog `normalize` for a log reader starting at `request.from`. */
export async function openNormalizer(
  client: MongoClient,
  at: Endpoint,
  options: ResolvedOptions,
  request: LogReadRequest<MongoOffset>,
): Promise<Normalizer> {
  if (options.normalizeStore === null) {
    throw new ConfigError(
      "mongodb: changelog 'normalize' needs normalizeStore.directory: where its last-image store files are kept",
    );
  }
  const store = new ImageStore(storeFile(options.normalizeStore.directory, request));
  try {
    const stored = store.position();
    const from = request.from;
    // A position after every event of its cluster time (a watermark or a caught-up stream) or before
    // every event of it (timestamp, earliest) can be seeded exactly by a read at that time.
    const seedable = from.index === AFTER_ALL || from.index === BEFORE_ALL;
    const storedAt = stored === null || stored === SEEDING ? null : mongoOffsets.fromJSON(JSON.parse(stored));
    if (storedAt === null || (compareMongoOffsets(storedAt, from) > 0 && seedable)) {
      await seed(client, at, store, request);
      return new Normalizer(store, from);
    }
    if (compareMongoOffsets(storedAt, request.from) > 0) {
      throw new CheckpointError(
        `mongodb: the normalize store ${store.path} holds images as of ${stored}, after the position the source resumes from (${JSON.stringify(mongoOffsets.toJSON(request.from))}): it belongs to a later checkpoint. Restore that checkpoint, or delete the store and start again with startup 'initial'`,
      );
    }
    return new Normalizer(store, storedAt);
  } catch (error) {
    store.close();
    throw error;
  }
}

/**
 * The store file of a set of captured collections: a source resumed with the same collections finds
 * its images again; another set of collections gets a file of its own.
 */
function storeFile(directory: string, request: LogReadRequest<MongoOffset>): string {
  const names = request.tables.map((t) => tableName(t.id)).sort();
  const digest = createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, 16);
  return join(directory, `images-${digest}.sqlite`);
}

/** Fills the store with every captured document as of `request.from` (a point-in-time read at its cluster time), replacing what it held. */
async function seed(
  client: MongoClient,
  at: Endpoint,
  store: ImageStore,
  request: LogReadRequest<MongoOffset>,
): Promise<void> {
  const from = request.from;
  if (from.index !== AFTER_ALL && from.index !== BEFORE_ALL) {
    // A position gone from the oplog is the more useful thing to say (the store could not help there either).
    await checkStillInOplog(client, at, request);
    throw new ConfigError(
      `mongodb: changelog 'normalize' has an empty store (${store.path}) and the source starts inside a cluster time (${JSON.stringify(mongoOffsets.toJSON(from))}): start with startup 'initial', 'latest' or 'timestamp' so the store can be seeded`,
    );
  }
  // AFTER_ALL: everything of that cluster time is in; BEFORE_ALL: nothing of it is, so read just before.
  const readAt = timestampFromBigInt(from.index === AFTER_ALL ? from.clusterTime : from.clusterTime - 1n);
  store.write([], SEEDING);
  store.clear();
  for (const table of request.tables) {
    const ns = tableName(table.id);
    const db = client.db(table.id.database ?? 'test');
    store.write([{ kind: 'drop', ns }], SEEDING);
    try {
      // Raw commands: the driver sets `atClusterTime` only for snapshot sessions, at a time it picks.
      let reply = await db.command(
        {
          find: table.id.name,
          filter: {},
          batchSize: SEED_BATCH,
          readConcern: { level: 'snapshot', atClusterTime: readAt },
        },
        EXACT_REPLY,
      );
      for (;;) {
        const cursor = reply.cursor as { firstBatch?: Document[]; nextBatch?: Document[]; id: bigint | number };
        const docs = cursor.firstBatch ?? cursor.nextBatch ?? [];
        store.write(
          docs.map((doc) => ({
            kind: 'image',
            ns,
            key: Buffer.from(BSON.serialize({ _id: doc._id })),
            doc: Buffer.from(BSON.serialize(doc)),
          })),
          SEEDING,
        );
        if (BigInt(cursor.id) === 0n) break;
        reply = await db.command(
          {
            getMore: Long.fromBigInt(BigInt(cursor.id)),
            collection: table.id.name,
            batchSize: SEED_BATCH,
          },
          EXACT_REPLY,
        );
      }
    } catch (error) {
      throw toHighwaterError(
        error,
        at,
        "seeding the normalize store (a readConcern 'snapshot' read at the start position)",
        ns,
      );
    }
  }
  store.write([], JSON.stringify(mongoOffsets.toJSON(from)));
}

/** Fails with the log reader's error (OffsetUnavailableError for a position gone from the oplog) when the stream cannot start at `request.from`. */
async function checkStillInOplog(
  client: MongoClient,
  at: Endpoint,
  request: LogReadRequest<MongoOffset>,
): Promise<void> {
  const from = request.from;
  // On one captured database, which the source's user can watch (a cluster-wide stream needs more).
  const stream = client.db(request.tables[0]?.id.database ?? 'test').watch([], {
    maxAwaitTimeMS: 1,
    ...(from.token !== null
      ? { startAfter: from.token }
      : { startAtOperationTime: timestampFromBigInt(from.clusterTime) }),
  });
  try {
    await stream.tryNext();
  } catch (error) {
    throw toHighwaterError(
      error,
      at,
      'opening the change stream',
      request.tables.map((t) => tableName(t.id)).join(', '),
    );
  } finally {
    await stream.close().catch(() => undefined);
  }
}
