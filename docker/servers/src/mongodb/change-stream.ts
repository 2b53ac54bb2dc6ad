/**
 * Change streams of the MongoDB simulator: a cursor over the oplog that turns entries into change events.
 *
 * Event layout from the manual's change events pages (https://www.mongodb.com/docs/manual/reference/change-events/):
 * `_id` (the resume token), `operationType`, `clusterTime`, `wallTime`, `ns`, `documentKey`, `updateDescription`,
 * `fullDocument`, `fullDocumentBeforeChange`, `lsid`/`txnNumber` for events of a transaction, `to` for rename;
 * `create`/`modify` only with `showExpandedEvents`; a collection stream ends with `invalidate` after its collection is
 * dropped or renamed, a database stream after `dropDatabase`. Resuming (`resumeAfter`, `startAfter`,
 * `startAtOperationTime`) and post-batch resume tokens follow
 * https://www.mongodb.com/docs/manual/changeStreams/#resume-a-change-stream; pre- and post-images follow
 * https://www.mongodb.com/docs/manual/changeStreams/#change-streams-with-document-pre--and-post-images.
 *
 * Resume tokens are `{ _data: <hex> }` like the server's, but their content is the simulator's own (cluster time,
 * position in the transaction, kind, fragment), ordered as strings in stream order.
 */
import { calculateObjectSize, type Document, Timestamp } from 'bson';
import type { Engine } from './backend.js';
import { compareTimestamps } from './clock.js';
import { CommandError } from './errors.js';
import { comparePositions, type DocumentEntry, type LogPosition, type OplogEntry } from './oplog.js';
import { isPlainDocument } from './paths.js';
import { matches } from './query.js';

export type StreamScope =
  | { readonly kind: 'collection'; readonly db: string; readonly coll: string }
  | { readonly kind: 'database'; readonly db: string }
  | { readonly kind: 'cluster' };

export type FullDocumentMode = 'default' | 'updateLookup' | 'whenAvailable' | 'required';
export type BeforeChangeMode = 'off' | 'whenAvailable' | 'required';

/** The largest BSON document, https://www.mongodb.com/docs/manual/reference/limits/#mongodb-limit-BSON-Document-Size. */
export const MAX_BSON_SIZE = 16 * 1024 * 1024;

enum TokenKind {
  Event = 0,
  /** An event after which this stream invalidates (drop/rename/dropDatabase of what it watches). */
  Invalidating = 1,
  Invalidate = 2,
}

interface DecodedToken extends LogPosition {
  readonly kind: TokenKind;
  readonly fragment: number;
}

const HIGH_WATER = 0xffffffff;

function hex(value: number, width: number): string {
  return (value >>> 0).toString(16).padStart(width, '0');
}

/**
 * Like the server's tokens, `_data` starts with the KeyString type byte of a Timestamp (0x82) and the cluster time
 * as 8 big-endian bytes (seconds, increment), so a client can read the cluster time of any token; what follows is the
 * simulator's own: the position in the transaction, the token kind and the fragment of a split event.
 */
export function encodeToken(position: LogPosition, kind: TokenKind = TokenKind.Event, fragment = 0): Document {
  const data = `82${hex(position.ts.t, 8)}${hex(position.ts.i, 8)}${hex(position.txnOpIndex, 8)}${hex(kind, 2)}${hex(fragment, 4)}`;
  return { _data: data.toUpperCase() };
}

function decodeToken(token: unknown, option: string): DecodedToken {
  const raw = isPlainDocument(token) ? token._data : undefined;
  if (typeof raw !== 'string' || !/^82[0-9a-f]{30}$/i.test(raw)) {
    throw new CommandError('InvalidResumeToken', `${option} is not a resume token of this MongoDB simulator`);
  }
  const data = raw.slice(2);
  const t = Number.parseInt(data.slice(0, 8), 16);
  const i = Number.parseInt(data.slice(8, 16), 16);
  return {
    ts: new Timestamp({ t, i }),
    txnOpIndex: Number.parseInt(data.slice(16, 24), 16),
    kind: Number.parseInt(data.slice(24, 26), 16) as TokenKind,
    fragment: Number.parseInt(data.slice(26, 30), 16),
  };
}

export interface ChangeStreamOptions {
  readonly scope: StreamScope;
  readonly spec: Document;
  /** The stages after `$changeStream` (`$match`, `$project`-free, `$changeStreamSplitLargeEvent`). */
  readonly pipeline: readonly Document[];
}

export interface ChangeStreamBatch {
  readonly events: Document[];
  readonly postBatchResumeToken: Document;
  /** True once the stream returned its invalidate event: the cursor is closed. */
  readonly closed: boolean;
}

const INTERNAL_DATABASES = new Set(['admin', 'config', 'local']);

