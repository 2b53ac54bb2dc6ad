/**
 * splitVector (https://www.mongodb.com/docs/manual/reference/command/splitVector/): split points over `_id` so each
 * chunk holds about half of `maxChunkSizeBytes` (or `maxChunkSize` MB), as the server picks them. Needs the
 * splitVector privilege action, which fault injection can deny.
 */
import type { Document } from 'bson';
import { compareValues } from '../compare.js';
import type { CommandHandler } from '../context.js';
import { CommandError } from '../errors.js';
import { isPlainDocument } from '../paths.js';
import { storedSize } from '../stored-size.js';
import { numberArg, splitNamespace, stringArg } from './args.js';
import { requirePrivilege } from './privileges.js';

export const splitCommands: Record<string, CommandHandler> = {
  splitVector(context) {
    const { db, coll } = splitNamespace(stringArg(context.body, 'splitVector'));
    requirePrivilege(context, 'splitVector', coll);
    const keyPattern = context.body.keyPattern;
    if (!isPlainDocument(keyPattern) || Object.keys(keyPattern).join(',') !== '_id') {
      throw new CommandError('BadValue', 'the MongoDB simulator splits on keyPattern { _id: 1 } only');
    }
    const maxBytes =
      context.body.maxChunkSizeBytes !== undefined
        ? numberArg(context.body, 'maxChunkSizeBytes', 0)
        : numberArg(context.body, 'maxChunkSize', 0) * 1024 * 1024;
    if (!(maxBytes > 0)) throw new CommandError('BadValue', 'splitVector needs maxChunkSizeBytes or maxChunkSize > 0');
    const min = isPlainDocument(context.body.min) ? context.body.min._id : undefined;
    const max = isPlainDocument(context.body.max) ? context.body.max._id : undefined;
    const docs = context.state.engine
      .scan(db, coll)
      .filter(
        (doc) =>
          (min === undefined || compareValues(doc._id, min) >= 0) &&
          (max === undefined || compareValues(doc._id, max) < 0),
      );
    if (docs.length === 0) return { splitKeys: [] };
    const avgSize = docs.reduce((sum, doc) => sum + storedSize(doc), 0) / docs.length;
    const perChunk = Math.max(1, Math.floor(maxBytes / (2 * avgSize)));
    const splitKeys: Document[] = [];
    for (let i = perChunk; i < docs.length; i += perChunk) splitKeys.push({ _id: (docs[i] as Document)._id });
    return { splitKeys };
  },
};
