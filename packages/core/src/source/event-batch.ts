import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { SourceEvent } from '../events/source-event.js';
import type { WriteFence } from '../sink/write-fence.js';

/**
 * Events handed to the application together with the checkpoint that becomes valid once they are
 * processed: store the checkpoint with the results of the batch (ideally in the same transaction)
 * and a restart from it neither repeats nor loses an event.
 */
export interface EventBatch {
  readonly events: readonly SourceEvent[];
  readonly checkpoint: Checkpoint;
  /** Set by writers that share a target with others (cluster mode): see {@link WriteFence}. Absent: no fencing. */
  readonly fence?: WriteFence;
}
