/**
 * Update operators and the update description a change stream reports for them.
 *
 * Operators from https://www.mongodb.com/docs/manual/reference/operator/update/ ($set, $unset, $inc, $mul, $min,
 * $max, $push with $each, $addToSet, $pop, $pull, $rename, $currentDate, $setOnInsert) and pipeline updates
 * (https://www.mongodb.com/docs/manual/tutorial/update-documents-with-aggregation-pipeline/: $set/$addFields,
 * $unset, $replaceWith/$replaceRoot). The description follows the update event page
 * (https://www.mongodb.com/docs/manual/reference/change-events/update/): `updatedFields` maps dotted paths to new
 * values, `removedFields` lists removed paths, `truncatedArrays` lists `{ field, newSize }` for arrays a pipeline
 * update shortened.
 */
import { type Document, Double, Int32, Long } from 'bson';
import { compareValues, isNumber, toDouble, valuesEqual } from './compare.js';
import { CommandError } from './errors.js';
import { cloneValue, getPath, isPlainDocument, setPath, unsetPath } from './paths.js';
import { evaluate, matches } from './query.js';

export interface UpdateDescription {
  readonly updatedFields: Document;
  readonly removedFields: string[];
  readonly truncatedArrays: { field: string; newSize: number }[];
}

export type UpdateResult =
  | { readonly kind: 'replace'; readonly after: Document }
  | { readonly kind: 'update'; readonly after: Document; readonly description: UpdateDescription };

/** True for `{ $set: … }`-style updates, false for replacement documents. */
export function isOperatorUpdate(update: Document | Document[]): boolean {
  return Array.isArray(update) || Object.keys(update).some((key) => key.startsWith('$'));
}

function arithmetic(current: unknown, operand: unknown, op: 'inc' | 'mul', path: string): unknown {
  const base = current === undefined ? (op === 'inc' ? new Int32(0) : new Int32(0)) : current;
  if (!isNumber(base) || !isNumber(operand)) {
    throw new CommandError('TypeMismatch', `Cannot apply $${op} to a non-numeric value at '${path}'`);
  }
  const tagOf = (v: unknown) =>
    typeof v === 'object' && v !== null ? (v as { _bsontype?: string })._bsontype : 'Double';
  const tags = [tagOf(base), tagOf(operand)];
  const toBig = (v: unknown) => (tagOf(v) === 'Long' ? (v as Long).toBigInt() : BigInt(toDouble(v)));
  if (tags.includes('Double') || tags.includes('Decimal128') || tags.some((t) => t === undefined)) {
    const a = toDouble(base);
    const b = toDouble(operand);
    return new Double(op === 'inc' ? a + b : a * b);
  }
  const result = op === 'inc' ? toBig(base) + toBig(operand) : toBig(base) * toBig(operand);
  if (tags.includes('Long') || result > 2147483647n || result < -2147483648n) return Long.fromBigInt(result);
  return new Int32(Number(result));
}

/** Paths an operator update touched: what the update event's description is built from. */
class Touched {
  readonly set = new Set<string>();
  readonly removed = new Set<string>();
  markSet(path: string): void {
    this.removed.delete(path);
    this.set.add(path);
  }
  markRemoved(path: string): void {
    this.set.delete(path);
    this.removed.add(path);
  }
}

