import type { Document } from 'mongodb';
import type { ChangelogMode } from '../options.js';

/** The images of one row change, as documents (converted to rows by the collection's row model). */
export interface ChangeImages {
  readonly before: Document | null;
  readonly after: Document | null;
  /** `full`: `before` is the whole document; `key`: only `{_id}`; `none`: no before (inserts). */
  readonly beforeImage: 'full' | 'key' | 'none';
}

/** A change stream event's fields the image strategies read. */
export interface RowEvent {
  readonly operationType: 'insert' | 'update' | 'replace' | 'delete';
  readonly ns: { readonly db: string; readonly coll: string };
  readonly documentKey: { readonly _id: unknown };
  readonly fullDocument?: Document | null;
  readonly fullDocumentBeforeChange?: Document | null;
  readonly updateDescription?: {
    readonly updatedFields?: Document;
    readonly removedFields?: readonly string[];
    readonly truncatedArrays?: readonly { readonly field: string; readonly newSize: number }[];
  };
}

/**
 * The change stream options of a changelog mode. `preImages` and `upsert` ask for the server's
 * stored images with `required`, so a missing one is an error from the server, never a silent null
 * (MongoDB manual, "Change Streams with Document Pre- and Post-Images"); `normalize` asks for
 * nothing beyond the event and never for `updateLookup`, which returns the document as it is when
 * the event is read, not as it was after the change.
 */
export function streamImageOptions(mode: ChangelogMode): { fullDocument: string; fullDocumentBeforeChange: string } {
  switch (mode) {
    case 'preImages':
      return { fullDocument: 'required', fullDocumentBeforeChange: 'required' };
    case 'upsert':
      return { fullDocument: 'required', fullDocumentBeforeChange: 'off' };
    case 'normalize':
      return { fullDocument: 'default', fullDocumentBeforeChange: 'off' };
  }
}

/** Images of `preImages` mode: both from the server. */
export function serverImages(event: RowEvent): ChangeImages {
  const key = { _id: event.documentKey._id };
  switch (event.operationType) {
    case 'insert':
      return { before: null, after: required(event.fullDocument, 'fullDocument', event), beforeImage: 'none' };
    case 'delete':
      return {
        before: required(event.fullDocumentBeforeChange, 'fullDocumentBeforeChange', event) ?? key,
        after: null,
        beforeImage: 'full',
      };
    default:
      return {
        before: required(event.fullDocumentBeforeChange, 'fullDocumentBeforeChange', event),
        after: required(event.fullDocument, 'fullDocument', event),
        beforeImage: 'full',
      };
  }
}

/** Images of `upsert` mode: the after-image from the server, the key as the before-image. */
export function afterImages(event: RowEvent): ChangeImages {
  const key = { _id: event.documentKey._id };
  switch (event.operationType) {
    case 'insert':
      return { before: null, after: required(event.fullDocument, 'fullDocument', event), beforeImage: 'none' };
    case 'delete':
      return { before: key, after: null, beforeImage: 'key' };
    default:
      return { before: key, after: required(event.fullDocument, 'fullDocument', event), beforeImage: 'key' };
  }
}

/** The server sends `required` images or fails; a null here means a server that ignored the option. */
function required(doc: Document | null | undefined, field: string, event: RowEvent): Document {
  if (doc === null || doc === undefined) {
    throw new MissingImageError(
      `the ${event.operationType} event of ${event.ns.db}.${event.ns.coll} has no ${field}, although the change stream asked for it as required`,
    );
  }
  return doc;
}

/** A change stream event without an image it must have (see `toHighwaterError`, which names the collMod to run). */
export class MissingImageError extends Error {
  readonly code = 280;
}