export class ChangeStream {
  private position: LogPosition;
  private lastToken: Document;
  private pendingInvalidate: LogPosition | undefined;
  private pendingFragments: Document[] = [];
  private closed = false;
  private readonly fullDocument: FullDocumentMode;
  private readonly beforeChange: BeforeChangeMode;
  private readonly expanded: boolean;
  private readonly filters: Document[] = [];
  /** Events built without an image they required: the error, raised if the user's $match keeps the event. */
  private readonly lackingImage = new WeakMap<Document, CommandError>();

  /** A $match reading fullDocument or fullDocumentBeforeChange runs after the image stages, as on the server. */
  private get filtersReadImages(): boolean {
    return this.filters.some((filter) => JSON.stringify(filter).includes('"fullDocument'));
  }
  private readonly splitLargeEvents: boolean;

  constructor(
    private readonly engine: Engine,
    private readonly options: ChangeStreamOptions,
  ) {
    const { spec } = options;
    this.fullDocument = (spec.fullDocument as FullDocumentMode | undefined) ?? 'default';
    if (!['default', 'updateLookup', 'whenAvailable', 'required'].includes(this.fullDocument)) {
      throw new CommandError('BadValue', `unknown fullDocument mode '${String(spec.fullDocument)}'`);
    }
    this.beforeChange = (spec.fullDocumentBeforeChange as BeforeChangeMode | undefined) ?? 'off';
    if (!['off', 'whenAvailable', 'required'].includes(this.beforeChange)) {
      throw new CommandError(
        'BadValue',
        `unknown fullDocumentBeforeChange mode '${String(spec.fullDocumentBeforeChange)}'`,
      );
    }
    this.expanded = spec.showExpandedEvents === true;
    let split = false;
    for (const stage of options.pipeline) {
      if (isPlainDocument(stage.$match)) this.filters.push(stage.$match);
      else if (stage.$changeStreamSplitLargeEvent !== undefined) split = true;
      else {
        throw new CommandError(
          'BadValue',
          `stage ${Object.keys(stage)[0]} after $changeStream is not implemented by the MongoDB simulator ($match and $changeStreamSplitLargeEvent are)`,
        );
      }
    }
    this.splitLargeEvents = split;
    this.position = this.startPosition();
    this.lastToken = encodeToken({ ts: this.position.ts, txnOpIndex: HIGH_WATER });
  }

  private startPosition(): LogPosition {
    const { spec } = this.options;
    const given = ['resumeAfter', 'startAfter', 'startAtOperationTime'].filter((key) => spec[key] !== undefined);
    if (given.length > 1) {
      throw new CommandError('BadValue', `Only one of ${given.join(', ')} may be given to $changeStream`);
    }
    const oplog = this.engine.oplog;
    const lost = (ts: Timestamp, what: string) =>
      new CommandError(
        'ChangeStreamHistoryLost',
        `Resume of change stream was not possible, as the resume point (${what} ${ts.t},${ts.i}) may no longer be in the oplog; the oldest entry is at ${oplog.earliest.t},${oplog.earliest.i}`,
      );
    if (spec.startAtOperationTime !== undefined) {
      const ts = spec.startAtOperationTime as Timestamp;
      if ((ts as { _bsontype?: string })._bsontype !== 'Timestamp') {
        throw new CommandError('TypeMismatch', 'startAtOperationTime must be a Timestamp');
      }
      if (compareTimestamps(ts, oplog.earliest) < 0) throw lost(ts, 'startAtOperationTime');
      return { ts, txnOpIndex: -1 };
    }
    const option =
      spec.resumeAfter !== undefined ? 'resumeAfter' : spec.startAfter !== undefined ? 'startAfter' : undefined;
    if (option === undefined) return { ts: this.engine.clock.current(), txnOpIndex: HIGH_WATER };
    const token = decodeToken(spec[option], option);
    if (token.kind === TokenKind.Invalidate && option === 'resumeAfter') {
      throw new CommandError(
        'InvalidResumeToken',
        'Attempting to resume a change stream using resumeAfter is not allowed from an invalidate notification; use startAfter',
      );
    }
    if (compareTimestamps(token.ts, oplog.earliest) < 0) throw lost(token.ts, 'resume token');
    if (token.kind === TokenKind.Invalidating) this.pendingInvalidate = token;
    if (token.fragment > 0) this.resumeFragments(token);
    return { ts: token.ts, txnOpIndex: token.txnOpIndex };
  }

  /** Resuming after fragment k of a split event: the event's remaining fragments come first. */
  private resumeFragments(token: DecodedToken): void {
    const index = this.engine.oplog.indexAfter({ ts: token.ts, txnOpIndex: token.txnOpIndex - 1 });
    const entry = this.engine.oplog.at(index);
    if (entry === undefined || comparePositions(entry, token) !== 0) return;
    const event = this.eventFor(entry, token.kind);
    if (event === undefined) return;
    this.pendingFragments = this.split(event, entry).slice(token.fragment);
  }

