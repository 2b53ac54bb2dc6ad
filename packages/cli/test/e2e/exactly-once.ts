/**
 * The exactly-once check of the end-to-end tests: what the target applied (recorded by an audit
 * trigger on the target tables) against what the source committed (recorded by the writer).
 *
 * Every source write bumps the row's `ver` column to a number no other write uses (`seq`, the
 * write's position in commit order), so a target row version names exactly one source write. The
 * sink applies one outcome per key and batch (one target transaction): the last image of the key,
 * after a delete when the batch deleted it (docs/sinks.md, "Batching"). So a source write can be
 * absent from the audit when a later write of the same key in the same batch carries it, and a
 * DELETE deletes the row as the target had it, which may be older than the version the source
 * deleted. The rules:
 *
 * 1. Per key, the applied entries are source writes (or the row as loaded before the test) in the
 *    source's order, none twice: no duplicate, no phantom, no reordering. An upsert names the write
 *    that wrote its version; a DELETE names the key's next source delete, and the version it
 *    deleted is the one the key's previous applied entry stored.
 * 2. A write is required once the key has been applied (the first applied entry is the snapshot's
 *    copy or the insert), or when it was committed after the snapshot had finished. A required
 *    write is applied, or merged: the key's next applied entry carries it, and it was committed
 *    after everything the previous target transaction applied (batches are consecutive slices of
 *    the source's order); or nothing of the key is applied after it, the key's last write is a
 *    delete, and the target did not hold the key before it (a row inserted and deleted inside one
 *    batch never reaches the target; whether the target ends without it, verify checks).
 */

/** One committed source write. `seq` orders all writes of all tables; `ver` is the row version it wrote (deleted, for a delete). */
export interface SourceWrite {
  readonly seq: number;
  readonly table: string;
  readonly key: string;
  readonly op: 'insert' | 'update' | 'delete';
  readonly ver: number;
}

/** One row the target's audit trigger recorded: `n` orders them, `tx` is the target transaction. */
export interface AppliedChange {
  readonly n: number;
  readonly tx: string;
  readonly table: string;
  readonly key: string;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly ver: number;
}

export interface ExactlyOnceReport {
  /** Human-readable violations; empty when the check passed. */
  readonly problems: string[];
  readonly applied: number;
  readonly writes: number;
  /** Writes absent from the audit because a later upsert of the key in the same batch carried them. */
  readonly merged: number;
  /** Writes not required (made before the key's snapshot copy was read). */
  readonly beforeSnapshot: number;
}

interface HistoryItem {
  readonly seq: number;
  readonly op: 'initial' | 'insert' | 'update' | 'delete';
  readonly ver: number;
  applied: AppliedChange | null;
}

const kindOf = (op: string) => (op === 'delete' || op === 'DELETE' ? 'delete' : 'upsert');

/**
 * @param initial Keys present before the writer started, each at version 0, per table.
 * @param snapshotDoneSeq Every write with a larger `seq` was committed after the snapshot finished for
 *   good: after its last chunk was read by a run whose checkpoint was stored, so no later run re-reads one.
 */
