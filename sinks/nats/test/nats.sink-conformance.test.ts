import type { Checkpoint } from '@highwater/core';
import {
  registerSinkConformanceTests,
  type SinkHarness,
  type StoredState,
  storedEventOfNativeLine,
} from '@highwater/conformance/sink';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { NatsSink } from '../src/index.js';
import { readStream } from './stream-reader.js';

let nats: ThrowawayNats | undefined;
const pipelineOf = (target: string) => `cf-${target}`;

// The sink conformance suite on a throwaway nats-server -js. Each case's target is a pipeline of its
// own (its own stream and subjects); the suite's consumer is a plain ordered consumer.
const harness: SinkHarness = {
  name: 'nats (JetStream, native JSON)',
  stores: 'events',
  storesCheckpoints: true,
  async start() {
    nats = await startNats();
  },
  async stop() {
    await nats?.stop();
  },
  async createSink(target) {
    return new NatsSink({ url: nats!.url, pipeline: pipelineOf(target) });
  },
  async readBack(target): Promise<StoredState> {
    const probe = new NatsSink({ url: nats!.url, pipeline: pipelineOf(target) });
    let messages: Awaited<ReturnType<typeof readStream>>;
    try {
      messages = await readStream(nats!.url, probe.stream, `${probe.subjectPrefix}.>`);
    } catch (error) {
      // No stream yet: nothing was ever opened for this target.
      if (/stream not found/i.test(String(error))) return { checkpoint: null, data: { kind: 'events', events: [] } };
      throw error;
    }
    // Committed: the events before the last commit marker; anything after it is a crash's leftover.
    const markers = messages.filter((m) => m.subject === probe.commitSubject);
    const last = markers.at(-1);
    const checkpoint =
      last === undefined ? null : (JSON.parse(last.data) as { checkpoint: Checkpoint | null }).checkpoint;
    const events = messages
      .filter((m) => m.subject !== probe.commitSubject && last !== undefined && m.seq < last.seq)
      .map((m) => storedEventOfNativeLine(m.data));
    return { checkpoint, data: { kind: 'events', events } };
  },
  async abandon(sink, _target, pending) {
    // A crash: the connection goes while the write is under way; what it had published stays.
    await sink.close();
    await pending.catch(() => undefined);
  },
};

registerSinkConformanceTests({ harness });
