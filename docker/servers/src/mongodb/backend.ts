/**
 * The simulator's database engine: storage, oplog and clock behind one write path. Every write becomes a `Change`;
 * outside a transaction it commits at once with its own cluster time, inside one it is staged in the transaction's
 * overlay (read-your-own-writes) and all of them commit together at `commitTransaction`, sharing one cluster time
 * (https://www.mongodb.com/docs/manual/core/transactions/).
 */
import type { Document, Timestamp } from 'bson';
import { type Catalog, Catalog as CatalogClass, type Collection, type CollectionOptions } from './catalog.js';
import { ClusterClock, compareTimestamps } from './clock.js';
import { compareValues } from './compare.js';
import { CommandError } from './errors.js';
import { type CommandEntry, type DocumentEntry, Oplog, type OplogEntry } from './oplog.js';
import { SortedMap } from './sorted-map.js';
import type { UpdateDescription } from './update.js';

export type Change =
  | { readonly op: 'insert'; readonly db: string; readonly coll: string; readonly after: Document }
  | {
      readonly op: 'update';
      readonly db: string;
      readonly coll: string;
      readonly before: Document;
      readonly after: Document;
      readonly description: UpdateDescription;
    }
  | {
      readonly op: 'replace';
      readonly db: string;
      readonly coll: string;
      readonly before: Document;
      readonly after: Document;
    }
  | { readonly op: 'delete'; readonly db: string; readonly coll: string; readonly before: Document };

/** `_id` bounds in BSON order; each end inclusive or not. */
export interface IdBounds {
  readonly lower?: { readonly value: unknown; readonly inclusive: boolean };
  readonly upper?: { readonly value: unknown; readonly inclusive: boolean };
}

export function withinBounds(id: unknown, bounds: IdBounds): boolean {
  const { lower, upper } = bounds;
  if (lower !== undefined) {
    const order = compareValues(id, lower.value);
    if (order < 0 || (order === 0 && !lower.inclusive)) return false;
  }
  if (upper !== undefined) {
    const order = compareValues(id, upper.value);
    if (order > 0 || (order === 0 && !upper.inclusive)) return false;
  }
  return true;
}

/** A multi-document transaction in progress: its staged changes and the overlay reads see. */
export class Transaction {
  readonly changes: Change[] = [];
  private readonly overlay = new Map<string, SortedMap<Document | null>>();

  constructor(
    readonly lsid: Document,
    readonly txnNumber: unknown,
  ) {}

  stage(change: Change): void {
    this.changes.push(change);
    const ns = `${change.db}.${change.coll}`;
    let map = this.overlay.get(ns);
    if (map === undefined) {
      map = new SortedMap();
      this.overlay.set(ns, map);
    }
    const doc = change.op === 'delete' ? change.before : change.after;
    map.set(doc._id, change.op === 'delete' ? null : change.after);
  }

  overlayFor(db: string, coll: string): SortedMap<Document | null> | undefined {
    return this.overlay.get(`${db}.${coll}`);
  }
}

/**
 * The MongoDB form of "committed before visible": the majority commit point lagging behind the primary's oplog (a
 * slow secondary). A held commit is in the primary's oplog and moves `$clusterTime`, but nothing that reads at the
 * majority commit point has it: change streams, which return majority-committed changes only
 * (https://www.mongodb.com/docs/manual/changeStreams/ "Availability"), and reads, which see the state before it
 * (all of them here, `readConcern: local` included, though a server shows local reads the primary's latest state).
 * A `readConcern: majority` read reports the majority commit point as its `operationTime`
 * (https://www.mongodb.com/docs/manual/reference/read-concern-majority/: the data it returns has been acknowledged
 * by a majority), i.e. the time just before the first held commit. Not simulated: a `w: majority` write waits for
 * the commit point to pass it on a server; here it is acknowledged at once (waiting for a hold that only the test
 * ends would deadlock the test).
 *
 * `holdCommits` holds every commit until `releaseHeldCommits()`; `delayMs` holds each for that long. Held commits
 * are released in log order.
 */
export interface VisibilityLag {
  readonly holdCommits?: boolean;
  readonly delayMs?: number;
}

/** A commit past the majority commit point: its changes, its oplog entries, and the cluster time just before it. */
interface HeldCommit {
  readonly changes: readonly Change[];
  readonly entries: readonly OplogEntry[];
  readonly before: Timestamp;
  due: boolean;
}

/** Which state a lookup sees: what reads see, or the latest state that writes apply to (held commits included). */
export type ViewKind = 'read' | 'write';

export interface EngineOptions {
  /** New collections record pre- and post-images unless created with the option off. */
  readonly preAndPostImagesByDefault: boolean;
}

export class Engine {
  readonly catalog: Catalog = new CatalogClass();
  readonly clock = new ClusterClock();
  readonly oplog: Oplog;
  /** Milliseconds before a change stream sees a new oplog entry (fault injection). */
  changeStreamLagMs = 0;
  /** Commits reach reads late (fault injection); null makes them visible at once. */
  visibilityLag: VisibilityLag | null = null;
  private readonly held: HeldCommit[] = [];

