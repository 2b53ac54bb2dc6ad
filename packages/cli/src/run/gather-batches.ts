import type { EventBatch, SourceEvent } from '@highwater/core';

/** Events a gathered batch grows to at most (it may be larger when one source batch is). */
export const GATHER_MAX_EVENTS = 16_384;

/**
 * A source batch of at least this many events is written alone: it is large enough to pay for its
 * write, and looking for a next batch to join would take that batch from the source — its events
 * made (see the core's `DeferredEvents`) — only to hold them while this one is written. Held that
 * long, a snapshot chunk's events outlived two of V8's young-generation collections and were moved
 * to the old generation: 1 M rows into a file took 20 % more CPU with chunk batches joined.
 */
export const GATHER_ALONE_EVENTS = 4_096;

/**
 * Source batches one gathered batch joins at most. Without a bound, a source whose batches are
 * ready at once and empty (checkpoint-only batches, as while it stops) would be joined forever in
 * microtasks: the event loop never turns, and memory fills with the unrun `setImmediate`s.
 */
export const GATHER_MAX_BATCHES = 256;

const NOT_YET = Symbol('not yet');

/** Resolves after the current turn of the event loop: everything already settled has had its say. */
const nextTurn = () => new Promise<typeof NOT_YET>((resolve) => setImmediate(() => resolve(NOT_YET)));

/**
 * Hands out a source's batches joined: each `next()` waits for one batch, then appends every
 * further batch that is already waiting (sealed while the sink wrote the previous one), up to
 * {@link GATHER_MAX_EVENTS} events; a batch of {@link GATHER_ALONE_EVENTS} or more is handed out
 * alone. The joined batch carries the last one's checkpoint, which is
 * valid after all their events — so a sink that stores it in one transaction with the events
 * stays exactly-once, and a sink slower than the source writes fewer, larger transactions
 * instead of falling behind one small batch at a time. Nothing waits for batches that are not
 * there yet: a sink that keeps up sees the source's batches unchanged.
 */
export class BatchGatherer {
  #pending: Promise<IteratorResult<EventBatch>> | null = null;

  constructor(private readonly batches: AsyncIterator<EventBatch>) {}

  async next(): Promise<IteratorResult<EventBatch>> {
    const first = await this.#take();
    if (first.done) return first;
    let events: SourceEvent[] | null = null;
    let checkpoint = first.value.checkpoint;
    for (
      let joined = 1;
      first.value.events.length < GATHER_ALONE_EVENTS &&
      joined < GATHER_MAX_BATCHES &&
      (events?.length ?? first.value.events.length) < GATHER_MAX_EVENTS;
      joined++
    ) {
      const candidate = this.batches.next();
      // Not ready, or failed: kept for the next call, which waits for it or throws its failure (after
      // the batches in hand are written).
      const ready = await Promise.race([candidate, nextTurn()]).catch((): typeof NOT_YET => NOT_YET);
      if (ready === NOT_YET || ready.done) {
        this.#pending = candidate;
        break;
      }
      events ??= [...first.value.events];
      for (const e of ready.value.events) events.push(e);
      checkpoint = ready.value.checkpoint;
    }
    return { done: false, value: events === null ? first.value : { events, checkpoint } };
  }

  #take(): Promise<IteratorResult<EventBatch>> {
    const pending = this.#pending ?? this.batches.next();
    this.#pending = null;
    return pending;
  }
}
