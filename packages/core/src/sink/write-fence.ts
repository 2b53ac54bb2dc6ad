/**
 * A fencing token a writer attaches to a batch when several processes may write to one target and
 * only the newest claim may land (a cluster's leader epoch, a chunk's attempt). A sink that honours
 * it (the SQL sinks) keeps, per pipeline and `scope`, the highest `token` it has committed, and
 * refuses a batch with a lower one inside the batch's own transaction — with a `FencedWriteError`,
 * nothing of the batch stored — so a writer that was replaced while it stalled cannot land a batch
 * after its successor's. Equal tokens pass (one writer's batches). Sinks that do not store
 * checkpoints transactionally ignore it: fencing callers accept only sinks that honour it.
 */
export interface WriteFence {
  /** What the claim is for, e.g. `leader` or `chunk:<split id>`; tokens of different scopes never meet. */
  readonly scope: string;
  /** Grows with every new claim of the scope (a non-negative integer). */
  readonly token: number;
}
