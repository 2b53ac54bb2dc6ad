/**
 * Catalog commands: create, drop, dropDatabase, renameCollection, collMod (changeStreamPreAndPostImages),
 * listCollections, listDatabases and the index commands
 * (https://www.mongodb.com/docs/manual/reference/command/nav-administration/). Each change to the catalog is an
 * oplog entry, so change streams see drop, rename, dropDatabase (and create/modify with showExpandedEvents).
 */
import { calculateObjectSize, type Document, Long } from 'bson';
import type { CommandContext, CommandHandler } from '../context.js';
import { CommandError } from '../errors.js';
import { isPlainDocument } from '../paths.js';
import { matches } from '../query.js';
import { splitNamespace, stringArg } from './args.js';
import { requirePrivilege } from './privileges.js';

function preImagesOption(body: Document): boolean | undefined {
  const option = body.changeStreamPreAndPostImages;
  if (option === undefined) return undefined;
  if (!isPlainDocument(option) || typeof option.enabled !== 'boolean') {
    throw new CommandError('TypeMismatch', 'changeStreamPreAndPostImages must be { enabled: <boolean> }');
  }
  return option.enabled;
}

/** Collection options `create` takes and `collMod` changes (https://www.mongodb.com/docs/manual/reference/command/create/). */
const CREATE_OPTIONS = [
  'capped',
  'size',
  'max',
  'validator',
  'validationLevel',
  'validationAction',
  'collation',
  'expireAfterSeconds',
];
const MODIFIABLE_OPTIONS = ['validator', 'validationLevel', 'validationAction', 'expireAfterSeconds'];

function pickOptions(body: Document, names: readonly string[]): Document {
  const picked: Document = {};
  for (const name of names) if (body[name] !== undefined) picked[name] = body[name];
  return picked;
}

function dropCollection(context: CommandContext, db: string, coll: string): boolean {
  const { engine } = context.state;
  const existing = engine.catalog.collection(db, coll);
  if (existing === undefined) return false;
  engine.catalog.drop(db, coll);
  engine.logCommand({ op: 'drop', db, coll, uuid: existing.uuid });
  return true;
}