export function checkExactlyOnce(
  initial: ReadonlyMap<string, Iterable<string>>,
  writes: readonly SourceWrite[],
  applied: readonly AppliedChange[],
  snapshotDoneSeq: number,
): ExactlyOnceReport {
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 20) problems.push(text);
    else if (problems.length === 20) problems.push('… more problems not listed');
  };
  const history = new Map<string, HistoryItem[]>();
  const at = (table: string, key: string) => {
    const id = `${table}:${key}`;
    let list = history.get(id);
    if (list === undefined) {
      list = [];
      history.set(id, list);
    }
    return list;
  };
  for (const [table, keys] of initial) {
    for (const key of keys) at(table, key).push({ seq: 0, op: 'initial', ver: 0, applied: null });
  }
  for (const w of writes) at(w.table, w.key).push({ seq: w.seq, op: w.op, ver: w.ver, applied: null });

  // Rule 1: each key's applied entries embed, in order, into its history.
  const byKey = new Map<string, AppliedChange[]>();
  for (const a of [...applied].sort((x, y) => x.n - y.n)) {
    const id = `${a.table}:${a.key}`;
    const list = byKey.get(id);
    if (list === undefined) byKey.set(id, [a]);
    else list.push(a);
  }
  const firstApplied = new Map<string, number>();
  for (const [id, entries] of byKey) {
    const items = history.get(id) ?? [];
    let next = 0;
    /** The version the key's previous applied entry stored (null: none yet, or deleted). */
    let stored: number | null = null;
    for (const a of entries) {
      const deletesStored =
        a.op === 'DELETE' &&
        (stored === null ? items.some((h) => h.op === 'initial' && h.ver === a.ver) : stored === a.ver);
      const index = deletesStored
        ? items.findIndex((h, i) => i >= next && h.op === 'delete')
        : items.findIndex((h, i) => i >= next && h.ver === a.ver && kindOf(h.op) === kindOf(a.op));
      if (index < 0) {
        const earlier = items.findIndex((h) => h.ver === a.ver && kindOf(h.op) === kindOf(a.op));
        problem(
          earlier < 0
            ? `${id}: ${a.op} of version ${a.ver} (audit #${a.n}) matches no source write`
            : `${id}: ${a.op} of version ${a.ver} (audit #${a.n}) applied twice or out of order`,
        );
        continue;
      }
      items[index]!.applied = a;
      if (!firstApplied.has(id)) firstApplied.set(id, index);
      next = index + 1;
      stored = a.op === 'DELETE' ? null : a.ver;
    }
  }

  // The slice of source order each target transaction covered, from entries that are not a key's
  // first (a first entry may be a snapshot copy, read long after its write).
  const txOrder: string[] = [];
  const txHigh = new Map<string, number>();
  const txLow = new Map<string, number>();
  for (const a of [...applied].sort((x, y) => x.n - y.n)) {
    if (txHigh.has(a.tx)) continue;
    txOrder.push(a.tx);
    txHigh.set(a.tx, 0);
  }
  for (const [id, items] of history) {
    const first = firstApplied.get(id);
    items.forEach((h, i) => {
      if (h.applied === null || i === first) return;
      txHigh.set(h.applied.tx, Math.max(txHigh.get(h.applied.tx)!, h.seq));
      txLow.set(h.applied.tx, Math.min(txLow.get(h.applied.tx) ?? Number.POSITIVE_INFINITY, h.seq));
    });
  }
  const highBefore = new Map<string, number>();
  let high = 0;
  for (const tx of txOrder) {
    highBefore.set(tx, high);
    high = Math.max(high, txHigh.get(tx)!);
  }
  /** True when two writes `from` ≤ … < `to` provably went to different target transactions. */
  const batchEndsBetween = (from: number, to: number) =>
    txOrder.some((tx) => highBefore.get(tx)! >= from && (txLow.get(tx) ?? Number.POSITIVE_INFINITY) < to);

  // Rule 2: required writes are applied or merged.
  let merged = 0;
  let beforeSnapshot = 0;
  for (const [id, items] of history) {
    const first = firstApplied.get(id) ?? Number.POSITIVE_INFINITY;
    items.forEach((h, i) => {
      if (h.op === 'initial' || h.applied !== null) return;
      if (!(i > first || h.seq > snapshotDoneSeq)) {
        beforeSnapshot++;
        return;
      }
      const carrier = items.findIndex((x, j) => j > i && x.applied !== null);
      const before = items.slice(0, i).filter((x) => x.applied !== null);
      // The target held the key when the write's batch began: the sink keeps a delete of it.
      const held = before.length > 0 && before[before.length - 1]!.applied!.op !== 'DELETE';
      let carried: boolean;
      if (carrier >= 0) {
        carried = h.seq > highBefore.get(items[carrier]!.applied!.tx)! && !(h.op === 'delete' && held);
      } else {
        const last = items[items.length - 1]!;
        carried = last.op === 'delete' && !held && !batchEndsBetween(h.seq, last.seq);
      }
      if (carried) merged++;
      else problem(`${id}: ${h.op} of version ${h.ver} (write #${h.seq}) was never applied`);
    });
  }
  return { problems, applied: applied.length, writes: writes.length, merged, beforeSnapshot };
}
