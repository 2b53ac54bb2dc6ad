import type { TableSnapshotProgress } from '@highwater/core';

/**
 * Snapshot rows per second of each table, smoothed between readings (the core gives only the sum
 * over tables). Feed it a table's progress at each refresh; a finished table reads 0.
 */
export class TableRates {
  readonly #last = new Map<string, { rows: number; at: number; perSecond: number }>();

  /** Rows per second of `t` as of `now` (ms), not rounded. */
  update(t: TableSnapshotProgress, now: number): number {
    const last = this.#last.get(t.table);
    if (last === undefined || t.done) {
      this.#last.set(t.table, { rows: t.rowsRead, at: now, perSecond: last?.perSecond ?? 0 });
      return t.done ? 0 : (last?.perSecond ?? 0);
    }
    const seconds = (now - last.at) / 1000;
    const perSecond = seconds > 0 ? 0.7 * last.perSecond + (0.3 * (t.rowsRead - last.rows)) / seconds : last.perSecond;
    this.#last.set(t.table, { rows: t.rowsRead, at: now, perSecond });
    return perSecond;
  }
}
