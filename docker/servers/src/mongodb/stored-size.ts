import { calculateObjectSize, type Document } from 'bson';

/**
 * The BSON size of a stored document, computed once per document. A server answers `$collStats`
 * and `splitVector` from sizes its storage engine keeps (MongoDB manual, `$collStats`
 * `storageStats.size`; `splitVector` uses the average object size); recomputing every document's
 * size per command made the simulator spend ~0.25 s per 100,000 documents on each of them. Safe to
 * remember by object: a write never changes a stored document in place (it stores a new one, and the
 * old one stays the pre-image).
 */
const sizes = new WeakMap<Document, number>();

export function storedSize(doc: Document): number {
  let size = sizes.get(doc);
  if (size === undefined) {
    size = calculateObjectSize(doc);
    sizes.set(doc, size);
  }
  return size;
}
