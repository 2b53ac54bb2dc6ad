type Release = () => void;

const NOOP: Release = () => undefined;

/**
 * A FIFO lock around every write a case makes to the database. Phase hooks can take it and keep it
 * from one phase to another (say from a chunk's low watermark to its high watermark), so nothing
 * else — background writer, other chunks' hooks, log pokes — writes in between: that is what makes
 * "a change exactly at the high watermark" a certainty instead of a lucky interleaving.
 *
 * `stop()` ends it: waiters are let go and later calls run nothing, so a case that fails never
 * leaves a hook (and with it `source.close()`) waiting forever.
 */
export class Serial {
  private locked = false;
  private waiters: (() => void)[] = [];
  private stoppedFlag = false;

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** Waits for the lock; call the returned function (once) to let the next waiter in. */
  acquire(): Promise<Release> {
    if (this.stoppedFlag) return Promise.resolve(NOOP);
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(() => resolve(this.stoppedFlag ? NOOP : this.releaser())));
  }

  /** Runs `fn` holding the lock; after `stop()` runs nothing and returns undefined. */
  async run<T>(fn: () => Promise<T> | T): Promise<T | undefined> {
    const release = await this.acquire();
    try {
      if (this.stoppedFlag) return undefined;
      return await fn();
    } finally {
      release();
    }
  }

  stop(): void {
    this.stoppedFlag = true;
    this.locked = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      // Hand the lock straight to the next waiter, so no newcomer can slip in between.
      if (next !== undefined) next();
      else this.locked = false;
    };
  }
}
