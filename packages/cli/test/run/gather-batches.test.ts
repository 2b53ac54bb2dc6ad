import type { Checkpoint, EventBatch, SourceEvent } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import {
  BatchGatherer,
  GATHER_ALONE_EVENTS,
  GATHER_MAX_BATCHES,
  GATHER_MAX_EVENTS,
} from '../../src/run/gather-batches.js';

const checkpoint = (n: number) => ({ version: 1, position: n, tables: {} }) as unknown as Checkpoint;
const heartbeat = (n: number): SourceEvent => ({ kind: 'heartbeat', offset: n, at: n }) as unknown as SourceEvent;
const batch = (n: number, size = 1): EventBatch => ({
  events: Array.from({ length: size }, () => heartbeat(n)),
  checkpoint: checkpoint(n),
});

/** An iterator over batches the test releases: `ready` ones at once, the rest when `release()` is called. */
function source(ready: EventBatch[], later: EventBatch[] = [], failure?: Error) {
  const waiting: ((r: IteratorResult<EventBatch>) => void)[] = [];
  let calls = 0;
  const iterator: AsyncIterator<EventBatch> = {
    async next() {
      calls++;
      const b = ready.shift();
      if (b !== undefined) return { done: false, value: b };
      if (failure !== undefined && later.length === 0) throw failure;
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
  return {
    iterator,
    calls: () => calls,
    release() {
      const b = later.shift();
      waiting.shift()?.(b === undefined ? { done: true, value: undefined } : { done: false, value: b });
    },
  };
}

describe('BatchGatherer', () => {
  it('joins the batches already waiting, with the last checkpoint, and does not wait for more', async () => {
    const s = source([batch(1), batch(2, 2), batch(3)], [batch(4)]);
    const g = new BatchGatherer(s.iterator);
    const first = await g.next();
    expect(first.done).toBe(false);
    const events: readonly SourceEvent[] = first.value?.events ?? [];
    expect(events.map((e) => (e as unknown as { offset: number }).offset)).toEqual([1, 2, 2, 3]);
    expect(first.value?.checkpoint).toEqual(checkpoint(3));
    // The batch asked for while joining is the next call's: not asked for twice, not lost.
    const second = g.next();
    s.release();
    expect((await second).value).toEqual(batch(4));
    expect(s.calls()).toBe(5);
    const end = g.next();
    s.release();
    expect((await end).done).toBe(true);
  });

  it('hands out a lone batch unchanged', async () => {
    const only = batch(1);
    const g = new BatchGatherer(source([only]).iterator);
    expect((await g.next()).value).toBe(only);
  });

  it(`stops joining at ${GATHER_MAX_EVENTS} events`, async () => {
    const size = GATHER_ALONE_EVENTS - 1;
    const joined = Math.ceil(GATHER_MAX_EVENTS / size);
    const s = source([...Array.from({ length: joined }, (_, i) => batch(i + 1, size)), batch(joined + 1)]);
    const g = new BatchGatherer(s.iterator);
    const first = await g.next();
    expect(first.value?.events).toHaveLength(joined * size);
    expect(first.value?.checkpoint).toEqual(checkpoint(joined));
    expect((await g.next()).value).toEqual(batch(joined + 1));
  });

  it(`hands out a batch of ${GATHER_ALONE_EVENTS} events or more alone, without taking the next one from the source`, async () => {
    const large = batch(1, GATHER_ALONE_EVENTS);
    const s = source([large, batch(2)]);
    const g = new BatchGatherer(s.iterator);
    expect((await g.next()).value).toBe(large);
    // The next batch stays in the source (a source makes a snapshot chunk's events only when it is taken).
    expect(s.calls()).toBe(1);
    expect((await g.next()).value).toEqual(batch(2));
  });

  it(`stops joining at ${GATHER_MAX_BATCHES} batches, so endless empty batches ready at once cannot starve the event loop`, async () => {
    let n = 0;
    const endless: AsyncIterator<EventBatch> = {
      next: async () => ({ done: false, value: { events: [], checkpoint: checkpoint(++n) } }),
    };
    const first = await new BatchGatherer(endless).next();
    expect(first.value?.events).toEqual([]);
    expect(first.value?.checkpoint).toEqual(checkpoint(GATHER_MAX_BATCHES));
  });

  it('reports a failure of a batch asked for while joining at the next call', async () => {
    const g = new BatchGatherer(source([batch(1)], [], new Error('source failed')).iterator);
    expect((await g.next()).value).toEqual(batch(1));
    await expect(g.next()).rejects.toThrow('source failed');
  });
});
