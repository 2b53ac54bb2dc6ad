import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** A message as an independent consumer sees it. */
export interface ReadMessage {
  readonly seq: number;
  readonly subject: string;
  readonly headers: Record<string, string>;
  readonly data: string;
}

/** Every message of `stream` under `filter`, in stream order, read by a plain ordered consumer. */
export async function readStream(url: string, stream: string, filter: string): Promise<ReadMessage[]> {
  const connection = await connect({ servers: url });
  try {
    const js = jetstream(connection);
    const consumer = await js.consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.All,
    });
    let pending = (await consumer.info(true)).num_pending;
    const out: ReadMessage[] = [];
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 5_000), expires: 5_000 });
      let received = 0;
      for await (const m of batch) {
        received++;
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers ?? []) headers[k] = v[0] ?? '';
        out.push({ seq: m.seq, subject: m.subject, headers, data: m.string() });
        pending = m.info.pending;
        if (pending === 0) break;
      }
      if (received === 0) throw new Error(`reading ${stream}: ${pending} messages pending but none delivered`);
    }
    return out;
  } finally {
    await connection.close();
  }
}
