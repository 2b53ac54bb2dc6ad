import type { Checkpoint, Row, Sink, TableSchema } from '@highwater/core';

/** A change as a sink stored it, in the suite's terms (an event-keeping sink decodes its own format into this). */
export interface StoredChange {
  readonly kind: 'change';
  /** The source table, qualified as in `SourceInfo.table` (e.g. `cf.items`). */
  readonly table: string;
  readonly op: 'r' | 'c' | 'u' | 'd';
  readonly key: Row;
  readonly after: Row | null;
}

/** A schema change as stored: the table's column names after it, null when the table was dropped. */
export interface StoredSchemaChange {
  readonly kind: 'schema';
  readonly table: string;
  readonly columns: readonly string[] | null;
}

export interface StoredTruncate {
  readonly kind: 'truncate';
  readonly table: string;
}

export type StoredEvent = StoredChange | StoredSchemaChange | StoredTruncate;

/**
 * What a destination holds: the current rows of each source table (a sink that replicates tables),
 * or every event in the order it was stored (a file, a log, a broker subject).
 */
export type StoredData =
  | {
      readonly kind: 'tables';
      /** Source table (`cf.items`) → its rows; a table the sink never created may be absent. */
      readonly tables: ReadonlyMap<string, readonly Row[]>;
    }
  | { readonly kind: 'events'; readonly events: readonly StoredEvent[] };

/** A destination's contents and the checkpoint stored with them. */
export interface StoredState {
  /** The checkpoint stored with the data (null when none is, and always for sinks that do not store checkpoints). */
  readonly checkpoint: Checkpoint | null;
  readonly data: StoredData;
}

/**
 * What the sink conformance suite needs to run against one sink: a way to make the sink for a
 * destination and a way to read back what the destination holds, without the sink's help. It knows
 * nothing about databases or drivers: a sink for a broker writes a harness with a consumer.
 *
 * Every case uses its own destination (`target`, a short lower-case name unique in the run): a table
 * sink maps it to a schema or database, a file sink to a file name, a broker sink to a subject.
 * Making a sink for a `target` again reaches the same stored data, as a restarted process would.
 */
export interface SinkHarness {
  readonly name: string;
  /** Whether the destination keeps rows per key (`tables`) or the stream of events (`events`). */
  readonly stores: 'tables' | 'events';
  /** The sink's `storesCheckpoints` (the suite checks the sink says the same): the crash cases need it. */
  readonly storesCheckpoints: boolean;
  /** Starts what the sink writes to (a throwaway server); called once before the cases. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /**
   * A new, unopened sink writing to `target`. `tables` are the source tables the case writes, as
   * of now: a table sink that creates target tables describes them from these.
   */
  createSink(target: string, tables: readonly TableSchema[]): Promise<Sink>;
  /**
   * What `target` holds now, read from the destination itself (not through a sink object): for a
   * sink that stores checkpoints, only what is committed with the stored checkpoint. `tables` are
   * the source tables as of the last schema change written.
   */
  readBack(target: string, tables: readonly TableSchema[]): Promise<StoredState>;
  /**
   * Ends `sink` the way a crash of its process would while `pending` (a `write` just started) runs:
   * for a database, its sessions killed from the server side; for a file, whatever a crash leaves
   * (a tail of bytes after the stored checkpoint). Resolves once `pending` has settled and nothing of
   * the sink is still running. The suite never calls `close()` on an abandoned sink.
   *
   * Absent: the crash cases are skipped (they are required for sinks that store checkpoints).
   */
  abandon?(sink: Sink, target: string, pending: Promise<void>): Promise<void>;
}
