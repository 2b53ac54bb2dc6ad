import type { ChunkChange, OffsetCodec } from '@highwater/core';
import type { StoredMsg } from '@nats-io/jetstream';
import type { Coordinator } from './coordinator.js';
import { decodeTableChanges, type LogMessage } from './log-codec.js';

const POLL_MS = 50;

/**
 * A member's view of the log stream: the changes of one table between a chunk's low and high
 * watermark, in log order, read from what the leader published. Waits until the leader has
 * published at or past the high watermark.
 */
export class LogWindowReader<O> {
  constructor(
    private readonly coordinator: Coordinator,
    private readonly offsets: OffsetCodec<O>,
    private readonly stopped: () => boolean,
  ) {}

  /** Changes of `table` with offset in `(after, through]`. */
  async read(table: string, after: O, through: O): Promise<ChunkChange<O>[]> {
    const changes: ChunkChange<O>[] = [];
    // Nothing was logged between the watermarks (an idle source): there is no message to wait for.
    if (this.offsets.compare(through, after) <= 0) return changes;
    for (let seq = await this.firstAfter(after); ; seq++) {
      const message = await this.waitFor(seq);
      if (message === null) throw new Error('the member stopped while waiting for the log');
      const body = message.json<LogMessage>();
      for (const change of decodeTableChanges(body, table, this.offsets, after, through)) changes.push(change);
      if (this.offsets.compare(this.offsets.fromJSON(body.last), through) >= 0) return changes;
    }
  }

  /** Sequence of the first message whose `last` lies after `after` (binary search: offsets increase along the stream). */
  private async firstAfter(after: O): Promise<number> {
    const { jsm, names } = this.coordinator;
    const info = await jsm.streams.info(names.logStream);
    let lo = Math.max(info.state.first_seq, 1);
    let hi = info.state.last_seq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const message = await jsm.streams.getMessage(names.logStream, { seq: mid });
      if (message === null) {
        lo = mid + 1;
        continue;
      }
      const last = this.offsets.fromJSON(message.json<LogMessage>().last);
      if (this.offsets.compare(last, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private async waitFor(seq: number): Promise<StoredMsg | null> {
    const { jsm, names } = this.coordinator;
    for (;;) {
      if (this.stopped()) return null;
      const message = await jsm.streams.getMessage(names.logStream, { seq });
      if (message !== null) return message;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