function applyOperator(doc: Document, op: string, args: Document, touched: Touched, isInsert: boolean): void {
  for (const [path, operand] of Object.entries(args)) {
    if (path === '_id' && op !== '$setOnInsert' && !isInsert && op !== '$set') {
      throw new CommandError(
        'BadValue',
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
    const current = getPath(doc, path);
    switch (op) {
      case '$set':
        if (path === '_id' && !isInsert && !valuesEqual(current, operand)) {
          throw new CommandError(
            'BadValue',
            "Performing an update on the path '_id' would modify the immutable field '_id'",
          );
        }
        if (current === undefined || compareValues(current, operand) !== 0 || !sameType(current, operand)) {
          setPath(doc, path, cloneValue(operand));
          touched.markSet(path);
        }
        break;
      case '$setOnInsert':
        if (isInsert) {
          setPath(doc, path, cloneValue(operand));
          touched.markSet(path);
        }
        break;
      case '$unset':
        if (unsetPath(doc, path)) touched.markRemoved(path);
        break;
      case '$inc':
      case '$mul':
        setPath(doc, path, arithmetic(current, operand, op === '$inc' ? 'inc' : 'mul', path));
        touched.markSet(path);
        break;
      case '$min':
      case '$max':
        if (
          current === undefined ||
          (op === '$min' ? compareValues(operand, current) < 0 : compareValues(operand, current) > 0)
        ) {
          setPath(doc, path, cloneValue(operand));
          touched.markSet(path);
        }
        break;
      case '$currentDate':
        setPath(doc, path, new Date());
        touched.markSet(path);
        break;
      case '$rename': {
        if (current === undefined) break;
        unsetPath(doc, path);
        touched.markRemoved(path);
        setPath(doc, String(operand), current);
        touched.markSet(String(operand));
        break;
      }
      case '$push':
      case '$addToSet': {
        const items =
          isPlainDocument(operand) && Array.isArray(operand.$each) ? (operand.$each as unknown[]) : [operand];
        if (current !== undefined && !Array.isArray(current)) {
          throw new CommandError('BadValue', `The field '${path}' must be an array to ${op} to it`);
        }
        const array = (current as unknown[] | undefined) ?? [];
        const created = current === undefined;
        for (const item of items) {
          if (op === '$addToSet' && array.some((existing) => valuesEqual(existing, item))) continue;
          array.push(cloneValue(item));
          // An append to an existing array is reported per element ("arr.3"), as the server's delta oplog does.
          if (!created) touched.markSet(`${path}.${array.length - 1}`);
        }
        if (created) {
          setPath(doc, path, array);
          touched.markSet(path);
        }
        break;
      }
      case '$pop':
      case '$pull': {
        if (current === undefined) break;
        if (!Array.isArray(current))
          throw new CommandError('BadValue', `The field '${path}' must be an array to ${op} from it`);
        const kept =
          op === '$pop'
            ? toDouble(operand) < 0
              ? current.slice(1)
              : current.slice(0, -1)
            : current.filter((item) =>
                isPlainDocument(operand) && isPlainDocument(item)
                  ? !matches(item, operand)
                  : isPlainDocument(operand) && Object.keys(operand).some((k) => k.startsWith('$'))
                    ? !matches({ v: item }, { v: operand })
                    : !valuesEqual(item, operand),
              );
        if (kept.length !== current.length) {
          setPath(doc, path, kept);
          touched.markSet(path);
        }
        break;
      }
      default:
        throw new CommandError(
          'FailedToParse',
          `Unknown modifier: ${op} (the MongoDB simulator does not implement it)`,
        );
    }
  }
}

function sameType(a: unknown, b: unknown): boolean {
  const tag = (v: unknown) =>
    typeof v === 'object' && v !== null ? (v as { _bsontype?: string })._bsontype : typeof v;
  return tag(a) === tag(b);
}

/** Keeps only the outermost of nested touched paths ("a" wins over "a.b"), reading final values from `after`. */
function describe(after: Document, touched: Touched): UpdateDescription {
  const covered = (path: string, set: Iterable<string>) => {
    for (const other of set) if (other !== path && path.startsWith(`${other}.`)) return true;
    return false;
  };
  const updatedFields: Document = {};
  for (const path of touched.set)
    if (!covered(path, touched.set)) updatedFields[path] = cloneValue(getPath(after, path));
  const removedFields = [...touched.removed].filter((path) => !covered(path, touched.set));
  return { updatedFields, removedFields, truncatedArrays: [] };
}

/** The description of a pipeline update: a structural diff of before and after, as the server computes one. */
export function diffDocuments(before: Document, after: Document): UpdateDescription {
  const description: UpdateDescription = { updatedFields: {}, removedFields: [], truncatedArrays: [] };
  diffInto(before, after, '', description);
  return description;
}

function diffInto(before: Document, after: Document, prefix: string, out: UpdateDescription): void {
  for (const [key, value] of Object.entries(after)) {
    const path = `${prefix}${key}`;
    diffValue(before[key], value, path, out);
  }
  for (const key of Object.keys(before)) if (!(key in after)) out.removedFields.push(`${prefix}${key}`);
}

function diffValue(old: unknown, value: unknown, path: string, out: UpdateDescription): void {
  if (old === undefined) {
    out.updatedFields[path] = cloneValue(value);
  } else if (isPlainDocument(old) && isPlainDocument(value)) {
    diffInto(old, value, `${path}.`, out);
  } else if (Array.isArray(old) && Array.isArray(value)) {
    if (value.length < old.length) out.truncatedArrays.push({ field: path, newSize: value.length });
    for (const [index, item] of value.entries()) diffValue(old[index], item, `${path}.${index}`, out);
  } else if (!sameType(old, value) || compareValues(old, value) !== 0) {
    out.updatedFields[path] = cloneValue(value);
  }
}

function applyPipeline(before: Document, stages: Document[]): Document {
  let doc = cloneValue(before);
  for (const stage of stages) {
    const [name, spec] = Object.entries(stage)[0] ?? [];
    switch (name) {
      case '$set':
      case '$addFields': {
        const next = cloneValue(doc);
        for (const [path, expression] of Object.entries(spec as Document))
          setPath(next, path, evaluate(doc, expression));
        doc = next;
        break;
      }
      case '$unset':
        for (const path of Array.isArray(spec) ? spec : [spec]) unsetPath(doc, String(path));
        break;
      case '$replaceWith':
      case '$replaceRoot': {
        const replacement = evaluate(doc, name === '$replaceRoot' ? (spec as Document).newRoot : spec);
        if (!isPlainDocument(replacement)) throw new CommandError('BadValue', `${name} needs a document`);
        doc = { _id: doc._id, ...replacement };
        break;
      }
      default:
        throw new CommandError(
          'BadValue',
          `pipeline update stage ${String(name)} is not implemented by the MongoDB simulator`,
        );
    }
  }
  return doc;
}

/**
 * Applies `update` to a copy of `before` (an upsert passes the seed document and `isInsert`). Returns undefined when
 * the document did not change (the update matched but modified nothing, `nModified` 0).
 */
export function applyUpdate(
  before: Document,
  update: Document | Document[],
  isInsert = false,
): UpdateResult | undefined {
  if (Array.isArray(update)) {
    const after = applyPipeline(before, update);
    if (before._id !== undefined && !valuesEqual(after._id, before._id)) {
      throw new CommandError(
        'BadValue',
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
    const description = diffDocuments(before, after);
    const changed =
      Object.keys(description.updatedFields).length +
        description.removedFields.length +
        description.truncatedArrays.length >
      0;
    return changed ? { kind: 'update', after, description } : undefined;
  }
  if (!isOperatorUpdate(update)) {
    if (update._id !== undefined && before._id !== undefined && !valuesEqual(update._id, before._id)) {
      throw new CommandError('BadValue', 'The _id field cannot be changed by a replacement document');
    }
    const after: Document = { _id: before._id, ...cloneValue(update) };
    if (after._id === undefined) delete after._id;
    return { kind: 'replace', after };
  }
  const after = cloneValue(before);
  const touched = new Touched();
  for (const [op, args] of Object.entries(update)) {
    if (!isPlainDocument(args))
      throw new CommandError('FailedToParse', `Modifiers operate on fields but ${op} got no document`);
    applyOperator(after, op, args, touched, isInsert);
  }
  if (touched.set.size + touched.removed.size === 0) return undefined;
  return { kind: 'update', after, description: describe(after, touched) };
}
