/**
 * How commits reach readers late (see {@link MemoryFaults.visibilityLag}).
 *
 * - `{ holdCommits: true }`: every commit is held until `releaseHeldCommits()` — deterministic, for tests
 *   that stage the race exactly.
 * - `{ delayMs, probability }`: each commit is held, with the given probability (default 1), for
 *   `delayMs` milliseconds — for randomised simulations.
 */
export interface VisibilityLag {
  readonly holdCommits?: boolean;
  readonly delayMs?: number;
  readonly probability?: number;
}

/** What the faults act on; supplied by the database. */
export interface FaultTargets {
  releaseHeldCommits(): void;
  heldCommitCount(): number;
  dropLogConnections(afterItems: number): number;
}

/**
 * Failures to inject, so the core's retry, resume and watermark logic can be tested
 * deterministically. Reached as `db.faults`.
 */
export class MemoryFaults {
  /**
   * Makes commits reach the change log *before* they become visible to chunk reads, the race that
   * makes a naive low watermark lose data (DESIGN.md, "Watermark safety"). While a commit is held,
   * the log (and `logEnd()`) has it, a chunk read does not see it, and the adapter's
   * `lowWatermark()` stays below it. `null` (the default) makes every commit visible at once.
   *
   * Held commits become visible in log order. Turning the lag off does not release commits already
   * held; `releaseHeldCommits()` does.
   */
  visibilityLag: VisibilityLag | null = null;

  private chunkReadFailures: number[] = [];

  constructor(private readonly targets: FaultTargets) {}

  /** Makes every held commit visible, in log order. */
  releaseHeldCommits(): void {
    this.targets.releaseHeldCommits();
  }

  /** Number of commits in the log that readers cannot see yet. */
  get heldCommits(): number {
    return this.targets.heldCommitCount();
  }

  /**
   * Makes the next `count` chunk reads fail with a lost connection. Each fails after yielding
   * `afterBatches` batches (default 0: before the first row; a larger number fails mid-iteration,
   * and a read with fewer batches fails where it would have finished). The reader's connection
   * stays usable, as after a transparent reconnect.
   */
  failChunkReads(count: number, options: { afterBatches?: number } = {}): void {
    for (let i = 0; i < count; i++) this.chunkReadFailures.push(options.afterBatches ?? 0);
  }

  /** Chunk read failures armed and not yet consumed. */
  get pendingChunkReadFailures(): number {
    return this.chunkReadFailures.length;
  }

  /**
   * Drops every open log connection: its reader fails (the adapter throws `ConnectionLostError`)
   * after delivering `afterItems` more log entries (default 0: at once, waking it if it waits).
   * A dropped connection stays broken until closed. Returns how many connections were dropped.
   */
  dropLogConnections(options: { afterItems?: number } = {}): number {
    return this.targets.dropLogConnections(options.afterItems ?? 0);
  }

  /** Disarms every fault and makes held commits visible. */
  reset(): void {
    this.visibilityLag = null;
    this.chunkReadFailures = [];
    this.targets.releaseHeldCommits();
  }

  /** Takes the next armed chunk read failure: the number of batches to yield before failing, or undefined. */
  takeChunkReadFailure(): number | undefined {
    return this.chunkReadFailures.shift();
  }
}
