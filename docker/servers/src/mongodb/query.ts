/**
 * The simulator's query language: filters, sorts and projections over stored documents.
 *
 * Semantics from the manual's query operator pages
 * (https://www.mongodb.com/docs/manual/reference/operator/query/): a field's value matches an operand when it, or one
 * of its array elements, does; range operators compare only within the operand's type bracket (type bracketing,
 * https://www.mongodb.com/docs/manual/reference/mql/query-predicates/type-bracketing/) except against MinKey/MaxKey;
 * `{ f: null }` also matches a missing field. `$expr` comparisons cross types in BSON order.
 */
import type { BSONRegExp, Document } from 'bson';
import { compareValues, typeRank, valuesEqual } from './compare.js';
import { CommandError } from './errors.js';
import { getPath, isPlainDocument, setPath } from './paths.js';

type Values = unknown[];

/** Every value a path reaches, fanning out over arrays (the array itself counts too). */
function valuesAt(doc: unknown, parts: readonly string[]): Values {
  if (parts.length === 0) return [doc];
  const [head, ...rest] = parts as [string, ...string[]];
  if (Array.isArray(doc)) {
    const out: Values = [];
    if (/^\d+$/.test(head)) out.push(...valuesAt(doc[Number(head)], rest));
    for (const item of doc) if (isPlainDocument(item) || Array.isArray(item)) out.push(...valuesAt(item, parts));
    return out;
  }
  if (!isPlainDocument(doc)) return [];
  const next = doc[head];
  if (next === undefined) return [];
  if (rest.length === 0) return Array.isArray(next) ? [next, ...next] : [next];
  return valuesAt(next, rest);
}

function bsonTypeName(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? (value as { _bsontype?: string })._bsontype : undefined;
}

function isRegex(value: unknown): value is BSONRegExp {
  return bsonTypeName(value) === 'BSONRegExp' || value instanceof RegExp;
}

function toRegExp(value: BSONRegExp | RegExp, extraOptions = ''): RegExp {
  if (value instanceof RegExp) return value;
  const flags = [...new Set(`${value.options}${extraOptions}`.replace(/[^ims]/g, ''))].join('');
  return new RegExp(value.pattern, flags);
}

function regexMatches(re: RegExp, value: unknown): boolean {
  if (typeof value === 'string') return re.test(value);
  return false;
}

function isMinOrMaxKey(value: unknown): boolean {
  const tag = bsonTypeName(value);
  return tag === 'MinKey' || tag === 'MaxKey';
}

function equalsMatch(values: Values, operand: unknown): boolean {
  if (operand === null) return values.length === 0 || values.some((v) => v === null || v === undefined);
  if (isRegex(operand) && !(operand instanceof RegExp)) {
    const re = toRegExp(operand);
    return values.some((v) => regexMatches(re, v) || (isRegex(v) && compareValues(v, operand) === 0));
  }
  return values.some((v) => valuesEqual(v, operand));
}

function rangeMatch(values: Values, operand: unknown, accept: (order: number) => boolean): boolean {
  if (operand === null) return accept(0) && (values.length === 0 || values.some((v) => v === null));
  return values.some((v) => {
    if (!isMinOrMaxKey(operand) && typeRank(v) !== typeRank(operand)) return false;
    return accept(compareValues(v, operand));
  });
}

