import type { LogPublisher } from './log-publisher.js';

/**
 * Keeps the log stream short while a snapshot runs: on request (after each checkpoint save), at
 * most once per `intervalMs` and one at a time, purges the messages below the lowest offset a chunk
 * window may still start at (`floor`, see `ChunkDispatcher.windowFloor`).
 */
export class LogTrimmer<O> {
  private running: Promise<void> | null = null;
  private lastAt = 0;
  private closed = false;
  /** Messages purged so far. */
  purged = 0;

  constructor(
    private readonly publisher: LogPublisher<O>,
    private readonly floor: () => Promise<O | null>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  request(): void {
    if (this.closed || this.running !== null || Date.now() - this.lastAt < this.intervalMs) return;
    this.lastAt = Date.now();
    this.running = this.trim()
      .then((purged) => {
        this.purged += purged;
      }, this.onError)
      .finally(() => {
        this.running = null;
      });
  }

  /** One trim: the stream's end is read before the floor, so a window opened meanwhile is not cut. */
  async trim(): Promise<number> {
    const through = await this.publisher.lastStoredSequence();
    const floor = await this.floor();
    return this.publisher.trim(floor, through);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
