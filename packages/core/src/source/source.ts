import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { SourceMetrics } from '../metrics/source-metrics.js';
import type { TableFilter } from '../schema/table-filter.js';
import type { EventBatch } from './event-batch.js';

/**
 * A running capture: iterate it for batches of events.
 *
 * @example
 * const source = createSource({ adapter, tables: { include: ['shop.*'] }, checkpointStore: new FileCheckpointStore('cp.json') });
 * for await (const batch of source) {
 *   await apply(batch.events); // the checkpoint is saved when the next batch is asked for
 * }
 */
export interface Source extends AsyncIterable<EventBatch> {
  /** Connects, discovers the tables and starts reading. Iterating starts it too; call it to see setup errors early. */
  start(): Promise<void>;
  /**
   * Tells the source a checkpoint is stored: it is saved to the checkpoint store (if any) and the
   * database may free the log before it. Called for you when a store is configured.
   */
  commit(checkpoint: Checkpoint): Promise<void>;
  /** Captures more tables while running: they are snapshotted (or, outside `initial`, streamed) as the stream goes on. Returns their names. */
  addTables(filter: TableFilter): Promise<readonly string[]>;
  metrics(): SourceMetrics;
  /** Stops reading and closes every connection. Batches not yet taken are dropped. */
  close(): Promise<void>;
}
