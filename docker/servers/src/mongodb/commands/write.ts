/**
 * Write commands: insert, update, delete and findAndModify, with their reply shapes
 * (https://www.mongodb.com/docs/manual/reference/command/insert/, …/update/, …/delete/, …/findAndModify/):
 * `n`, `nModified`, `upserted`, and `writeErrors` per failed statement (an ordered batch stops at the first).
 */
import { type Document, ObjectId } from 'bson';
import type { Change } from '../backend.js';
import type { CommandContext, CommandHandler } from '../context.js';
import { CommandError } from '../errors.js';
import { cloneValue, isPlainDocument, setPath } from '../paths.js';
import { compareBySort, matches, project } from '../query.js';
import { applyUpdate, isOperatorUpdate } from '../update.js';
import { documentArg, numberArg, stringArg } from './args.js';
import { requirePrivilege } from './privileges.js';

interface WriteError {
  index: number;
  code: number;
  errmsg: string;
}

/** Runs each statement; a failure becomes a write error, and an ordered batch stops there. */
function runStatements<T>(
  context: CommandContext,
  statements: readonly T[],
  run: (statement: T, index: number) => void,
): WriteError[] {
  const ordered = context.body.ordered !== false;
  const errors: WriteError[] = [];
  statements.forEach((statement, index) => {
    if (ordered && errors.length > 0) return;
    try {
      run(statement, index);
    } catch (error) {
      if (!(error instanceof CommandError) || context.txn !== undefined) throw error;
      errors.push({ index, code: error.code, errmsg: error.message });
    }
  });
  return errors;
}

function withErrors(reply: Document, errors: WriteError[]): Document {
  return errors.length === 0 ? reply : { ...reply, writeErrors: errors };
}

function matching(
  context: CommandContext,
  coll: string,
  filter: Document | undefined,
  multi: boolean,
  sort?: Document,
): Document[] {
  const { engine } = context.state;
  const idOnly =
    filter !== undefined &&
    Object.keys(filter).length === 1 &&
    filter._id !== undefined &&
    !isPlainDocument(filter._id);
  const candidates = idOnly
    ? [engine.get(context.db, coll, filter._id, context.txn, 'write')].filter(
        (doc): doc is Document => doc !== undefined,
      )
    : engine.scan(context.db, coll, context.txn, 'write');
  const found = candidates.filter((doc) => matches(doc, filter));
  const order = compareBySort(sort);
  if (order !== undefined) found.sort(order);
  return multi ? found : found.slice(0, 1);
}

/** The document an upsert starts from: the equality conditions of its filter. */
function upsertSeed(filter: Document | undefined): Document {
  const seed: Document = {};
  for (const [path, condition] of Object.entries(filter ?? {})) {
    if (path.startsWith('$')) continue;
    if (isPlainDocument(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
      if (condition.$eq !== undefined) setPath(seed, path, cloneValue(condition.$eq));
      continue;
    }
    setPath(seed, path, cloneValue(condition));
  }
  return seed;
}

/** The server generates a missing `_id` and always stores `_id` as the first field. */
function withId(doc: Document): Document {
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}

interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  before?: Document;
  after?: Document;
}

function updateDocuments(
  context: CommandContext,
  coll: string,
  filter: Document | undefined,
  update: Document | Document[],
  options: { multi: boolean; upsert: boolean; sort?: Document },
): UpdateOutcome {
  if (options.multi && !Array.isArray(update) && !isOperatorUpdate(update)) {
    throw new CommandError('FailedToParse', 'multi update is not supported for replacement-style update');
  }
  const { engine } = context.state;
  const targets = matching(context, coll, filter, options.multi, options.sort);
  if (targets.length === 0) {
    if (!options.upsert) return { matched: 0, modified: 0 };
    const seed = upsertSeed(filter);
    const result = applyUpdate(seed, update, true);
    const after = withId(result?.after ?? seed);
    engine.write({ op: 'insert', db: context.db, coll, after }, context.txn);
    return { matched: 0, modified: 0, upsertedId: after._id, after };
  }
  let modified = 0;
  let last: { before: Document; after: Document } | undefined;
  for (const before of targets) {
    const result = applyUpdate(before, update);
    last = { before, after: result?.after ?? before };
    if (result === undefined) continue;
    const change: Change =
      result.kind === 'replace'
        ? { op: 'replace', db: context.db, coll, before, after: result.after }
        : { op: 'update', db: context.db, coll, before, after: result.after, description: result.description };
    engine.write(change, context.txn);
    modified += 1;
  }
  return { matched: targets.length, modified, before: last?.before, after: last?.after };
}

