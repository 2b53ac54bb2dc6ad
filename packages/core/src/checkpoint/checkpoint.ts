import type { TableSchema } from '../schema/table-schema.js';
import type { JsonValue } from '../values/value.js';

/** A snapshot split as stored in a checkpoint (chunk keys encoded with `valueToJson`). */
export interface StoredSplit {
  readonly index: number;
  readonly start: JsonValue | null;
  readonly end: JsonValue | null;
}

/** Where a table's chunk splitter stands; produced and consumed by `chunking/`. */
export interface SplitterState {
  /** Index the next split will get. */
  readonly nextIndex: number;
  /**
   * Encoded chunk key where the next split starts; `null` before the first split (the first split
   * starts unbounded). Every key at or after it belongs to a split not produced yet.
   */
  readonly nextStart: JsonValue | null;
  /** True once the last split (unbounded end) has been produced. */
  readonly done: boolean;
  /** How boundaries are computed; fixed when the first split is produced. */
  readonly strategy:
    | { readonly kind: 'undecided' }
    | { readonly kind: 'even'; readonly step: string; readonly max: string }
    | { readonly kind: 'walk' };
}

/** Snapshot progress of one table. */
export type TableCheckpoint =
  | {
      readonly phase: 'snapshot';
      readonly splitter: SplitterState;
      /** Splits produced but not finished; re-read from scratch after a restart. */
      readonly unfinished: readonly StoredSplit[];
      readonly splitsDone: number;
      readonly rowsRead: number;
    }
  | { readonly phase: 'stream' };

/**
 * The whole state of a source: small JSON, whatever the table sizes (finished chunks are not
 * listed: a key not in an unfinished split and before the splitter's `nextStart` is finished).
 */
export interface Checkpoint {
  readonly version: 1;
  /** Adapter name; a checkpoint is refused by a source on another adapter. */
  readonly connector: string;
  /** Serialised offset of the last log item processed; events at or before it were all emitted. `null` before the first. */
  readonly position: JsonValue | null;
  /** True when the source runs `snapshot` mode and everything is read: nothing is left to do. */
  readonly complete: boolean;
  readonly tables: { readonly [table: string]: TableCheckpoint };
  /**
   * Each captured table's definition as the source knew it at `position`. A restarted source hands
   * these (not the catalog's definitions) to its log reader, so DDL made while the pipeline was down
   * is reported as schema changes (docs/pipelines.md, "Schema changes while stopped"). Absent in
   * checkpoints written before it existed: the catalog's definitions are used then.
   */
  readonly schemas?: { readonly [table: string]: TableSchema };
}

/** Somewhere to keep the latest checkpoint. `save` must be atomic: after a crash `load` returns the old or the new one, whole. */
export interface CheckpointStore {
  load(): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
}