  constructor(readonly options: EngineOptions) {
    const start = this.clock.tick();
    this.oplog = new Oplog(start);
    // A replica set's oplog begins with the no-op written when the set is initiated.
    this.oplog.append([this.commandEntry(start, { op: 'noop', db: 'admin', detail: { msg: 'initiating set' } })]);
  }

  /** A committed document, or the transaction's own version of it. */
  get(db: string, coll: string, key: unknown, txn?: Transaction, view: ViewKind = 'read'): Document | undefined {
    const staged = txn?.overlayFor(db, coll);
    if (staged?.has(key)) return staged.get(key) ?? undefined;
    const hidden = view === 'read' ? this.heldOverlay(db, coll) : undefined;
    if (hidden?.has(key)) return hidden.get(key) ?? undefined;
    return this.catalog.collection(db, coll)?.docs.get(key);
  }

  /** All documents of a collection in `_id` order, as the reader (or its transaction) sees them. */
  scan(db: string, coll: string, txn?: Transaction, view: ViewKind = 'read'): Document[] {
    const committed = this.catalog.collection(db, coll)?.docs;
    if (committed === undefined) return [];
    const overlays = [view === 'read' ? this.heldOverlay(db, coll) : undefined, txn?.overlayFor(db, coll)].filter(
      (overlay): overlay is SortedMap<Document | null> => overlay !== undefined,
    );
    if (overlays.length === 0) return committed.valueList();
    const merged = new SortedMap<Document | null>();
    for (const [key, doc] of committed.entries()) merged.set(key, doc);
    for (const overlay of overlays) for (const [key, doc] of overlay.entries()) merged.set(key, doc);
    return merged.valueList().filter((doc): doc is Document => doc !== null);
  }

  /**
   * Documents whose `_id` lies within the bounds (in BSON order), through the `_id` index when no transaction or held
   * commit overlays the collection; a superset filter for find's `min`/`max` and `_id` range predicates.
   */
  scanRange(db: string, coll: string, bounds: IdBounds, txn?: Transaction): Document[] {
    const committed = this.catalog.collection(db, coll)?.docs;
    if (committed === undefined) return [];
    if (txn?.overlayFor(db, coll) !== undefined || this.heldOverlay(db, coll) !== undefined) {
      return this.scan(db, coll, txn).filter((doc) => withinBounds(doc._id, bounds));
    }
    const from =
      bounds.lower === undefined
        ? 0
        : bounds.lower.inclusive
          ? committed.lowerBound(bounds.lower.value)
          : committed.upperBound(bounds.lower.value);
    const to =
      bounds.upper === undefined
        ? committed.size
        : bounds.upper.inclusive
          ? committed.upperBound(bounds.upper.value)
          : committed.lowerBound(bounds.upper.value);
    return from < to ? committed.valuesBetween(from, to) : [];
  }

