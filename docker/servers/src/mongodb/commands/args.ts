/** Reading command arguments, which arrive as BSON values (Int32, Double, Long) rather than JS numbers. */
import type { Document } from 'bson';
import { toDouble } from '../compare.js';
import { CommandError } from '../errors.js';
import { isPlainDocument } from '../paths.js';

export function numberArg(body: Document, field: string, fallback: number): number {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  const n = toDouble(value);
  if (!Number.isFinite(n)) throw new CommandError('TypeMismatch', `'${field}' must be a number`);
  return n;
}

export function stringArg(body: Document, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new CommandError('TypeMismatch', `'${field}' must be a non-empty string (collection name)`);
  }
  return value;
}

export function documentArg(body: Document, field: string): Document | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainDocument(value)) throw new CommandError('TypeMismatch', `'${field}' must be a document`);
  return value;
}

export function splitNamespace(ns: string): { db: string; coll: string } {
  const dot = ns.indexOf('.');
  if (dot <= 0 || dot === ns.length - 1)
    throw new CommandError('InvalidNamespace', `Invalid namespace specified '${ns}'`);
  return { db: ns.slice(0, dot), coll: ns.slice(dot + 1) };
}
