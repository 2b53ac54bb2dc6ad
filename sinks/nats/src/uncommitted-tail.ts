import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { HEADER } from './headers.js';
import { natsFailure } from './nats-errors.js';

/** Deletions sent at once while removing a tail. */
const DELETE_CONCURRENCY = 256;

/**
 * Stream sequences of the pipeline's messages under `<prefix>.>` from `fromSeq` on: after the last
 * commit marker, they are the part of a batch whose marker was never written. Read headers only,
 * through an ordered consumer (one pass, no per-message round trip).
 */
export async function findUncommitted(
  js: JetStreamClient,
  options: { stream: string; prefix: string; pipeline: string; fromSeq: number },
): Promise<number[]> {
  const { stream, prefix, pipeline, fromSeq } = options;
  const found: number[] = [];
  try {
    const consumer = await js.consumers.get(stream, {
      filter_subjects: `${prefix}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
      headers_only: true,
    });
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      const messages = await consumer.fetch({ max_messages: Math.min(pending, 10_000), expires: 5_000 });
      let received = 0;
      for await (const message of messages) {
        received++;
        if (message.headers?.get(HEADER.pipeline) === pipeline) found.push(message.seq);
        pending = message.info.pending;
        if (pending === 0) break;
      }
      // Messages expired or were removed by limits while reading: what is left is all there is.
      if (received === 0) break;
    }
    await consumer.delete().catch(() => undefined);
  } catch (error) {
    throw natsFailure(
      error,
      `read stream ${stream} after sequence ${fromSeq - 1} for messages of an uncommitted batch`,
    );
  }
  return found;
}

/** Deletes messages by sequence (without overwriting their bytes: a plain delete, like a purge). */
export async function deleteMessages(jsm: JetStreamManager, stream: string, seqs: readonly number[]): Promise<void> {
  for (let i = 0; i < seqs.length; i += DELETE_CONCURRENCY) {
    const slice = seqs.slice(i, i + DELETE_CONCURRENCY);
    try {
      await Promise.all(slice.map((seq) => jsm.streams.deleteMessage(stream, seq, false)));
    } catch (error) {
      throw natsFailure(error, `delete the uncommitted messages of stream ${stream}`);
    }
  }
}
