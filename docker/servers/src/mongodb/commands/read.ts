/**
 * Read commands: find, getMore, killCursors, count, distinct and aggregate, with cursor replies
 * `{ cursor: { firstBatch | nextBatch, id: Int64, ns, postBatchResumeToken? } }`
 * (https://www.mongodb.com/docs/manual/reference/command/find/, …/getMore/, …/killCursors/, …/aggregate/).
 * `min`/`max` on find are index bounds over `_id` in BSON order, with no type bracketing
 * (https://www.mongodb.com/docs/manual/reference/method/cursor.min/).
 */
import { calculateObjectSize, type Document, Long, type Timestamp } from 'bson';
import { type IdBounds, withinBounds } from '../backend.js';
import { ChangeStream, MAX_BSON_SIZE, type StreamScope } from '../change-stream.js';
import { compareValues, typeRank } from '../compare.js';
import type { CommandContext, CommandHandler } from '../context.js';
import type { Cursor } from '../cursors.js';
import { CommandError } from '../errors.js';
import { isPlainDocument } from '../paths.js';
import { compareBySort, matches, project } from '../query.js';
import { documentArg, numberArg, stringArg } from './args.js';
import { runPipeline } from './pipeline.js';
import { requirePrivilege } from './privileges.js';
import { oplogView } from './oplog-view.js';

const DEFAULT_BATCH = 101;
const DEFAULT_AWAIT_MS = 1000;

/** The cluster time of a `readConcern: { level: 'snapshot' }` read (its `atClusterTime`, else now); else undefined. */
function snapshotTime(context: CommandContext): Timestamp | undefined {
  const readConcern = documentArg(context.body, 'readConcern');
  if (readConcern?.level !== 'snapshot' || context.txn !== undefined) return undefined;
  const at = readConcern.atClusterTime;
  if (at === undefined) return context.state.engine.clock.current();
  if ((at as { _bsontype?: string })._bsontype !== 'Timestamp')
    throw new CommandError('TypeMismatch', 'atClusterTime must be a Timestamp');
  return at as Timestamp;
}

/** The documents a reader sees in a collection, in `_id` order (local.oplog.rs is the oplog itself). */
export function collectionDocuments(context: CommandContext, coll: string): Document[] {
  if (context.db === 'local' && coll === 'oplog.rs') return oplogView(context.state.engine);
  const at = snapshotTime(context);
  if (at !== undefined) return context.state.engine.scanAt(context.db, coll, at);
  return context.state.engine.scan(context.db, coll, context.txn);
}

/** Up to `batchSize` documents from `from`, but never more than 16 MB of them (one at least), as the server batches. */
function takeBatch(docs: readonly Document[], from: number, batchSize: number): Document[] {
  const batch: Document[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length && batch.length < batchSize; i++) {
    const size = calculateObjectSize(docs[i] as Document);
    if (batch.length > 0 && bytes + size > MAX_BSON_SIZE) break;
    batch.push(docs[i] as Document);
    bytes += size;
  }
  return batch;
}

function firstBatchReply(
  context: CommandContext,
  ns: string,
  docs: Document[],
  batchSize: number,
  single = false,
): Document {
  const batch = takeBatch(docs, 0, batchSize);
  let id = Long.ZERO;
  if (!single && docs.length > batch.length) {
    id = context.state.cursors.add({ kind: 'query', ns, docs, position: batch.length });
  }
  const cursor: Document = { firstBatch: batch, id, ns };
  // A snapshot read says which cluster time it read at, so a driver's snapshot session can read there again.
  const at = snapshotTime(context);
  if (at !== undefined) cursor.atClusterTime = at;
  return { cursor };
}

/**
 * The documents a find must look at: an `_id` index range for `min`/`max` and for `_id` range or equality predicates
 * (a superset: the filter still decides), else every document.
 */
