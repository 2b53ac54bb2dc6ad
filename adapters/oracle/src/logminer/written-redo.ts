import type { OracleSession } from '../session/session.js';
import { SQL } from '../sql/statements.js';

/**
 * The highest SCN through which every open redo thread is known to have written its redo to its
 * online log — where a mining window may end without missing a commit.
 *
 * `CURRENT_SCN` is not such an SCN: a commit takes its SCN (and is visible to queries) before LGWR
 * writes its redo, at once for a normal commit but up to LGWR's next write for `COMMIT WRITE NOWAIT`
 * or `BATCH`, and on RAC each instance's LGWR writes its own thread independently. LogMiner reads
 * log files, not log buffers, so a window mined up to `CURRENT_SCN` can lack a commit at or below its
 * end that a later window (starting above it) never looks at again.
 *
 * Two documented facts bound it, per OPEN thread (a CLOSED thread has nothing unwritten):
 * - `V$THREAD.LAST_REDO_CHANGE#` is the SCN of the last redo LGWR wrote for the thread; redo at lower
 *   SCNs is written. Records at that same SCN may not all be (several commits can share an SCN), so
 *   the bound is one below it — Debezium's cap for the same problem (DBZ-8055, DBZ-8503).
 * - LGWR writes whatever its buffer holds at least every three seconds (Oracle Database Concepts,
 *   "Log Writer Process (LGWR)"), so an SCN that was current `flushMs` ago (default 5 s: the 3 s and a
 *   margin) is written on every thread whatever LAST_REDO_CHANGE# says — without this an idle thread,
 *   whose LAST_REDO_CHANGE# does not move, would stop mining for good.
 */
export class WrittenRedo {
  /** CURRENT_SCN readings not yet `flushMs` old, oldest first. */
  private readonly samples: { at: number; scn: bigint }[] = [];
  /** The newest reading at least `flushMs` old: every thread has written its redo up to it. */
  private aged = 0n;

  constructor(
    private readonly flushMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Where a window may end now, given `current` (CURRENT_SCN just read): at most `current`. */
  async bound(session: OracleSession, current: bigint): Promise<bigint> {
    const now = this.clock();
    this.samples.push({ at: now, scn: current });
    while (this.samples.length > 0 && now - (this.samples[0] as { at: number }).at >= this.flushMs) {
      this.aged = (this.samples.shift() as { scn: bigint }).scn;
    }
    let bound = current;
    for (const t of (await session.execute(SQL.redoThreadState)).rows) {
      if (String(t.STATUS) !== 'OPEN') continue;
      const last = t['LAST_REDO_CHANGE#'];
      const written = last === null || last === undefined ? 0n : BigInt(String(last)) - 1n;
      const through = written > this.aged ? written : this.aged;
      if (through < bound) bound = through;
    }
    return bound;
  }
}
