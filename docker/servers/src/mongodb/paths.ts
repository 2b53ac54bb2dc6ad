/**
 * Dotted field paths ("a.b.0.c") over documents, as the query and update languages use them
 * (https://www.mongodb.com/docs/manual/core/document/#dot-notation).
 */
import type { Document } from 'bson';
import { CommandError } from './errors.js';

export function isPlainDocument(value: unknown): value is Document {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    (value as { _bsontype?: unknown })._bsontype === undefined
  );
}

/** The value at `path`, or undefined when missing; numeric components index arrays. No array fan-out. */
export function getPath(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) return undefined;
      current = current[Number(part)];
    } else if (isPlainDocument(current)) {
      current = current[part];
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/** Sets `path`, creating empty documents for missing parents; extends arrays with nulls like the server does. */
export function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let current: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const last = i === parts.length - 1;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) {
        throw new CommandError('BadValue', `Cannot create field '${part}' in element of array at path '${path}'`);
      }
      const index = Number(part);
      while (current.length < index) current.push(null);
      if (last) current[index] = value;
      else {
        if (current[index] === undefined || current[index] === null) current[index] = {};
        current = current[index];
      }
    } else if (isPlainDocument(current)) {
      if (last) current[part] = value;
      else {
        if (current[part] === undefined || current[part] === null) current[part] = {};
        current = current[part];
      }
    } else {
      throw new CommandError(
        'BadValue',
        `Cannot create field '${part}' at path '${path}': its parent is not a document`,
      );
    }
  }
}

/** Removes `path` (an array element becomes null, as `$unset` does); true when something was there. */
export function unsetPath(doc: Document, path: string): boolean {
  const parts = path.split('.');
  const leaf = parts.pop() as string;
  const parent = parts.length === 0 ? doc : getPath(doc, parts.join('.'));
  if (Array.isArray(parent)) {
    if (!/^\d+$/.test(leaf) || Number(leaf) >= parent.length) return false;
    parent[Number(leaf)] = null;
    return true;
  }
  if (isPlainDocument(parent) && leaf in parent) {
    delete parent[leaf];
    return true;
  }
  return false;
}

/** A deep copy of a document; BSON value objects (ObjectId, Long, …) are immutable and shared. */
export function cloneValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => cloneValue(item)) as T;
  if (isPlainDocument(value)) {
    const out: Document = {};
    for (const [key, item] of Object.entries(value)) out[key] = cloneValue(item);
    return out as T;
  }
  return value;
}
