/**
 * splitVector (https://www.mongodb.com/docs/manual/reference/command/splitVector/): split points over `_id` so each
 * chunk holds about half of `maxChunkSizeBytes` (or `maxChunkSize` MB), as the server picks them (checked through
 * pymongo in mongodb-pymongo.test.ts: no split below one chunk's size, the (keyCount+1)-th key and every
 * (keyCount+1)-th after it, keyCount = maxChunkSizeBytes / (2 × average document size)). Needs the
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
    // As the server does: the size estimate is the whole collection's, and a collection smaller than one chunk is
    // not split at all, whatever the range asked for.
    const all = context.state.engine.scan(db, coll);
    const dataSize = all.reduce((sum, doc) => sum + storedSize(doc), 0);
    if (all.length === 0 || dataSize < maxBytes) return { splitKeys: [] };
    const avgSize = Math.floor(dataSize / all.length);
    let keyCount = Math.floor(maxBytes / (2 * avgSize));
    const maxObjects =
      context.body.maxChunkObjects === undefined ? 250_000 : numberArg(context.body, 'maxChunkObjects', 0);
    if (maxObjects > 0 && maxObjects < keyCount) keyCount = maxObjects;
    const maxSplitPoints = context.body.maxSplitPoints === undefined ? 0 : numberArg(context.body, 'maxSplitPoints', 0);
    const docs = all.filter(
      (doc) =>
        (min === undefined || compareValues(doc._id, min) >= 0) &&
        (max === undefined || compareValues(doc._id, max) < 0),
    );
    // The index walk counts keys since the last split point and splits on the key that takes the count past
    // keyCount: the first split key is the (keyCount+1)-th key, then every (keyCount+1)-th after it.
    const splitKeys: Document[] = [];
    let count = 0;
    for (const doc of docs) {
      count++;
      if (count > keyCount) {
        splitKeys.push({ _id: doc._id });
        count = 0;
        if (maxSplitPoints > 0 && splitKeys.length >= maxSplitPoints) break;
      }
    }
    return { splitKeys };
  },
};