  /**
   * The next batch: up to `batchSize` events the stream can see now, and the post-batch resume token — the last
   * event's token, or a high-water mark at the latest cluster time scanned when the stream is quiet.
   */
  next(batchSize: number): ChangeStreamBatch {
    const oplog = this.engine.oplog;
    if (compareTimestamps(this.position.ts, oplog.earliest) < 0 && this.position.txnOpIndex !== HIGH_WATER) {
      throw new CommandError(
        'ChangeStreamHistoryLost',
        'the change stream fell off the oplog: its position was truncated away',
      );
    }
    const events: Document[] = [];
    const now = Date.now();
    // A reply stays within 16 MB, as the server's batches do: a big event or fragment goes in a batch of its own.
    let bytes = 0;
    const full = () => events.length > 0 && bytes >= MAX_BSON_SIZE / 2;
    while (events.length < batchSize && !this.closed && !full()) {
      const fragment = this.pendingFragments.shift();
      if (fragment !== undefined) {
        if (events.length > 0 && bytes + calculateObjectSize(fragment) > MAX_BSON_SIZE - 4096) {
          this.pendingFragments.unshift(fragment);
          break;
        }
        this.push(events, fragment);
        bytes += calculateObjectSize(fragment);
        continue;
      }
      if (this.pendingInvalidate !== undefined) {
        const at = this.pendingInvalidate;
        this.pendingInvalidate = undefined;
        this.push(events, this.invalidateEvent(at));
        this.closed = true;
        break;
      }
      const entry = oplog.at(oplog.indexAfter(this.position));
      if (entry === undefined || entry.visibleAt > now) break;
      const invalidates = this.invalidates(entry);
      const event = this.eventFor(entry, invalidates ? TokenKind.Invalidating : TokenKind.Event);
      if (event !== undefined && this.filters.every((filter) => matches(event, filter))) {
        // An image the event required and lacks fails the stream only for events the user's $match keeps: the
        // server moves a $match that reads no image field ahead of its image stages (canSwapWithMatch).
        const lacking = this.lackingImage.get(event);
        if (lacking !== undefined) throw lacking;
        const parts = this.split(event, entry);
        const size = calculateObjectSize(parts[0] as Document);
        if (events.length > 0 && bytes + size > MAX_BSON_SIZE - 4096) break; // next batch, from this entry
        this.push(events, parts[0] as Document);
        bytes += size;
        this.pendingFragments = parts.slice(1);
      }
      this.position = entry;
      if (invalidates) this.pendingInvalidate = entry;
    }
    if (events.length === 0 || this.pendingFragments.length === 0) {
      const caughtUp = oplog.indexAfter(this.position) >= oplog.length;
      if (events.length === 0 && caughtUp && this.pendingInvalidate === undefined) {
        const latest = this.engine.clock.current();
        if (compareTimestamps(latest, this.position.ts) > 0 || this.position.txnOpIndex !== HIGH_WATER) {
          this.position = { ts: latest, txnOpIndex: HIGH_WATER };
        }
        this.lastToken = encodeToken(this.position);
      }
    }
    return { events, postBatchResumeToken: this.lastToken, closed: this.closed };
  }

