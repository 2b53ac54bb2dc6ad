/** Collects async-iterable batches into one array (for a log reader that ends, or a chunk read). */
export async function collect<T>(iterable: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of iterable) out.push(...batch);
  return out;
}

/**
 * Pulls batches from one iterator of a log reader until `done` holds for the items so far, or
 * fails after `ms` — for an adapter's own log-reader tests, where the log never ends by itself.
 */
export class LogTap<T> {
  private readonly iterator: AsyncIterator<readonly T[]>;
  readonly items: T[] = [];

  constructor(iterable: AsyncIterable<readonly T[]>) {
    this.iterator = iterable[Symbol.asyncIterator]();
  }

  async until(done: (items: readonly T[]) => boolean, ms = 10_000): Promise<T[]> {
    const deadline = Date.now() + ms;
    while (!done(this.items)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`log did not reach the expected state in ${ms} ms; got ${this.items.length} items`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      const next = await Promise.race([this.iterator.next(), timeout]);
      clearTimeout(timer);
      if (next === 'timeout') continue;
      if (next.done === true) throw new Error('log ended');
      this.items.push(...next.value);
    }
    return this.items;
  }
}