function operatorMatch(values: Values, operator: string, operand: unknown, siblings: Document): boolean {
  switch (operator) {
    case '$eq':
      return equalsMatch(values, operand);
    case '$ne':
      return !equalsMatch(values, operand);
    case '$gt':
      return rangeMatch(values, operand, (o) => o > 0);
    case '$gte':
      return rangeMatch(values, operand, (o) => o >= 0);
    case '$lt':
      return rangeMatch(values, operand, (o) => o < 0);
    case '$lte':
      return rangeMatch(values, operand, (o) => o <= 0);
    case '$in':
      if (!Array.isArray(operand)) throw new CommandError('BadValue', '$in needs an array');
      return operand.some((item) => equalsMatch(values, item));
    case '$nin':
      if (!Array.isArray(operand)) throw new CommandError('BadValue', '$nin needs an array');
      return !operand.some((item) => equalsMatch(values, item));
    case '$exists':
      return values.length > 0 === Boolean(operand);
    case '$not':
      if (isRegex(operand)) return !values.some((v) => regexMatches(toRegExp(operand), v));
      if (!isPlainDocument(operand)) throw new CommandError('BadValue', '$not needs a regex or a document');
      return !fieldMatch(values, operand);
    case '$regex': {
      const options = typeof siblings.$options === 'string' ? siblings.$options : '';
      const re = isRegex(operand)
        ? toRegExp(operand, options)
        : new RegExp(String(operand), options.replace(/[^ims]/g, ''));
      return values.some((v) => regexMatches(re, v));
    }
    case '$options':
      return true;
    case '$size':
      return values.some((v) => Array.isArray(v) && v.length === Number(unwrapNumber(operand)));
    case '$elemMatch':
      if (!isPlainDocument(operand)) throw new CommandError('BadValue', '$elemMatch needs a document');
      return values.some(
        (v) =>
          Array.isArray(v) &&
          v.some((item) =>
            Object.keys(operand).some((k) => k.startsWith('$'))
              ? fieldMatch([item], operand)
              : isPlainDocument(item) && matches(item, operand),
          ),
      );
    default:
      throw new CommandError('BadValue', `unknown operator: ${operator} (the MongoDB simulator does not implement it)`);
  }
}

function unwrapNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (bsonTypeName(value) !== undefined) return Number((value as { valueOf(): unknown }).valueOf());
  return Number(value);
}