  /**
   * A collection as it was at cluster time `ts` (readConcern `snapshot` with `atClusterTime`,
   * https://www.mongodb.com/docs/manual/reference/read-concern-snapshot/): the latest state with every later oplog
   * entry of the collection undone. Older than the oplog window → SnapshotTooOld (239), as on the server.
   * Drops and renames after `ts` are not undone (a simplification).
   */
  scanAt(db: string, coll: string, ts: Timestamp): Document[] {
    if (compareTimestamps(ts, this.oplog.earliest) < 0) {
      throw new CommandError(
        'SnapshotTooOld',
        `Read timestamp ${ts.t},${ts.i} is older than the oldest available timestamp ${this.oplog.earliest.t},${this.oplog.earliest.i}`,
      );
    }
    const state = new SortedMap<Document | null>();
    for (const [key, doc] of this.catalog.collection(db, coll)?.docs.entries() ?? []) state.set(key, doc);
    const entries = this.oplog.all();
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i] as OplogEntry;
      if (compareTimestamps(entry.ts, ts) <= 0) break;
      if (entry.db !== db || entry.coll !== coll || !('key' in entry)) continue;
      state.set(entry.key, entry.op === 'insert' ? null : (entry.before ?? null));
    }
    return state.valueList().filter((doc): doc is Document => doc !== null);
  }

  /** What reads see instead of the latest state while commits are held: each key as before its first held change. */
  private heldOverlay(db: string, coll: string): SortedMap<Document | null> | undefined {
    if (this.held.length === 0) return undefined;
    const overlay = new SortedMap<Document | null>();
    for (const { changes } of this.held) {
      for (const change of changes) {
        if (change.db !== db || change.coll !== coll) continue;
        const key = (change.op === 'delete' ? change.before : change.after)._id;
        if (!overlay.has(key)) overlay.set(key, change.op === 'insert' ? null : change.before);
      }
    }
    return overlay.size === 0 ? undefined : overlay;
  }

  /** Number of commits in the oplog whose data reads cannot see yet. */
  get heldCommitCount(): number {
    return this.held.length;
  }

  /** Makes every held commit visible to reads, in log order. */
  releaseHeldCommits(): void {
    for (const commit of this.held) commit.due = true;
    this.flushHeld();
  }

  /**
   * The majority commit point: the cluster time just before the first held commit (the latest cluster time when
   * none is held). The `operationTime` of a `readConcern: majority` read.
   */
  majorityCommitPoint(): Timestamp {
    return this.held[0]?.before ?? this.clock.current();
  }

  private flushHeld(): void {
    let released = false;
    while (this.held[0]?.due === true) {
      const commit = this.held.shift() as HeldCommit;
      for (const entry of commit.entries) entry.visibleAt = Date.now() + this.changeStreamLagMs;
      released = true;
    }
    // Change streams waiting in a getMore look again.
    if (released) this.oplog.wakeAll();
  }

  private holdIfLagging(changes: readonly Change[], entries: readonly OplogEntry[], before: Timestamp): void {
    const lag = this.visibilityLag;
    if (lag === null && this.held.length === 0) return;
    const commit: HeldCommit = {
      changes,
      entries,
      before,
      due: lag === null || (lag.holdCommits !== true && lag.delayMs === undefined),
    };
    for (const entry of entries) entry.visibleAt = Number.POSITIVE_INFINITY;
    this.held.push(commit);
    if (lag?.holdCommits !== true && lag?.delayMs !== undefined) {
      // unref: a pending release must not keep a test process alive.
      setTimeout(() => {
        commit.due = true;
        this.flushHeld();
      }, lag.delayMs).unref();
    }
    this.flushHeld();
  }

  /** Writes one change: staged in `txn`, or committed now with its own cluster time. */
  write(change: Change, txn?: Transaction): void {
    if (change.op === 'insert' && this.get(change.db, change.coll, change.after._id, txn, 'write') !== undefined) {
      throw new CommandError(
        'DuplicateKey',
        `E11000 duplicate key error collection: ${change.db}.${change.coll} index: _id_ dup key: { _id: ${describeKey(change.after._id)} }`,
      );
    }
    if (txn !== undefined) txn.stage(change);
    else this.commit([change]);
  }

  /** Commits changes atomically under one cluster time, creating collections on first write. */
  commit(changes: readonly Change[], txn?: Transaction): Timestamp | undefined {
    if (changes.length === 0) return undefined;
    for (const change of changes) this.ensureCollection(change.db, change.coll);
    const before = this.clock.current();
    const ts = this.clock.tick();
    const wall = new Date();
    const entries: OplogEntry[] = changes.map((change, index) => {
      const collection = this.catalog.collection(change.db, change.coll) as Collection;
      const key = (change.op === 'delete' ? change.before : change.after)._id;
      if (change.op === 'delete') collection.docs.delete(key);
      else collection.docs.set(key, change.after);
      const entry: DocumentEntry = {
        ts,
        wall,
        txnOpIndex: index,
        visibleAt: Date.now() + this.changeStreamLagMs,
        db: change.db,
        coll: change.coll,
        uuid: collection.uuid,
        op: change.op,
        key,
        before: change.op === 'insert' ? undefined : change.before,
        after: change.op === 'delete' ? undefined : change.after,
        description: change.op === 'update' ? change.description : undefined,
        imagesRecorded: collection.options.changeStreamPreAndPostImages,
        ...(txn === undefined ? {} : { lsid: txn.lsid, txnNumber: txn.txnNumber }),
      };
      return entry;
    });
    // Held before they are appended, so no change stream sees them in between.
    this.holdIfLagging(changes, entries, before);
    this.oplog.append(entries);
    return ts;
  }

  ensureCollection(db: string, coll: string, options?: Partial<CollectionOptions>): Collection {
    const existing = this.catalog.collection(db, coll);
    if (existing !== undefined) return existing;
    const created = this.catalog.create(db, coll, {
      changeStreamPreAndPostImages: options?.changeStreamPreAndPostImages ?? this.options.preAndPostImagesByDefault,
      given: options?.given ?? {},
    });
    this.logCommand({
      op: 'create',
      db,
      coll,
      uuid: created.uuid,
      detail: { idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } },
    });
    return created;
  }

  /** Appends a DDL entry (create, drop, rename, dropDatabase, modify, noop) with its own cluster time. */
  logCommand(fields: Omit<CommandEntry, 'ts' | 'wall' | 'txnOpIndex' | 'visibleAt'>): Timestamp {
    const ts = this.clock.tick();
    this.oplog.append([this.commandEntry(ts, fields)]);
    return ts;
  }

  private commandEntry(
    ts: Timestamp,
    fields: Omit<CommandEntry, 'ts' | 'wall' | 'txnOpIndex' | 'visibleAt'>,
  ): CommandEntry {
    return { ...fields, ts, wall: new Date(), txnOpIndex: 0, visibleAt: Date.now() + this.changeStreamLagMs };
  }
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'object' && key !== null && 'toHexString' in key) {
    return `ObjectId('${(key as { toHexString(): string }).toHexString()}')`;
  }
  return String(key);
}
