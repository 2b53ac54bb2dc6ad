/** Events per second over the last few seconds, in one-second buckets (no timer needed). */
export class RateMeter {
  private readonly buckets: number[];
  private second = 0;

  constructor(
    private readonly windowSeconds = 5,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Array<number>(windowSeconds + 1).fill(0);
  }

  add(count: number): void {
    this.advance();
    const i = this.second % this.buckets.length;
    this.buckets[i] = (this.buckets[i] ?? 0) + count;
  }

  /** Average rate over the completed seconds of the window. */
  perSecond(): number {
    this.advance();
    let sum = 0;
    const current = this.second % this.buckets.length;
    for (let i = 0; i < this.buckets.length; i++) if (i !== current) sum += this.buckets[i] ?? 0;
    return sum / this.windowSeconds;
  }

  private advance(): void {
    const s = Math.floor(this.now() / 1000);
    if (this.second === 0) this.second = s;
    if (s - this.second >= this.buckets.length) this.buckets.fill(0);
    else for (let t = this.second + 1; t <= s; t++) this.buckets[t % this.buckets.length] = 0;
    this.second = s;
  }
}