  /** Milliseconds until the next entry becomes visible, or undefined when none is waiting. */
  nextVisibleInMs(): number | undefined {
    const entry = this.engine.oplog.at(this.engine.oplog.indexAfter(this.position));
    return entry === undefined ? undefined : Math.max(0, entry.visibleAt - Date.now());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private push(events: Document[], event: Document): void {
    events.push(event);
    this.lastToken = event._id as Document;
  }

  private inScope(db: string, coll: string | undefined): boolean {
    const { scope } = this.options;
    if (scope.kind === 'cluster') return !INTERNAL_DATABASES.has(db);
    if (scope.kind === 'database') return db === scope.db && !(coll ?? '').startsWith('system.');
    return db === scope.db && coll === scope.coll;
  }

  private invalidates(entry: OplogEntry): boolean {
    const { scope } = this.options;
    if (scope.kind === 'collection') {
      return (entry.op === 'drop' || entry.op === 'rename') && entry.db === scope.db && entry.coll === scope.coll;
    }
    return scope.kind === 'database' && entry.op === 'dropDatabase' && entry.db === scope.db;
  }

  private invalidateEvent(at: LogPosition): Document {
    const entry = at as OplogEntry;
    return {
      _id: encodeToken(at, TokenKind.Invalidate),
      operationType: 'invalidate',
      clusterTime: at.ts,
      wallTime: entry.wall ?? new Date(),
    };
  }

  private eventFor(entry: OplogEntry, kind: TokenKind): Document | undefined {
    if (entry.op === 'noop') return undefined;
    if (entry.op === 'dropDatabase') {
      if (this.options.scope.kind === 'collection' || !this.inScope(entry.db, undefined)) return undefined;
    } else if (!this.inScope(entry.db, entry.coll)) {
      return undefined;
    }
    if ((entry.op === 'create' || entry.op === 'modify') && !this.expanded) return undefined;
    const event: Document = {
      _id: encodeToken(entry, kind),
      operationType: entry.op,
      clusterTime: entry.ts,
      wallTime: entry.wall,
    };
    if (this.expanded && entry.uuid !== undefined) event.collectionUUID = entry.uuid;
    event.ns = entry.coll === undefined ? { db: entry.db } : { db: entry.db, coll: entry.coll };
    switch (entry.op) {
      case 'insert':
      case 'update':
      case 'replace':
      case 'delete':
        this.describeDocumentChange(event, entry);
        break;
      case 'rename':
        event.to = entry.to;
        if (this.expanded) event.operationDescription = { to: entry.to };
        break;
      case 'create':
      case 'modify':
        event.operationDescription = entry.detail ?? {};
        break;
    }
    if (entry.lsid !== undefined) {
      event.lsid = entry.lsid;
      event.txnNumber = entry.txnNumber;
    }
    return event;
  }

  private describeDocumentChange(event: Document, entry: DocumentEntry): void {
    event.documentKey = { _id: entry.key };
    if (entry.op === 'update') {
      const description = entry.description ?? { updatedFields: {}, removedFields: [], truncatedArrays: [] };
      event.updateDescription = {
        updatedFields: description.updatedFields,
        removedFields: description.removedFields,
        truncatedArrays: description.truncatedArrays,
      };
    }
    // The server fails with 51770 when the collection recorded no pre-image for the event, and with
    // NoMatchingDocument (47) when a post-image cannot be produced.
    const missing = (what: 'pre-image' | 'post-image') =>
      new CommandError(
        what === 'pre-image' ? 'Location51770' : 'NoMatchingDocument',
        `Change stream was configured to require a ${what} for all update, delete and replace events, but the ${what} was not found for the event in ${entry.db}.${entry.coll}; enable it with collMod { changeStreamPreAndPostImages: { enabled: true } }`,
      );
    const fail = (what: 'pre-image' | 'post-image') => {
      if (this.filtersReadImages) throw missing(what);
      this.lackingImage.set(event, missing(what));
    };
    if (entry.op === 'insert' || entry.op === 'replace') {
      event.fullDocument = entry.after;
    } else if (entry.op === 'update') {
      switch (this.fullDocument) {
        case 'updateLookup':
          // The document as it is now, not as this update left it.
          event.fullDocument = this.engine.get(entry.db, entry.coll, entry.key) ?? null;
          break;
        case 'whenAvailable':
          event.fullDocument = entry.imagesRecorded ? entry.after : null;
          break;
        case 'required':
          if (!entry.imagesRecorded) fail('post-image');
          else event.fullDocument = entry.after;
          break;
      }
    }
    if (entry.op !== 'insert' && this.beforeChange !== 'off') {
      if (entry.imagesRecorded) event.fullDocumentBeforeChange = entry.before;
      else if (this.beforeChange === 'required') fail('pre-image');
      else event.fullDocumentBeforeChange = null;
    }
  }

  /**
   * Splits an event over 16 MB into fragments when the pipeline has `$changeStreamSplitLargeEvent`
   * (https://www.mongodb.com/docs/manual/reference/operator/aggregation/changeStreamSplitLargeEvent/): each fragment
   * has its own resume token and `splitEvent: { fragment, of }`, and carries whole top-level fields in order.
   */
  private split(event: Document, entry: LogPosition): Document[] {
    if (calculateObjectSize(event) <= MAX_BSON_SIZE) return [event];
    if (!this.splitLargeEvents) {
      throw new CommandError(
        'BadValue',
        `BSONObjectTooLarge: a change event is ${calculateObjectSize(event)} bytes, over the 16 MB limit; add $changeStreamSplitLargeEvent to the pipeline`,
      );
    }
    const kind = decodeToken(event._id, '_id').kind;
    const budget = MAX_BSON_SIZE - 1024;
    const groups: Document[] = [];
    let current: Document = {};
    for (const [key, value] of Object.entries(event)) {
      if (key === '_id') continue;
      const candidate = { ...current, [key]: value };
      if (Object.keys(current).length > 0 && calculateObjectSize(candidate) > budget) {
        groups.push(current);
        current = { [key]: value };
      } else {
        current = candidate;
      }
    }
    groups.push(current);
    return groups.map((fields, index) => ({
      _id: encodeToken(entry, kind, index + 1),
      splitEvent: { fragment: index + 1, of: groups.length },
      ...fields,
    }));
  }
}
