/**
 * The simulator's cluster clock. Every write (or committed transaction) gets a Timestamp strictly after the last:
 * seconds since the epoch and an increment within the second, like the `ts` of an oplog entry and the
 * `clusterTime` of a change event (https://www.mongodb.com/docs/manual/reference/bson-types/#timestamps).
 */
import { Timestamp } from 'bson';

export class ClusterClock {
  private seconds = 0;
  private increment = 0;

  /** The next cluster time, strictly after every one handed out before. */
  tick(): Timestamp {
    const now = Math.floor(Date.now() / 1000);
    if (now > this.seconds) {
      this.seconds = now;
      this.increment = 1;
    } else {
      this.increment += 1;
    }
    return new Timestamp({ t: this.seconds, i: this.increment });
  }

  /** The latest cluster time handed out (the `operationTime` of a read). */
  current(): Timestamp {
    return new Timestamp({ t: this.seconds, i: this.increment });
  }
}

/** Orders two Timestamps as unsigned (seconds, increment) pairs. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.t !== b.t ? (a.t < b.t ? -1 : 1) : a.i !== b.i ? (a.i < b.i ? -1 : 1) : 0;
}
