import { SinkError } from '@highwater/core';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { PipelinedPublisher } from '../src/pipelined-publisher.js';

/** A JetStream client whose acknowledgements the test releases by hand. */
function fakeJetStream() {
  const pending: { subject: string; resolve: (ack: PubAck) => void; reject: (error: Error) => void }[] = [];
  let seq = 0;
  let maxInFlight = 0;
  const js = {
    publish(subject: string) {
      return new Promise<PubAck>((resolve, reject) => {
        pending.push({ subject, resolve, reject });
        maxInFlight = Math.max(maxInFlight, pending.length);
      });
    },
  } as unknown as JetStreamClient;
  return {
    js,
    pending,
    maxInFlight: () => maxInFlight,
    ackOldest: () => pending.shift()!.resolve({ stream: 's', seq: ++seq, duplicate: false } as PubAck),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PipelinedPublisher', () => {
  it('keeps at most maxInFlight publishes unacknowledged, and drain waits for all', async () => {
    const fake = fakeJetStream();
    const publisher = new PipelinedPublisher(fake.js, 3, 1_000);
    const sending = (async () => {
      for (let i = 0; i < 10; i++) await publisher.publish(`s.${i}`, 'x', headers(), `id${i}`, 't');
    })();
    await tick();
    expect(fake.pending.map((p) => p.subject)).toEqual(['s.0', 's.1', 's.2']);
    let drained = false;
    const draining = sending.then(() => publisher.drain()).then(() => (drained = true));
    for (let acked = 0; acked < 10; acked++) {
      fake.ackOldest();
      await tick();
    }
    await draining;
    expect(drained).toBe(true);
    expect(fake.maxInFlight()).toBe(3);
  });

  it('keeps the first failure, naming the table, for the next publish and for drain', async () => {
    const fake = fakeJetStream();
    const publisher = new PipelinedPublisher(fake.js, 10, 1_000);
    await publisher.publish('s.a', 'x', headers(), 'a', 'shop.orders');
    await publisher.publish('s.b', 'x', headers(), 'b', 'shop.orders');
    fake.pending.shift()!.reject(new Error('maximum bytes exceeded'));
    fake.ackOldest();
    await tick();
    const failure = await publisher.drain().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SinkError);
    expect((failure as SinkError).table).toBe('shop.orders');
    expect((failure as Error).message).toContain('maximum bytes exceeded');
    await expect(publisher.publish('s.c', 'x', headers(), 'c')).rejects.toBe(failure);
  });
});