function fieldMatch(values: Values, condition: unknown): boolean {
  if (isPlainDocument(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
    return Object.entries(condition).every(([operator, operand]) =>
      operatorMatch(values, operator, operand, condition),
    );
  }
  return equalsMatch(values, condition);
}

/** Evaluates a tiny aggregation expression for `$expr`: field paths, literals and the comparison operators. */
export function evaluate(doc: Document, expression: unknown): unknown {
  if (typeof expression === 'string' && expression.startsWith('$$ROOT')) return doc;
  if (typeof expression === 'string' && expression.startsWith('$')) return getPath(doc, expression.slice(1));
  if (Array.isArray(expression)) return expression.map((item) => evaluate(doc, item));
  if (!isPlainDocument(expression)) return expression;
  const keys = Object.keys(expression);
  const op = keys[0];
  if (keys.length !== 1 || op === undefined || !op.startsWith('$')) {
    const out: Document = {};
    for (const [key, value] of Object.entries(expression)) out[key] = evaluate(doc, value);
    return out;
  }
  const arg = expression[op];
  const args = (Array.isArray(arg) ? arg : [arg]).map((item) => (op === '$literal' ? item : evaluate(doc, item)));
  const cmp = () => compareValues(args[0] ?? null, args[1] ?? null);
  switch (op) {
    case '$literal':
      return arg;
    case '$eq':
      return cmp() === 0;
    case '$ne':
      return cmp() !== 0;
    case '$gt':
      return cmp() > 0;
    case '$gte':
      return cmp() >= 0;
    case '$lt':
      return cmp() < 0;
    case '$lte':
      return cmp() <= 0;
    case '$and':
      return args.every((a) => truthy(a));
    case '$or':
      return args.some((a) => truthy(a));
    case '$not':
      return !truthy(args[0]);
    case '$in':
      return Array.isArray(args[1]) && args[1].some((item) => compareValues(item, args[0]) === 0);
    case '$size':
      return Array.isArray(args[0]) ? args[0].length : null;
    case '$slice': {
      const array = args[0];
      if (!Array.isArray(array)) return null;
      if (args.length === 2) {
        const n = unwrapNumber(args[1]);
        return n >= 0 ? array.slice(0, n) : array.slice(n);
      }
      const start = unwrapNumber(args[1]);
      return array.slice(start, start + unwrapNumber(args[2]));
    }
    case '$concatArrays':
      return args.every(Array.isArray) ? (args as unknown[][]).flat(1) : null;
    case '$add':
      return args.reduce<number>((sum, a) => sum + unwrapNumber(a), 0);
    case '$type':
      return bsonTypeName(args[0]) ?? typeof args[0];
    default:
      throw new CommandError(
        'BadValue',
        `unknown expression operator: ${op} (the MongoDB simulator does not implement it)`,
      );
  }
}

function truthy(value: unknown): boolean {
  return !(value === false || value === null || value === undefined || value === 0 || unwrapNumberSafe(value) === 0);
}

function unwrapNumberSafe(value: unknown): number | undefined {
  const tag = bsonTypeName(value);
  return tag === 'Int32' || tag === 'Double' || tag === 'Long' ? unwrapNumber(value) : undefined;
}

/** Whether `doc` satisfies `filter`. */
export function matches(doc: Document, filter: Document | undefined): boolean {
  if (filter === undefined) return true;
  for (const [key, condition] of Object.entries(filter)) {
    switch (key) {
      case '$and':
        if (!(condition as Document[]).every((sub) => matches(doc, sub))) return false;
        continue;
      case '$or':
        if (!(condition as Document[]).some((sub) => matches(doc, sub))) return false;
        continue;
      case '$nor':
        if ((condition as Document[]).some((sub) => matches(doc, sub))) return false;
        continue;
      case '$expr':
        if (!truthy(evaluate(doc, condition))) return false;
        continue;
      case '$comment':
        continue;
    }
    if (key.startsWith('$')) throw new CommandError('BadValue', `unknown top level operator: ${key}`);
    if (!fieldMatch(valuesAt(doc, key.split('.')), condition)) return false;
  }
  return true;
}

/** Compares two documents by a sort specification `{ field: 1 | -1, … }`; missing fields sort as null. */
export function compareBySort(sort: Document | undefined): ((a: Document, b: Document) => number) | undefined {
  if (sort === undefined || Object.keys(sort).length === 0) return undefined;
  const keys = Object.entries(sort).map(([path, direction]) => [path, unwrapNumber(direction) < 0 ? -1 : 1] as const);
  return (a, b) => {
    for (const [path, direction] of keys) {
      const order = compareValues(getPath(a, path) ?? null, getPath(b, path) ?? null);
      if (order !== 0) return order * direction;
    }
    return 0;
  };
}

/** Applies a find projection (inclusion or exclusion, dotted paths; `_id` included unless excluded). */
export function project(doc: Document, projection: Document | undefined): Document {
  if (projection === undefined || Object.keys(projection).length === 0) return doc;
  const entries = Object.entries(projection);
  // `{ _id: 1 }` alone is an inclusion too; `_id` is kept unless excluded.
  const inclusive = entries.some(([, value]) => truthy(value));
  if (inclusive) {
    const out: Document = {};
    const idWanted = projection._id === undefined || truthy(projection._id);
    if (idWanted && doc._id !== undefined) out._id = doc._id;
    for (const [path, value] of entries) {
      if (path === '_id' || !truthy(value)) continue;
      const found = getPath(doc, path);
      if (found !== undefined) setPath(out, path, found);
    }
    return out;
  }
  const out: Document = structuredCloneDocument(doc);
  for (const [path] of entries) {
    const parts = path.split('.');
    const leaf = parts.pop() as string;
    const parent = parts.length === 0 ? out : getPath(out, parts.join('.'));
    if (isPlainDocument(parent)) delete parent[leaf];
  }
  return out;
}

function structuredCloneDocument(doc: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(doc))
    out[key] = isPlainDocument(value) ? structuredCloneDocument(value) : value;
  return out;
}
