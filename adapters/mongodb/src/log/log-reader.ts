import {
  type LogItem,
  type LogReader,
  type LogReadRequest,
  type RowChange,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type { Binary, Document, Timestamp } from 'mongodb';
import type { ChangeStream, ChangeStreamOptions, MongoClient } from 'mongodb';
import { isTimestamp, timestampFromBigInt, timestampToBigInt } from '../bson/bson-order.js';
import { type Endpoint, toHighwaterError } from '../errors.js';
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
    for (const t of request.tables) this.tables.set(tableName(t.id), rowsOf(t));
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
      throw toHighwaterError(error, this.at, 'opening the change stream', this.describeScope());
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
          await this.convert(event, items);
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
    for (const t of tables) this.tables.set(tableName(t.id), rowsOf(t));
    // The stream's $match names the namespaces: reopen it from the last position delivered.
    this.reopen = true;
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
        { operationType: { $in: ['dropDatabase', 'invalidate'] }, 'ns.db': { $in: databases } },
        ...(this.heartbeatMatched ? [{ 'ns.db': heartbeat.database, 'ns.coll': heartbeat.collection }] : []),
      ],
    };
    const from = this.last;
    const options: ChangeStreamOptions = {
      ...streamImageOptions(this.options.changelog),
      maxAwaitTimeMS: this.options.maxAwaitTimeMs,
      showExpandedEvents: true,
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

  private async convert(event: StreamEvent, items: LogItem<MongoOffset>[]): Promise<void> {
    const offset = this.offsetOf(event);
    // Opened by time: the events of `from`'s cluster time up to `from` itself were delivered before.
    if (compareMongoOffsets(offset, this.last) <= 0) return;
    this.last = offset;
    // Read to bring the changelog state up to `from`, not delivered again.
    const deliver = compareMongoOffsets(offset, this.deliverAfter) > 0;
    const push = (item: LogItem<MongoOffset>) => {
      if (deliver) items.push(item);
    };
    const commitTime =
      event.wallTime instanceof Date ? event.wallTime.getTime() : Number(offset.clusterTime >> 32n) * 1000;
    const ns = event.ns === undefined ? '' : `${event.ns.db}.${event.ns.coll ?? ''}`;
    switch (event.operationType) {
      case 'insert':
      case 'update':
      case 'replace':
      case 'delete': {
        const rows = this.tables.get(ns);
        if (rows === undefined) return;
        const images = await this.images.images(event as unknown as RowEvent, rows, offset);
        const op = event.operationType === 'insert' ? 'c' : event.operationType === 'delete' ? 'd' : 'u';
        const change: RowChange<MongoOffset> = {
          kind: 'change',
          offset,
          op,
          table: ns,
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
        push(change);
        return;
      }
      case 'drop':
      case 'rename':
        // Every document of the collection left it at once: a truncate (a rename's target is captured
        // only if it matches, and then through its own events).
        if (this.tables.has(ns)) {
          await this.images.forget?.(ns, offset);
          push({ kind: 'truncate', offset, table: ns, commitTime, txId: null });
        }
        return;
      case 'dropDatabase': {
        // One event, a truncate per captured collection of the database: each its own index, so offsets increase.
        let index = offset.index;
        for (const name of this.tables.keys()) {
          if (!name.startsWith(`${event.ns?.db}.`)) continue;
          const at: MongoOffset = { ...offset, index: index++ };
          await this.images.forget?.(name, at);
          push({ kind: 'truncate', offset: at, table: name, commitTime, txId: null });
          this.last = at;
          this.indexAt = { clusterTime: at.clusterTime, index: at.index };
        }
        return;
      }
      case 'invalidate':
        // The stream ends after an invalidate; `startAfter` its token continues past it.
        this.reopen = true;
        push({ kind: 'progress', offset });
        return;
      default:
        // create, createIndexes, modify, …: nothing for the rows; the position moves on.
        return;
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

/** `<lsid uuid>:<txnNumber>` for events of a multi-document transaction, else null. */
function txIdOf(event: StreamEvent): string | null {
  if (event.txnNumber === undefined || event.lsid?.id === undefined) return null;
  const id = event.lsid.id;
  const session = id._bsontype === 'Binary' && id.position === 16 ? uuidText(id) : String(id);
  return `${session}:${String(event.txnNumber)}`;
}
