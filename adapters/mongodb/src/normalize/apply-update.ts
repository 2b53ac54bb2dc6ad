import type { Document } from 'mongodb';

/** The `updateDescription` of an update event (MongoDB manual, "Change Events: update"). */
export interface UpdateDescription {
  /** Paths set, dotted (`'a.b'`, `'items.3'`), with their new values. */
  readonly updatedFields?: Document;
  /** Paths removed. */
  readonly removedFields?: readonly string[];
  /** Arrays cut to a new length (pipeline updates). */
  readonly truncatedArrays?: readonly { readonly field: string; readonly newSize: number }[];
  /**
   * With `showExpandedEvents` (6.1+): the components of every path in `updatedFields`/`removedFields`
   * that is ambiguous — a field name containing a dot, or a numeric field name — with array indexes
   * as numbers and field names as strings.
   */
  readonly disambiguatedPaths?: Readonly<Record<string, readonly (string | number)[]>>;
}

/**
 * The document after an update, from the document before it and the event's update description:
 * arrays truncated first, then fields removed, then fields set — the order the server derives the
 * description in (a truncation makes room before the elements that follow are set). The before
 * document is not modified: containers on changed paths are copied.
 *
 * A numeric path component indexes an array and names a field of a document (the server resolves
 * `a.0` by what `a` holds); `disambiguatedPaths` overrides the split of a dotted path. Setting past
 * the end of an array pads it with nulls, as `$set` does; removing an array element sets it to null,
 * as `$unset` does.
 */
export function applyUpdate(before: Document, description: UpdateDescription): Document {
  const root = { ...before };
  const copied = new Set<unknown>([root]);
  const pathOf = (dotted: string) => description.disambiguatedPaths?.[dotted] ?? dotted.split('.');
  for (const { field, newSize } of description.truncatedArrays ?? []) {
    const { parent, key } = walk(root, pathOf(field), copied, false);
    const array = parent === null ? undefined : (parent as Record<string, unknown>)[key];
    if (Array.isArray(array)) (parent as Record<string, unknown>)[key] = array.slice(0, newSize);
  }
  for (const dotted of description.removedFields ?? []) {
    const { parent, key } = walk(root, pathOf(dotted), copied, false);
    if (parent === null) continue;
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (i < parent.length) parent[i] = null;
    } else {
      delete (parent as Record<string, unknown>)[key];
    }
  }
  for (const [dotted, value] of Object.entries(description.updatedFields ?? {})) {
    const { parent, key } = walk(root, pathOf(dotted), copied, true);
    if (parent === null) continue;
    if (Array.isArray(parent)) {
      const i = Number(key);
      while (parent.length < i) parent.push(null);
      parent[i] = value;
    } else {
      (parent as Record<string, unknown>)[key] = value;
    }
  }
  return root;
}

/**
 * The container holding the last component of `path`, copied (with every container above it) so
 * it can be changed. `create`: missing documents on the way are created (as `$set` does); otherwise
 * a missing step yields a null parent.
 */
function walk(
  root: Document,
  path: readonly (string | number)[],
  copied: Set<unknown>,
  create: boolean,
): { parent: Record<string, unknown> | unknown[] | null; key: string } {
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = String(path[i]);
    const current: unknown = Array.isArray(node) ? node[Number(key)] : node[key];
    let next: Record<string, unknown> | unknown[];
    if (Array.isArray(current)) next = copied.has(current) ? current : [...current];
    else if (isPlainDocument(current)) next = copied.has(current) ? current : { ...current };
    else if (create) next = {};
    else return { parent: null, key: '' };
    copied.add(next);
    if (Array.isArray(node)) {
      const index = Number(key);
      while (node.length < index) node.push(null);
      node[index] = next;
    } else {
      node[key] = next;
    }
    node = next;
  }
  return { parent: node, key: String(path[path.length - 1]) };
}

function isPlainDocument(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    (v as { _bsontype?: unknown })._bsontype === undefined &&
    !(v instanceof Date) &&
    !(v instanceof Uint8Array)
  );
}
