/**
 * The aggregation stages the simulator runs over a collection: $match, $sort, $skip, $limit, $project, $count,
 * $group (accumulators $sum, $min, $max, $first, $last, $avg), $bucketAuto and $collStats
 * (https://www.mongodb.com/docs/manual/reference/operator/aggregation-pipeline/).
 */
import { type Document, Int32 } from 'bson';
import { compareValues, isNumber, toDouble } from '../compare.js';
import type { CommandContext } from '../context.js';
import { CommandError } from '../errors.js';
import { isPlainDocument } from '../paths.js';
import { compareBySort, evaluate, matches, project } from '../query.js';
import { storedSize } from '../stored-size.js';
import { numberArg } from './args.js';

function group(docs: Document[], spec: Document): Document[] {
  const groups: { key: unknown; members: Document[] }[] = [];
  for (const doc of docs) {
    const key = evaluate(doc, spec._id) ?? null;
    const found = groups.find((g) => compareValues(g.key, key) === 0);
    if (found === undefined) groups.push({ key, members: [doc] });
    else found.members.push(doc);
  }
  return groups.map(({ key, members }) => {
    const out: Document = { _id: key };
    for (const [field, accumulator] of Object.entries(spec)) {
      if (field === '_id') continue;
      if (!isPlainDocument(accumulator))
        throw new CommandError('BadValue', `$group field ${field} needs an accumulator`);
      const [op, expression] = Object.entries(accumulator)[0] ?? [];
      const values = members.map((doc) => evaluate(doc, expression)).filter((v) => v !== undefined);
      const numbers = values.filter(isNumber).map(toDouble);
      switch (op) {
        case '$sum':
          out[field] = numbers.reduce((a, b) => a + b, 0);
          break;
        case '$avg':
          out[field] = numbers.length === 0 ? null : numbers.reduce((a, b) => a + b, 0) / numbers.length;
          break;
        case '$min':
          out[field] = values.length === 0 ? null : values.reduce((a, b) => (compareValues(a, b) <= 0 ? a : b));
          break;
        case '$max':
          out[field] = values.length === 0 ? null : values.reduce((a, b) => (compareValues(a, b) >= 0 ? a : b));
          break;
        case '$first':
          out[field] = values[0] ?? null;
          break;
        case '$last':
          out[field] = values[values.length - 1] ?? null;
          break;
        default:
          throw new CommandError('BadValue', `accumulator ${String(op)} is not implemented by the MongoDB simulator`);
      }
    }
    return out;
  });
}

/**
 * $bucketAuto over a sorted group-by value: `buckets` buckets of near-equal counts, each `{ _id: { min, max }, count }`,
 * a bucket's `max` being the next bucket's `min` (the last one's is its largest value)
 * (https://www.mongodb.com/docs/manual/reference/operator/aggregation/bucketAuto/).
 */
function bucketAuto(docs: Document[], spec: Document): Document[] {
  const buckets = numberArg(spec, 'buckets', 0);
  if (buckets < 1) throw new CommandError('BadValue', '$bucketAuto needs buckets >= 1');
  const values = docs.map((doc) => evaluate(doc, spec.groupBy) ?? null).sort(compareValues);
  if (values.length === 0) return [];
  const perBucket = Math.ceil(values.length / buckets);
  const out: Document[] = [];
  let start = 0;
  while (start < values.length) {
    let end = Math.min(values.length, start + perBucket);
    // Equal values never straddle two buckets.
    while (end < values.length && compareValues(values[end], values[end - 1]) === 0) end += 1;
    out.push({
      _id: { min: values[start], max: end < values.length ? values[end] : values[end - 1] },
      count: new Int32(end - start),
    });
    start = end;
  }
  return out;
}

export function runPipeline(
  context: CommandContext,
  coll: string,
  input: Document[],
  pipeline: Document[],
): Document[] {
  let docs = input;
  for (const stage of pipeline) {
    const [name, spec] = Object.entries(stage)[0] ?? [];
    switch (name) {
      case '$match':
        docs = docs.filter((doc) => matches(doc, spec as Document));
        break;
      case '$sort': {
        const order = compareBySort(spec as Document);
        docs = order === undefined ? docs : [...docs].sort(order);
        break;
      }
      case '$skip':
        docs = docs.slice(toDouble(spec));
        break;
      case '$limit':
        docs = docs.slice(0, toDouble(spec));
        break;
      case '$project':
        docs = docs.map((doc) => project(doc, spec as Document));
        break;
      case '$count':
        docs = docs.length === 0 ? [] : [{ [String(spec)]: new Int32(docs.length) }];
        break;
      case '$group':
        docs = group(docs, spec as Document);
        break;
      case '$bucketAuto':
        if (context.state.deniedActions.has('bucketAuto')) {
          throw new CommandError('Unauthorized', `not authorized on ${context.db}.${coll} to run $bucketAuto`);
        }
        docs = bucketAuto(docs, spec as Document);
        break;
      case '$collStats': {
        const size = docs.reduce((sum, doc) => sum + storedSize(doc), 0);
        const count = docs.length;
        docs = [
          {
            ns: `${context.db}.${coll}`,
            host: `127.0.0.1:${context.state.port}`,
            localTime: new Date(),
            storageStats: { size, count, avgObjSize: count === 0 ? 0 : Math.round(size / count), storageSize: size },
            count: { count },
          },
        ];
        break;
      }
      default:
        throw new CommandError(
          'BadValue',
          `aggregation stage ${String(name)} is not implemented by the MongoDB simulator`,
        );
    }
  }
  return docs;
}
