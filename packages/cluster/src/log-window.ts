import type { ChunkChange, OffsetCodec } from '@highwater/core';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Coordinator } from './coordinator.js';
import { decodeTableChanges, type LogMessage } from './log-codec.js';

/** How long one blocking fetch waits on the server before the reader checks whether its member stopped. */
const FETCH_WAIT_MS = 2_000;

/**
 * A member's view of the log stream: the changes of one table between a chunk's low and high
 * watermark, in log order, read from what the leader published. Waits until the leader has
 * published at or past the high watermark: the messages come from an ordered consumer, so the
 * reader waits on the server for the next one instead of asking again on a timer.
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
    const { js, names } = this.coordinator;
    const start = await firstSequenceAfter(this.coordinator, this.offsets, after);
    const consumer = await js.consumers.get(names.logStream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
    });
    try {
      for (;;) {
        if (this.stopped()) throw new Error('the member stopped while waiting for the log');
        const message = await consumer.next({ expires: FETCH_WAIT_MS });
        if (message === null) continue;
        const body = message.json<LogMessage>();
        for (const change of decodeTableChanges(body, table, this.offsets, after, through)) changes.push(change);
        if (this.offsets.compare(this.offsets.fromJSON(body.last), through) >= 0) return changes;
      }
    } finally {
      // The server drops an idle ordered consumer by itself; deleting it now just saves it the wait.
      await consumer.delete().catch(() => undefined);
    }
  }
}

/**
 * Sequence of the first message of the log stream whose `last` lies after `after`, or the
 * sequence the next message will get when there is none (binary search: offsets increase along
 * the stream). Messages purged meanwhile read as lying before `after`: the leader purges only
 * messages no open window needs (docs/algorithm.md, "Scale-out").
 */
export async function firstSequenceAfter<O>(
  coordinator: Coordinator,
  offsets: OffsetCodec<O>,
  after: O,
  upTo?: number,
): Promise<number> {
  const { jsm, names } = coordinator;
  const info = await jsm.streams.info(names.logStream);
  let lo = Math.max(info.state.first_seq, 1);
  let hi = Math.min(info.state.last_seq, upTo ?? Number.POSITIVE_INFINITY) + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const message = await jsm.streams.getMessage(names.logStream, { seq: mid });
    if (message === null) {
      lo = mid + 1;
      continue;
    }
    const last = offsets.fromJSON(message.json<LogMessage>().last);
    if (offsets.compare(last, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
