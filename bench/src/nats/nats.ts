import { type Checkpoint, type EventBatch, EventLineEncoder, type SourceEvent } from '@highwater/core';
import { NATS_SINK_DEFAULTS, NatsSink } from '@highwater/sink-nats';
import { startNats } from '@highwater/test-servers';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type MsgHdrs } from '@nats-io/transport-node';
import { type Measurement, medianRate, type RunPlan, sideBySide } from '../core/measure.js';
import { progress } from '../db/common.js';

/** Events per source batch handed to the sink (the source's batches are about this size under load). */
const BATCH = 1_000;

function checkpoint(position: number): Checkpoint {
  return { version: 1, connector: 'bench', position, complete: false, tables: { 'shop.orders': { phase: 'stream' } } };
}

/** `count` inserts of a ~100-byte row, in batches of {@link BATCH}. */
function makeBatches(count: number): EventBatch[] {
  const batches: EventBatch[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const events: SourceEvent[] = [];
    for (let id = start; id < Math.min(count, start + BATCH); id++) {
      events.push({
        kind: 'change',
        op: 'c',
        key: { id },
        before: null,
        after: { id, customer: `customer ${id % 977}`, total: '123.45', status: 'new', note: 'x'.repeat(40) },
        beforeImage: 'none',
        unknownColumns: [],
        source: {
          connector: 'bench',
          table: 'shop.orders',
          tableId: { schema: 'shop', name: 'orders' },
          opTs: 1_700_000_000_000 + id,
          offset: id,
          txId: null,
          snapshot: false,
        },
      });
    }
    batches.push({ events, checkpoint: checkpoint(start) });
  }
  return batches;
}

interface BareMessage {
  readonly subject: string;
  readonly payload: string;
  readonly headers: MsgHdrs;
  readonly msgID: string;
}

/** The messages the sink publishes for `batches`, built ahead (the limit side does not encode). */
function bareMessages(batches: readonly EventBatch[], prefix: string): BareMessage[] {
  const encoder = new EventLineEncoder('native', prefix);
  const out: BareMessage[] = [];
  for (const [commit, batch] of batches.entries()) {
    for (const [index, event] of batch.events.entries()) {
      if (event.kind !== 'change') continue;
      const h = headers();
      h.set('Highwater-Pipeline', prefix);
      h.set('Highwater-Position', `${commit}.${index}`);
      h.set('Highwater-Offset', JSON.stringify(event.source.offset));
      h.set('Highwater-Key', JSON.stringify(event.key));
      out.push({
        subject: `${prefix}.shop.orders`,
        payload: encoder.encode([event]).slice(0, -1),
        headers: h,
        msgID: `${prefix}.${commit}.${index}`,
      });
    }
  }
  return out;
}

/** Events per second to the unit, with thousands separated: the ratio is read from these. */
const perSecond = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * `npm run bench -- nats`: events/s into JetStream through the NATS sink (encoding, headers, pipelined
 * publishes, a commit marker per batch) against a bare loop of `js.publish` of the same messages with
 * the same bound of publishes in flight, in the same run, on a throwaway `nats-server -js` (file store).
 */
export async function natsBenchmark(quick: boolean, plan: RunPlan): Promise<string> {
  const count = quick ? 20_000 : 200_000;
  const maxInFlight = NATS_SINK_DEFAULTS.maxInFlight;
  const server = await startNats();
  let run = 0;
  try {
    const batches = makeBatches(count);
    const connection = await connect({ servers: server.url });
    const jsm = await jetstreamManager(connection);
    const js = jetstream(connection);
    const bare = async (): Promise<Measurement> => {
      const prefix = `bare${++run}`;
      const stream = `bench-${prefix}`;
      await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], max_bytes: 1024 ** 3 });
      const messages = bareMessages(batches, prefix);
      progress(`nats: bare js.publish of ${messages.length} messages…`);
      const started = performance.now();
      let inFlight = 0;
      let wake: (() => void) | null = null;
      let failure: unknown = null;
      for (const m of messages) {
        while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
        inFlight++;
        js.publish(m.subject, m.payload, { headers: m.headers, msgID: m.msgID })
          .then(
            () => undefined,
            (error: unknown) => (failure ??= error),
          )
          .finally(() => {
            inFlight--;
            const w = wake;
            wake = null;
            w?.();
          });
      }
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
      const seconds = (performance.now() - started) / 1000;
      if (failure !== null) throw failure;
      await jsm.streams.delete(stream);
      return { seconds, count: messages.length, extra: {} };
    };
    const sink = async (): Promise<Measurement> => {
      const pipeline = `sink${++run}`;
      const s = new NatsSink({ url: server.url, pipeline, maxInFlight });
      await s.open();
      progress(`nats: sink writing ${count} events…`);
      const started = performance.now();
      for (const batch of batches) await s.write(batch);
      const seconds = (performance.now() - started) / 1000;
      await s.close();
      await jsm.streams.delete(s.stream);
      return { seconds, count, extra: {} };
    };
    const result = await sideBySide(plan, bare, sink);
    await connection.close();
    const limitRate = medianRate(result.limit);
    const sinkRate = medianRate(result.highwater);
    return [
      `| ${count} change events, batches of ${BATCH}, ${maxInFlight} in flight | events/s | × limit |`,
      '| --- | ---: | ---: |',
      `| limit: bare \`js.publish\` loop, same messages and headers, encoded ahead | ${perSecond(limitRate)} | 1.00 |`,
      `| NATS sink: encode + publish + commit marker per batch | ${perSecond(sinkRate)} | ${(sinkRate / limitRate).toFixed(2)} |`,
    ].join('\n');
  } finally {
    await server.stop();
  }
}