function candidates(
  context: CommandContext,
  coll: string,
  filter: Document | undefined,
  min: Document | undefined,
  max: Document | undefined,
): Document[] {
  if ((context.db === 'local' && coll === 'oplog.rs') || snapshotTime(context) !== undefined) {
    const all = collectionDocuments(context, coll);
    return min === undefined && max === undefined
      ? all
      : all.filter((doc) =>
          withinBounds(doc._id, {
            lower: min && { value: min._id, inclusive: true },
            upper: max && { value: max._id, inclusive: false },
          }),
        );
  }
  let lower: IdBounds['lower'] = min === undefined ? undefined : { value: min._id, inclusive: true };
  let upper: IdBounds['upper'] = max === undefined ? undefined : { value: max._id, inclusive: false };
  const condition = filter?._id;
  if (condition !== undefined && min === undefined && max === undefined) {
    if (isPlainDocument(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
      if (condition.$eq !== undefined) lower = upper = { value: condition.$eq, inclusive: true };
      if (condition.$gte !== undefined) lower = { value: condition.$gte, inclusive: true };
      if (condition.$gt !== undefined) lower = { value: condition.$gt, inclusive: false };
      if (condition.$lte !== undefined) upper = { value: condition.$lte, inclusive: true };
      if (condition.$lt !== undefined) upper = { value: condition.$lt, inclusive: false };
    } else if (!isPlainDocument(condition) && !Array.isArray(condition) && typeRank(condition) !== typeRank(/regex/)) {
      // Equality; a regex operand matches strings by pattern instead, so it gets no bounds.
      lower = upper = { value: condition, inclusive: true };
    }
  }
  if (lower === undefined && upper === undefined) return collectionDocuments(context, coll);
  return context.state.engine.scanRange(context.db, coll, { lower, upper }, context.txn);
}

export const readCommands: Record<string, CommandHandler> = {
  find(context) {
    const { body } = context;
    const coll = stringArg(body, 'find');
    requirePrivilege(context, 'find', coll);
    const filter = documentArg(body, 'filter');
    const min = documentArg(body, 'min');
    const max = documentArg(body, 'max');
    if ((min !== undefined || max !== undefined) && body.hint === undefined) {
      throw new CommandError('BadValue', 'min and max require a hint (use hint: { _id: 1 })');
    }
    let docs = candidates(context, coll, filter, min, max).filter((doc) => matches(doc, filter));
    const sort = documentArg(body, 'sort');
    if (sort?.$natural !== undefined) {
      if (numberArg(sort, '$natural', 1) < 0) docs.reverse();
    } else {
      const order = compareBySort(sort);
      if (order !== undefined) docs.sort(order);
    }
    const skip = numberArg(body, 'skip', 0);
    const limit = Math.abs(numberArg(body, 'limit', 0));
    docs = docs.slice(skip, limit > 0 ? skip + limit : undefined);
    const projection = documentArg(body, 'projection');
    if (projection !== undefined) docs = docs.map((doc) => project(doc, projection));
    const batchSize = numberArg(body, 'batchSize', DEFAULT_BATCH);
    return firstBatchReply(
      context,
      `${context.db}.${coll}`,
      docs,
      batchSize === 0 ? 0 : batchSize,
      body.singleBatch === true,
    );
  },

  async getMore(context) {
    const { body } = context;
    const raw = body.getMore;
    const id =
      typeof raw === 'object' && raw !== null && 'toBigInt' in raw ? (raw as Long).toBigInt() : BigInt(Number(raw));
    const cursor = context.state.cursors.get(id);
    if (cursor === undefined) throw new CommandError('CursorNotFound', `cursor id ${id} not found`);
    const batchSize = numberArg(body, 'batchSize', Number.MAX_SAFE_INTEGER);
    if (cursor.kind === 'query') {
      const batch = takeBatch(cursor.docs, cursor.position, batchSize);
      cursor.position += batch.length;
      const done = cursor.position >= cursor.docs.length;
      if (done) context.state.cursors.delete(id);
      return { cursor: { nextBatch: batch, id: done ? Long.ZERO : Long.fromBigInt(id), ns: cursor.ns } };
    }
    return changeStreamBatch(context, id, cursor, batchSize, numberArg(body, 'maxTimeMS', DEFAULT_AWAIT_MS));
  },

  killCursors(context) {
    const ids = Array.isArray(context.body.cursors) ? (context.body.cursors as Long[]) : [];
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (context.state.cursors.delete(Long.fromValue(id).toBigInt()) ? killed : notFound).push(id);
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [] };
  },

  count(context) {
    const coll = stringArg(context.body, 'count');
    requirePrivilege(context, 'find', coll);
    const filter = documentArg(context.body, 'query');
    const skip = numberArg(context.body, 'skip', 0);
    const limit = Math.abs(numberArg(context.body, 'limit', 0));
    let n = collectionDocuments(context, coll).filter((doc) => matches(doc, filter)).length - skip;
    n = Math.max(0, n);
    return { n: limit > 0 ? Math.min(n, limit) : n };
  },

  distinct(context) {
    const coll = stringArg(context.body, 'distinct');
    requirePrivilege(context, 'find', coll);
    const key = stringArg(context.body, 'key');
    const values: unknown[] = [];
    for (const doc of collectionDocuments(context, coll)) {
      if (!matches(doc, documentArg(context.body, 'query'))) continue;
      const value = doc[key];
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && !values.some((seen) => compareValues(seen, item) === 0)) values.push(item);
      }
    }
    return { values: values.sort(compareValues) };
  },

  aggregate(context) {
    const { body } = context;
    const pipeline = body.pipeline;
    if (!Array.isArray(pipeline)) throw new CommandError('FailedToParse', "aggregate needs a 'pipeline' array");
    const batchSize = numberArg(documentArg(body, 'cursor') ?? {}, 'batchSize', DEFAULT_BATCH);
    const first = pipeline[0] as Document | undefined;
    if (first !== undefined && isPlainDocument(first.$changeStream)) {
      return openChangeStream(context, first.$changeStream, pipeline.slice(1) as Document[], batchSize);
    }
    const target = body.aggregate;
    if (typeof target !== 'string') {
      throw new CommandError(
        'InvalidNamespace',
        'aggregate: 1 is only supported with $changeStream by the MongoDB simulator',
      );
    }
    requirePrivilege(context, 'find', target);
    const docs = runPipeline(context, target, collectionDocuments(context, target), pipeline as Document[]);
    return firstBatchReply(context, `${context.db}.${target}`, docs, batchSize);
  },
};

