import { ClusterError, type LogItem, type OffsetCodec } from '@highwater/core';
import type { Coordinator } from './coordinator.js';
import { encodeLogBatch, type LogMessage } from './log-codec.js';
import { firstSequenceAfter } from './log-window.js';

/**
 * The leader's side of the log stream: every log batch, in log order, before the leader routes it.
 * The stream stays strictly increasing in offset across leaders: a new leader re-reads the log from
 * its checkpoint (at or before what the stream holds) and publishes only what lies after the
 * stream's last message. Each publish expects the stream's last sequence to be the one this leader
 * wrote last, so a message lost in between, or a second leader, fails the publish instead of leaving
 * a gap a member would merge across.
 */
export class LogPublisher<O> {
  private lastSequence = 0;
  private lastOffset: O | null = null;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly offsets: OffsetCodec<O>,
  ) {}

  /** Reads where the stream stands. Call once before the first {@link publish}. */
  async open(): Promise<void> {
    const { jsm, names } = this.coordinator;
    const info = await jsm.streams.info(names.logStream);
    this.lastSequence = info.state.last_seq;
    if (info.state.messages === 0) return;
    const last = await jsm.streams.getMessage(names.logStream, { seq: info.state.last_seq });
    if (last === null) return;
    this.lastOffset = this.offsets.fromJSON(last.json<LogMessage>().last);
  }

  /** Empties the stream: a snapshot starting from scratch reads no window of an earlier one. */
  async reset(): Promise<void> {
    const { jsm, names } = this.coordinator;
    await jsm.streams.purge(names.logStream);
    await this.open();
    this.lastOffset = null;
  }

  /**
   * Empties the stream once the snapshot is stored, keeping the offset it had reached so later
   * publishes (tables added) still only go forward.
   */
  async clear(): Promise<void> {
    const { jsm, names } = this.coordinator;
    await jsm.streams.purge(names.logStream);
    this.lastSequence = (await jsm.streams.info(names.logStream)).state.last_seq;
  }

  /**
   * Purges the messages that hold nothing after `floor` (`null`: no window needs anything), among
   * the first `through` sequences only: those published before the caller took its floor, so a
   * window opened since (whose low watermark lies after all of them) is not cut. Returns how many
   * messages are gone.
   */
  async trim(floor: O | null, through: number): Promise<number> {
    const { jsm, names } = this.coordinator;
    const keepFrom =
      floor === null ? through + 1 : await firstSequenceAfter(this.coordinator, this.offsets, floor, through);
    const info = await jsm.streams.info(names.logStream);
    if (keepFrom <= info.state.first_seq) return 0;
    return (await jsm.streams.purge(names.logStream, { seq: keepFrom })).purged;
  }

  /** The stream's last sequence now: what a {@link trim} may purge at most. */
  async lastStoredSequence(): Promise<number> {
    const { jsm, names } = this.coordinator;
    return (await jsm.streams.info(names.logStream)).state.last_seq;
  }

  async publish(batch: readonly LogItem<O>[]): Promise<void> {
    const encoded = encodeLogBatch(batch, this.offsets, this.lastOffset);
    if (encoded === null) return;
    const { js, names } = this.coordinator;
    for (const message of encoded.messages) {
      try {
        const ack = await js.publish(names.logSubject, message, { expect: { lastSequence: this.lastSequence } });
        this.lastSequence = ack.seq;
      } catch (cause) {
        throw new ClusterError(
          `publishing the captured log to stream ${names.logStream} failed (another leader, or NATS unreachable): ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause, retriable: false },
        );
      }
    }
    this.lastOffset = encoded.last;
  }
}