export const ddlCommands: Record<string, CommandHandler> = {
  create(context) {
    const coll = stringArg(context.body, 'create');
    requirePrivilege(context, 'createCollection', coll);
    if (context.state.engine.catalog.collection(context.db, coll) !== undefined) {
      throw new CommandError('NamespaceExists', `Collection ${context.db}.${coll} already exists.`);
    }
    const enabled = preImagesOption(context.body);
    const given = pickOptions(context.body, CREATE_OPTIONS);
    context.state.engine.ensureCollection(
      context.db,
      coll,
      enabled === undefined ? { given } : { changeStreamPreAndPostImages: enabled, given },
    );
    return {};
  },

  drop(context) {
    const coll = stringArg(context.body, 'drop');
    requirePrivilege(context, 'dropCollection', coll);
    // Dropping a missing collection succeeds since MongoDB 7.0 (https://www.mongodb.com/docs/manual/reference/command/drop/).
    dropCollection(context, context.db, coll);
    return { ns: `${context.db}.${coll}` };
  },

  dropDatabase(context) {
    requirePrivilege(context, 'dropDatabase');
    const { engine } = context.state;
    const names = engine.catalog.collections(context.db).map((c) => c.name);
    for (const coll of names) dropCollection(context, context.db, coll);
    engine.catalog.dropDatabase(context.db);
    engine.logCommand({ op: 'dropDatabase', db: context.db });
    return { dropped: context.db };
  },

  renameCollection(context) {
    const from = splitNamespace(stringArg(context.body, 'renameCollection'));
    const to = splitNamespace(stringArg(context.body, 'to'));
    requirePrivilege(context, 'renameCollectionSameDB');
    const { engine } = context.state;
    const source = engine.catalog.collection(from.db, from.coll);
    if (source === undefined)
      throw new CommandError('NamespaceNotFound', `Source collection ${from.db}.${from.coll} does not exist`);
    if (engine.catalog.collection(to.db, to.coll) !== undefined) {
      if (context.body.dropTarget !== true) {
        throw new CommandError(
          'NamespaceExists',
          `Target collection ${to.db}.${to.coll} exists; pass dropTarget: true`,
        );
      }
      dropCollection(context, to.db, to.coll);
    }
    engine.catalog.rename(from.db, from.coll, to.db, to.coll);
    engine.logCommand({ op: 'rename', db: from.db, coll: from.coll, uuid: source.uuid, to });
    return {};
  },

  collMod(context) {
    const coll = stringArg(context.body, 'collMod');
    requirePrivilege(context, 'collMod', coll);
    const collection = context.state.engine.catalog.collection(context.db, coll);
    if (collection === undefined)
      throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.db}.${coll}`);
    const enabled = preImagesOption(context.body);
    const detail: Document = pickOptions(context.body, MODIFIABLE_OPTIONS);
    Object.assign(collection.options.given, detail);
    if (enabled !== undefined) {
      detail.changeStreamPreAndPostImages = { enabled };
      collection.options.changeStreamPreAndPostImages = enabled;
    }
    context.state.engine.logCommand({ op: 'modify', db: context.db, coll, uuid: collection.uuid, detail });
    return {};
  },

  listCollections(context) {
    requirePrivilege(context, 'listCollections');
    const filter = isPlainDocument(context.body.filter) ? context.body.filter : undefined;
    const infos = context.state.engine.catalog
      .collections(context.db)
      .map((c) => ({
        name: c.name,
        type: 'collection',
        options: {
          ...c.options.given,
          ...(c.options.changeStreamPreAndPostImages ? { changeStreamPreAndPostImages: { enabled: true } } : {}),
        },
        info: { readOnly: false, uuid: c.uuid },
        idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
      }))
      .filter((info) => matches(info, filter));
    const batch = context.body.nameOnly === true ? infos.map((info) => ({ name: info.name, type: info.type })) : infos;
    return { cursor: { firstBatch: batch, id: Long.ZERO, ns: `${context.db}.$cmd.listCollections` } };
  },

  listDatabases(context) {
    const { catalog } = context.state.engine;
    const databases = catalog.databaseNames().map((name) => {
      const sizeOnDisk = catalog
        .collections(name)
        .reduce((sum, c) => sum + c.docs.valueList().reduce((s, doc) => s + calculateObjectSize(doc), 0), 0);
      return { name, sizeOnDisk, empty: sizeOnDisk === 0 };
    });
    const totalSize = databases.reduce((sum, d) => sum + d.sizeOnDisk, 0);
    return context.body.nameOnly === true
      ? { databases: databases.map((d) => ({ name: d.name })) }
      : { databases, totalSize };
  },

  createIndexes(context) {
    const coll = stringArg(context.body, 'createIndexes');
    const collection = context.state.engine.ensureCollection(context.db, coll);
    const before = collection.indexes.length;
    for (const spec of (context.body.indexes as Document[] | undefined) ?? []) {
      if (!collection.indexes.some((index) => index.name === spec.name)) collection.indexes.push({ v: 2, ...spec });
    }
    // Indexes other than _id are recorded for listIndexes but not used: every query scans (a simplification).
    return {
      numIndexesBefore: before,
      numIndexesAfter: collection.indexes.length,
      createdCollectionAutomatically: false,
    };
  },

  listIndexes(context) {
    const coll = stringArg(context.body, 'listIndexes');
    const collection = context.state.engine.catalog.collection(context.db, coll);
    if (collection === undefined)
      throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.db}.${coll}`);
    return { cursor: { firstBatch: collection.indexes, id: Long.ZERO, ns: `${context.db}.${coll}` } };
  },

  dropIndexes(context) {
    const coll = stringArg(context.body, 'dropIndexes');
    const collection = context.state.engine.catalog.collection(context.db, coll);
    if (collection === undefined)
      throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.db}.${coll}`);
    const name = context.body.index;
    collection.indexes.splice(
      0,
      collection.indexes.length,
      ...collection.indexes.filter((index) => index.name === '_id_' || (name !== '*' && index.name !== name)),
    );
    return {};
  },
};