function deleteDocuments(
  context: CommandContext,
  coll: string,
  filter: Document | undefined,
  multi: boolean,
  sort?: Document,
): Document[] {
  const removed = matching(context, coll, filter, multi, sort);
  for (const before of removed) context.state.engine.write({ op: 'delete', db: context.db, coll, before }, context.txn);
  return removed;
}

/** The target collection and the statement array of a write command, once its privilege is checked. */
function statementsOf(
  context: CommandContext,
  command: string,
  field: string,
  action: string,
): { coll: string; statements: Document[] } {
  const coll = stringArg(context.body, command);
  requirePrivilege(context, action, coll);
  const statements = context.body[field];
  if (!Array.isArray(statements)) throw new CommandError('FailedToParse', `${command} needs a '${field}' array`);
  return { coll, statements: statements as Document[] };
}

export const writeCommands: Record<string, CommandHandler> = {
  insert(context) {
    const { coll, statements } = statementsOf(context, 'insert', 'documents', 'insert');
    let n = 0;
    const errors = runStatements(context, statements, (doc) => {
      context.state.engine.write({ op: 'insert', db: context.db, coll, after: withId(cloneValue(doc)) }, context.txn);
      n += 1;
    });
    return withErrors({ n }, errors);
  },

  update(context) {
    const { coll, statements } = statementsOf(context, 'update', 'updates', 'update');
    let n = 0;
    let nModified = 0;
    const upserted: Document[] = [];
    const errors = runStatements(context, statements, (statement, index) => {
      const outcome = updateDocuments(
        context,
        coll,
        documentArg(statement, 'q'),
        statement.u as Document | Document[],
        {
          multi: statement.multi === true,
          upsert: statement.upsert === true,
        },
      );
      if (outcome.upsertedId !== undefined) {
        upserted.push({ index, _id: outcome.upsertedId });
        n += 1;
      } else {
        n += outcome.matched;
      }
      nModified += outcome.modified;
    });
    const reply: Document = { n, nModified };
    if (upserted.length > 0) reply.upserted = upserted;
    return withErrors(reply, errors);
  },

  delete(context) {
    const { coll, statements } = statementsOf(context, 'delete', 'deletes', 'remove');
    let n = 0;
    const errors = runStatements(context, statements, (statement) => {
      n += deleteDocuments(context, coll, documentArg(statement, 'q'), numberArg(statement, 'limit', 0) === 0).length;
    });
    return withErrors({ n }, errors);
  },

  findAndModify(context) {
    const { body } = context;
    const coll = stringArg(body, 'findAndModify');
    requirePrivilege(context, 'update', coll);
    const filter = documentArg(body, 'query');
    const sort = documentArg(body, 'sort');
    const fields = documentArg(body, 'fields');
    if (body.remove === true) {
      const [removed] = deleteDocuments(context, coll, filter, false, sort);
      return {
        lastErrorObject: { n: removed === undefined ? 0 : 1 },
        value: removed === undefined ? null : project(removed, fields),
      };
    }
    if (body.update === undefined)
      throw new CommandError('FailedToParse', 'findAndModify needs either remove or update');
    const outcome = updateDocuments(context, coll, filter, body.update as Document | Document[], {
      multi: false,
      upsert: body.upsert === true,
      sort,
    });
    const lastErrorObject: Document = {
      n: outcome.upsertedId !== undefined ? 1 : outcome.matched,
      updatedExisting: outcome.matched > 0,
    };
    if (outcome.upsertedId !== undefined) lastErrorObject.upserted = outcome.upsertedId;
    const value = body.new === true ? outcome.after : outcome.upsertedId !== undefined ? undefined : outcome.before;
    return { lastErrorObject, value: value === undefined ? null : project(value, fields) };
  },
};
