import {
  type LogItem,
  type LogReader,
  type LogReadRequest,
  OffsetUnavailableError,
  type RowChange,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type { Binary, Document, Timestamp } from 'mongodb';
import type { ChangeStream, ChangeStreamOptions, MongoClient } from 'mongodb';
import { isTimestamp, timestampFromBigInt, timestampToBigInt } from '../bson/bson-order.js';
import { CODES, type Endpoint, toHighwaterError } from '../errors.js';
import { AFTER_ALL, clusterTimeOfToken, compareMongoOffsets, type MongoOffset } from '../offsets/mongo-offset.js';
import type { ResolvedOptions } from '../options.js';
import { type CollectionRows, rowsOf } from '../rows/collection-rows.js';
import { uuidText } from '../rows/document-form.js';
import { type ChangeImages, type RowEvent, streamImageOptions } from './images.js';
import { joinFragments, SPLIT_LARGE_EVENTS_STAGE, splitOf } from './split-events.js';

/** Where a log reader gets a row change's images (the changelog mode), and what it keeps between runs. */
export interface ImageSource {
  /** Where the stream must be read from for this source's state (at or before the reader's `from`); default `from`. */
  readonly readFrom?: MongoOffset;
  images(event: RowEvent, rows: CollectionRows, offset: MongoOffset): ChangeImages | Promise<ChangeImages>;
  /** A collection's documents are gone (drop, rename away, dropDatabase). */
  forget?(namespace: string, offset: MongoOffset): void | Promise<void>;
  /** Everything at or before `offset` is stored downstream. */
  acknowledge?(offset: MongoOffset): Promise<void>;
  close?(): Promise<void>;
}

/** Items per yielded batch, at most (a transaction is never split: it may make a batch longer). */
const BATCH_LIMIT = 1024;

interface StreamEvent extends Document {
  readonly _id: Document;
  readonly operationType: string;
  readonly clusterTime?: Timestamp;
  readonly wallTime?: Date;
  readonly ns?: { readonly db: string; readonly coll?: string };
  readonly lsid?: { readonly id?: Binary };
  readonly txnNumber?: number | bigint;
}

/**
 * The one change stream of a source: `client.watch` (or `db.watch` when every captured collection is
 * in one database) with a `$match` on the captured namespaces. Items are yielded in stream order;
 * the events of one transaction always in the same batch (they share a commit cluster time and
 * arrive together: the batch is not cut inside one), so they reach the sink in one commit.
 */
export class MongoLogReader implements LogReader<MongoOffset> {
  private stream: ChangeStream<Document, Document> | null = null;
  private closed = false;
  private reopen = false;
  /** The last position read from the stream (or where reading starts). */
  private last: MongoOffset;
  /** Items at or before this position were delivered before (the request's `from`): read, not delivered. */
  private readonly deliverAfter: MongoOffset;
  /** Cluster time of the last event seen and its index there; null when opened by time (count from 0). */
  private indexAt: { clusterTime: bigint; index: number } | null;
  private reported: MongoOffset | null = null;
  private carry: StreamEvent | null = null;
  /** The stream's first read when `open` returned before it ended (see `open`). */
  private firstRead: Promise<StreamEvent | null> | null = null;
  private readonly tables = new Map<string, CollectionRows>();
  /** The same by database, then collection: a row event's lookup without building its `db.coll` name. */
  private readonly byNamespace = new Map<
    string,
    Map<string, { readonly name: string; readonly rows: CollectionRows }>
  >();
  /** Whether the stream's `$match` takes the heartbeat collection's events (see `canMatchHeartbeat`). */
  private heartbeatMatched = false;

  constructor(
    private readonly client: MongoClient,
    private readonly at: Endpoint,
    private readonly options: ResolvedOptions,
    request: LogReadRequest<MongoOffset>,
    private readonly images: ImageSource,
  ) {
    const start = images.readFrom ?? request.from;
    this.last = start;
    this.deliverAfter = request.from;
    this.indexAt = start.token === null ? null : { clusterTime: start.clusterTime, index: start.index };
    for (const t of request.tables) this.addTable(t);
  }

  /** Opens the stream and waits for the server's first answer (the aggregate), so a lost position fails here, before anything is read. */
  async open(): Promise<void> {
    this.heartbeatMatched = await this.canMatchHeartbeat();
    const stream = this.watch();
    this.stream = stream;
    // The first read is the aggregate (a bad resume point fails there) and, when its batch is empty,
    // a getMore that waits up to maxAwaitTimeMS for an event. Opening needs only the aggregate: the
    // driver reports its post-batch resume token of an empty batch at once, and the rest of the read
    // is taken up by the first iteration — a source's start no longer waits that long.
    const first = this.nextWholeEvent(stream);
    first.catch(() => undefined); // awaited below or by the iterator; not an unhandled rejection meanwhile
    let onAnswer = () => {};
    const answered = new Promise<'answered'>((resolve) => {
      onAnswer = () => resolve('answered');
      stream.once('resumeTokenChanged', onAnswer);
    });
    try {
      const result = await Promise.race([first, answered]);
      if (result === 'answered') this.firstRead = first;
      else this.carry = result;
    } catch (error) {
      this.stream = null;
      await stream.close().catch(() => undefined);
      const failure = toHighwaterError(error, this.at, 'opening the change stream', this.describeScope());
      if ((error as { code?: unknown }).code !== CODES.ChangeStreamHistoryLost) throw failure;
      throw new OffsetUnavailableError(`${failure.message}. ${await this.oplogWindow()}`, { cause: error });
    } finally {
      stream.off('resumeTokenChanged', onAnswer);
    }
  }

  /** The next whole event: the one held over, else the rest of the first read, else a new read. */
  private nextEvent(stream: ChangeStream<Document, Document>): Promise<StreamEvent | null> {
    if (this.carry !== null) return Promise.resolve(this.carry);
    const first = this.firstRead;
    if (first === null) return this.nextWholeEvent(stream);
    this.firstRead = null;
    return first;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<MongoOffset>[]> {
    while (!this.closed) {
      if (this.stream === null || this.reopen) {
        this.reopen = false;
        this.firstRead = null;
        await this.stream?.close().catch(() => undefined);
        this.stream = null;
        await this.open();
      }
      const items: LogItem<MongoOffset>[] = [];
      let txn: string | null = null;
      let caughtUp = false;
      for (;;) {
        let event: StreamEvent | null;
        try {
          event = await this.nextEvent(this.stream as ChangeStream);
          this.carry = null;
        } catch (error) {
          if (this.closed) return;
          throw toHighwaterError(error, this.at, 'reading the change stream', this.describeScope());
        }
        if (this.closed) return;
        if (event === null) {
          caughtUp = true;
          break;
        }
        const eventTxn = txIdOf(event);
        if (items.length >= BATCH_LIMIT && (eventTxn === null || eventTxn !== txn)) {
          this.carry = event;
          break;
        }
        txn = eventTxn;
        try {
          // Synchronous for a row event whose images are in the event (every mode but `normalize`): no
          // promise and microtask per event.
          const pending = this.convert(event, items);
          if (pending !== undefined) await pending;
        } catch (error) {
          throw toHighwaterError(
            error,
            this.at,
            'reading the change stream',
            event.ns === undefined ? undefined : `${event.ns.db}.${event.ns.coll ?? ''}`,
          );
        }
        if (this.reopen) break;
        // The server's batch is used up: hand over what it held, unless a transaction may go on in
        // the next one (its events come together; the next read says whether it does).
        if (eventTxn === null && (this.stream as ChangeStream).bufferedCount() === 0) {
          caughtUp = true;
          break;
        }
      }
      if (caughtUp) this.noteCaughtUp(items);
      if (items.length > 0) yield items;
    }
  }

  async acknowledge(offset: MongoOffset): Promise<void> {
    await this.images.acknowledge?.(offset);
  }

  async addTables(tables: readonly TableSchema[]): Promise<void> {
    for (const t of tables) this.addTable(t);
    // The stream's $match names the namespaces: reopen it from the last position delivered.
    this.reopen = true;
  }

  private addTable(table: TableSchema): void {
    const name = tableName(table.id);
    const rows = rowsOf(table);
    this.tables.set(name, rows);
    const db = table.id.database ?? 'test';
    const colls = this.byNamespace.get(db) ?? new Map();
    this.byNamespace.set(db, colls);
    colls.set(table.id.name, { name, rows });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stream?.close().catch(() => undefined);
    await this.images.close?.();
    await this.client.close();
  }

  /** The next event the server has ready (null when none), its fragments joined when it was split. */
  private async nextWholeEvent(stream: ChangeStream<Document, Document>): Promise<StreamEvent | null> {
    const first = await stream.tryNext();
    const split = first === null ? null : splitOf(first);
    if (first === null || split === null) return first as StreamEvent | null;
    // The other fragments follow at once (the server cuts them together); wait for them.
    const fragments = [first];
    while (fragments.length < split.of) fragments.push(await stream.next());
    return joinFragments(fragments) as StreamEvent;
  }

  // ------------------------------------------------------------------ opening

  private watch(): ChangeStream<Document, Document> {
    const namespaces = new Map<string, string[]>();
    for (const rows of this.tables.values()) {
      const id = rows.schema.id;
      const db = id.database ?? 'test';
      namespaces.set(db, [...(namespaces.get(db) ?? []), id.name]);
    }
    const databases = [...namespaces.keys()];
    // The heartbeat collection, where the stream can see it (a cluster-wide stream, or a database stream
    // on its database): a high watermark's marker then ends the getMore waiting on a quiet stream at once,
    // instead of after maxAwaitTimeMS (its event moves the position; it is no row).
    const heartbeat = this.options.heartbeat;
    const match = {
      $or: [
        ...[...namespaces].map(([db, colls]) => ({ 'ns.db': db, 'ns.coll': { $in: colls } })),
        { operationType: 'dropDatabase', 'ns.db': { $in: databases } },
        // An invalidate event has no `ns` (MongoDB manual, "Change Events: invalidate"): matched by its type alone.
        { operationType: 'invalidate' },
        ...(this.heartbeatMatched ? [{ 'ns.db': heartbeat.database, 'ns.coll': heartbeat.collection }] : []),
      ],
    };
    const from = this.last;
    const options: ChangeStreamOptions = {
      ...streamImageOptions(this.options.changelog),
      maxAwaitTimeMS: this.options.maxAwaitTimeMs,
      // Only `normalize` reads what expanded events add (`updateDescription.disambiguatedPaths`, for field
      // names with dots or digits). The other modes leave it off: the server then sends no `collectionUUID`
      // and no create/modify events, which cost the driver 3-4 µs and the simulator 2-3 µs an event
      // (docs/benchmarks.md, MongoDB). Drop, rename, dropDatabase and invalidate come either way.
      ...(this.options.changelog === 'normalize' ? { showExpandedEvents: true } : {}),
      ...(from.token !== null
        ? { startAfter: from.token }
        : {
            // After every event of a cluster time: start at the next one (the increment is the low half).
            startAtOperationTime: timestampFromBigInt(
              from.index === AFTER_ALL ? from.clusterTime + 1n : from.clusterTime,
            ),
          }),
    } as ChangeStreamOptions;
    // $changeStreamSplitLargeEvent must be the last stage (MongoDB manual).
    const pipeline = this.options.splitLargeEvents
      ? [{ $match: match }, SPLIT_LARGE_EVENTS_STAGE]
      : [{ $match: match }];
    return databases.length === 1
      ? this.client.db(databases[0]).watch(pipeline, options)
      : this.client.watch(pipeline, options);
  }

  /**
   * True when the stream can take the heartbeat collection's events: it sees that database (a cluster-wide
   * stream, or a database stream on it), and, where the changelog asks for images as `required`, the collection
   * records them — else each heartbeat update would fail the stream for want of an image. The collection is
   * created recording them when it does not exist yet; where that is refused, or it exists without them, the
   * heartbeat is not matched and a quiet stream passes a high watermark when its getMore's wait ends.
   */
  private async canMatchHeartbeat(): Promise<boolean> {
    const { heartbeat, changelog } = this.options;
    const databases = new Set([...this.tables.values()].map((rows) => rows.schema.id.database ?? 'test'));
    if (databases.size === 1 && !databases.has(heartbeat.database)) return false;
    if (changelog === 'normalize') return true;
    const db = this.client.db(heartbeat.database);
    try {
      const [info] = await db.listCollections({ name: heartbeat.collection }).toArray();
      if (info !== undefined)
        return (info as { options?: Document }).options?.changeStreamPreAndPostImages?.enabled === true;
      await db.createCollection(heartbeat.collection, { changeStreamPreAndPostImages: { enabled: true } });
      return true;
    } catch (error) {
      // The server's refusal (a privilege, or a collection made meanwhile): leave the heartbeat out.
      if (typeof (error as { code?: unknown }).code === 'number') return false;
      throw toHighwaterError(
        error,
        this.at,
        'looking at the heartbeat collection',
        `${heartbeat.database}.${heartbeat.collection}`,
      );
    }
  }

  /**
   * The resume point and the oplog's window now, for the message of a position the oplog lost: the
   * user sizes the oplog by them. Read from `local.oplog.rs` (its oldest and newest entries); a user
   * who may not read it gets the resume point alone.
   */
  private async oplogWindow(): Promise<string> {
    const at = `The resume point is at ${clusterTimeText(this.last.clusterTime)}`;
    try {
      const edge = async (order: 1 | -1) => {
        const reply = await this.client.db('local').command({
          find: 'oplog.rs',
          filter: {},
          sort: { $natural: order },
          limit: 1,
          projection: { ts: 1 },
        });
        const ts = (reply.cursor as { firstBatch?: Document[] } | undefined)?.firstBatch?.[0]?.ts;
        return isTimestamp(ts) ? timestampToBigInt(ts) : null;
      };
      const first = await edge(1);
      const last = await edge(-1);
      if (first === null || last === null) return `${at}; the oplog is empty`;
      const hours = Number((last >> 32n) - (first >> 32n)) / 3600;
      return `${at}; the oplog now holds ${clusterTimeText(first)} to ${clusterTimeText(last)} (a window of ${hours.toFixed(2)} h)`;
    } catch {
      return `${at} (the oplog's window could not be read: reading local.oplog.rs needs the \`read\` role on \`local\`)`;
    }
  }

  private describeScope(): string {
    return [...this.tables.keys()].join(', ') || 'no collection';
  }

  // ------------------------------------------------------------------ events

  /** The offset of an event: its cluster time and its index among the events of that time. */
  private offsetOf(event: StreamEvent): MongoOffset {
    const ct = isTimestamp(event.clusterTime) ? timestampToBigInt(event.clusterTime) : clusterTimeOfToken(event._id);
    if (ct === null) throw new TypeError(`a change stream event without clusterTime: ${event.operationType}`);
    const index = this.indexAt !== null && this.indexAt.clusterTime === ct ? this.indexAt.index + 1 : 0;
    this.indexAt = { clusterTime: ct, index };
    return { clusterTime: ct, index, token: event._id };
  }

  /** Converts one event into `items`; a promise only when an image source or a forget is asynchronous. */
  private convert(event: StreamEvent, items: LogItem<MongoOffset>[]): Promise<void> | undefined {
    const offset = this.offsetOf(event);
    // Opened by time: the events of `from`'s cluster time up to `from` itself were delivered before.
    if (compareMongoOffsets(offset, this.last) <= 0) return undefined;
    this.last = offset;
    // Read to bring the changelog state up to `from`, not delivered again.
    const deliver = compareMongoOffsets(offset, this.deliverAfter) > 0;
    const commitTime =
      event.wallTime instanceof Date ? event.wallTime.getTime() : Number(offset.clusterTime >> 32n) * 1000;
    switch (event.operationType) {
      case 'insert':
      case 'update':
      case 'replace':
      case 'delete': {
        const ns = event.ns;
        const table = ns?.coll === undefined ? undefined : this.byNamespace.get(ns.db)?.get(ns.coll);
        if (table === undefined) return undefined;
        const images = this.images.images(event as unknown as RowEvent, table.rows, offset);
        if (images instanceof Promise) {
          return images.then((i) => {
            if (deliver) items.push(rowChange(event, table.name, table.rows, i, offset, commitTime));
          });
        }
        if (deliver) items.push(rowChange(event, table.name, table.rows, images, offset, commitTime));
        return undefined;
      }
      case 'drop':
      case 'rename':
      case 'dropDatabase':
        return this.convertDrop(event, offset, commitTime, deliver ? items : null);
      case 'invalidate':
        // The stream ends after an invalidate; `startAfter` its token continues past it.
        this.reopen = true;
        if (deliver) items.push({ kind: 'progress', offset });
        return undefined;
      default:
        // create, createIndexes, modify, …: nothing for the rows; the position moves on.
        return undefined;
    }
  }

  /** A drop, rename or dropDatabase: truncates of the captured collections it empties (`items` null: not delivered). */
  private async convertDrop(
    event: StreamEvent,
    offset: MongoOffset,
    commitTime: number,
    items: LogItem<MongoOffset>[] | null,
  ): Promise<void> {
    if (event.operationType !== 'dropDatabase') {
      // Every document of the collection left it at once: a truncate (a rename's target is captured
      // only if it matches, and then through its own events).
      const ns = event.ns === undefined ? '' : `${event.ns.db}.${event.ns.coll ?? ''}`;
      if (this.tables.has(ns)) {
        await this.images.forget?.(ns, offset);
        items?.push({ kind: 'truncate', offset, table: ns, commitTime, txId: null });
      }
      return;
    }
    // One event, a truncate per captured collection of the database: each its own index, so offsets increase.
    let index = offset.index;
    for (const name of this.tables.keys()) {
      if (!name.startsWith(`${event.ns?.db}.`)) continue;
      const at: MongoOffset = { ...offset, index: index++ };
      await this.images.forget?.(name, at);
      items?.push({ kind: 'truncate', offset: at, table: name, commitTime, txId: null });
      this.last = at;
      this.indexAt = { clusterTime: at.clusterTime, index: at.index };
    }
  }

  /**
   * At the end of a server batch: report the post-batch resume token's position when it lies past the
   * last event (past filtered-out entries and heartbeats), or the position reached when nothing was said.
   */
  private noteCaughtUp(items: LogItem<MongoOffset>[]): void {
    const token = (this.stream?.resumeToken ?? null) as Document | null;
    const ct = clusterTimeOfToken(token);
    if (ct !== null && token !== null) {
      const candidate: MongoOffset = { clusterTime: ct, index: AFTER_ALL, token };
      if (compareMongoOffsets(candidate, this.last) > 0) {
        this.last = candidate;
        this.indexAt = { clusterTime: ct, index: AFTER_ALL };
      }
    }
    // Still catching up to `from` (the changelog state is read from further back): nothing to report
    // yet, but the token above moves the position, or a stream of only filtered-out entries never gets there.
    if (compareMongoOffsets(this.last, this.deliverAfter) < 0) return;
    const lastItem = items[items.length - 1];
    if (lastItem !== undefined && compareMongoOffsets(lastItem.offset, this.last) === 0) {
      this.reported = this.last;
      return;
    }
    if (this.reported !== null && compareMongoOffsets(this.reported, this.last) === 0 && items.length === 0) return;
    items.push({ kind: 'progress', offset: this.last });
    this.reported = this.last;
  }
}

/** A cluster time as UTC seconds and increment: `2026-12-07T21:00:00Z (1796677200.3)`. */
function clusterTimeText(clusterTime: bigint): string {
  const seconds = Number(clusterTime >> 32n);
  return `${new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')} (${seconds}.${Number(clusterTime & 0xffffffffn)})`;
}

/** The row change of a row event, from its images. */
function rowChange(
  event: StreamEvent,
  table: string,
  rows: CollectionRows,
  images: ChangeImages,
  offset: MongoOffset,
  commitTime: number,
): RowChange<MongoOffset> {
  const type = event.operationType;
  return {
    kind: 'change',
    offset,
    op: type === 'insert' ? 'c' : type === 'delete' ? 'd' : 'u',
    table,
    before:
      images.before === null
        ? null
        : images.beforeImage === 'full'
          ? rows.rowOf(images.before)
          : rows.keyRowOf(images.before._id),
    after: images.after === null ? null : rows.rowOf(images.after),
    beforeImage: images.beforeImage,
    commitTime,
    txId: txIdOf(event),
  };
}

/** `<lsid uuid>:<txnNumber>` for events of a multi-document transaction, else null. */
function txIdOf(event: StreamEvent): string | null {
  if (event.txnNumber === undefined || event.lsid?.id === undefined) return null;
  const id = event.lsid.id;
  const session = id._bsontype === 'Binary' && id.position === 16 ? uuidText(id) : String(id);
  return `${session}:${String(event.txnNumber)}`;
}
