import type { TableSnapshot } from '../enumerator/table-snapshot.js';
import type { TableSchema } from '../schema/table-schema.js';
import type { RetainedChanges } from '../stream/retained-changes.js';

/** A table the source captures: streaming only, or still being snapshotted (then `snapshot` and `retained` are set). */
export interface CapturedTable<O> {
  readonly name: string;
  schema: TableSchema;
  columnNames: readonly string[];
  snapshot: TableSnapshot<O> | null;
  retained: RetainedChanges<O> | null;
}
