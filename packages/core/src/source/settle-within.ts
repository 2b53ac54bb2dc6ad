/**
 * Waits for `promise` to settle, at most `ms`: true when it settled (either way), false when the
 * time ran out first. The timer is cleared once the promise settles, so it keeps no process alive.
 * For calls into an adapter or a sink while closing: one that never settles must not hold the
 * shutdown for ever.
 */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}