function openChangeStream(context: CommandContext, spec: Document, rest: Document[], batchSize: number): Document {
  const { body, state } = context;
  if (state.standalone) {
    throw new CommandError('Location40573', 'The $changeStream stage is only supported on replica sets');
  }
  let scope: StreamScope;
  if (spec.allChangesForCluster === true) {
    if (context.db !== 'admin') {
      throw new CommandError(
        'InvalidOptions',
        '$changeStream with allChangesForCluster: true must run against the admin database',
      );
    }
    scope = { kind: 'cluster' };
  } else if (typeof body.aggregate === 'string') {
    scope = { kind: 'collection', db: context.db, coll: body.aggregate };
  } else {
    if (context.db === 'admin') {
      throw new CommandError('InvalidOptions', '$changeStream on the admin database needs allChangesForCluster: true');
    }
    scope = { kind: 'database', db: context.db };
  }
  requirePrivilege(context, 'changeStream', scope.kind === 'collection' ? scope.coll : undefined);
  requirePrivilege(context, 'find', scope.kind === 'collection' ? scope.coll : undefined);
  const stream = new ChangeStream(state.engine, { scope, spec, pipeline: rest });
  const ns = scope.kind === 'collection' ? `${scope.db}.${scope.coll}` : `${context.db}.$cmd.aggregate`;
  const batch = stream.next(batchSize);
  const id = batch.closed ? Long.ZERO : state.cursors.add({ kind: 'changeStream', ns, stream });
  return { cursor: { firstBatch: batch.events, postBatchResumeToken: batch.postBatchResumeToken, id, ns } };
}

/** A change-stream getMore waits up to maxTimeMS for events (an awaitData cursor), then returns what it has. */
async function changeStreamBatch(
  context: CommandContext,
  id: bigint,
  cursor: Extract<Cursor, { kind: 'changeStream' }>,
  batchSize: number,
  maxTimeMs: number,
): Promise<Document> {
  const deadline = Date.now() + maxTimeMs;
  const { oplog } = context.state.engine;
  for (;;) {
    let batch: ReturnType<typeof cursor.stream.next>;
    try {
      batch = cursor.stream.next(batchSize);
    } catch (error) {
      context.state.cursors.delete(id);
      throw error;
    }
    const remaining = deadline - Date.now();
    if (batch.events.length > 0 || batch.closed || remaining <= 0 || context.state.cursors.get(id) === undefined) {
      if (batch.closed) context.state.cursors.delete(id);
      return {
        cursor: {
          nextBatch: batch.events,
          postBatchResumeToken: batch.postBatchResumeToken,
          id: batch.closed ? Long.ZERO : Long.fromBigInt(id),
          ns: cursor.ns,
        },
      };
    }
    const lag = cursor.stream.nextVisibleInMs();
    await oplog.waitForAppend(Math.max(1, Math.min(remaining, lag ?? remaining)));
  }
}
