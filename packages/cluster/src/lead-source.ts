import { createSource, type EventBatch, type Sink, type SourceOptions } from '@highwater/core';
import type { Leadership } from './cluster-member.js';

/** What {@link leadSource} runs: the source's options (without what the leadership supplies) and the sink. */
export type LeaderSourceOptions<O> = Omit<SourceOptions<O>, 'remoteChunks' | 'resumeFrom' | 'checkpointStore'> & {
  /** The pipeline's sink for changes; fenced by the lease (see `Leadership.fence`). */
  readonly sink: Sink;
  /** Told of every batch once it is written and its checkpoint saved. */
  readonly onBatch?: (batch: EventBatch) => void;
};

/**
 * The leader's loop for applications that use `ClusterMember` without the CLI (whose `highwater
 * run` uses its own runner): the source resumed from the checkpoint in NATS, chunks handed to the
 * members, each batch written to the sink, then its checkpoint saved and committed; returns when
 * the leadership ends.
 *
 * @example
 * const member = new ClusterMember({ nats, pipeline: 'shop', adapter, readers: 4, createChunkSink,
 *   lead: (leadership) => leadSource(leadership, { adapter, tables: { include: ['shop.*'] }, sink: createSink() }) });
 */
export async function leadSource<O>(leadership: Leadership<O>, options: LeaderSourceOptions<O>): Promise<void> {
  const { sink: unfenced, onBatch, ...sourceOptions } = options;
  const sink = leadership.fence(unfenced);
  await sink.open();
  try {
    const source = createSource<O>({
      ...sourceOptions,
      remoteChunks: leadership.remoteChunks,
      resumeFrom: await leadership.checkpointStore.load(),
    });
    const ended = leadership.ended.then(() => source.close());
    try {
      for await (const batch of source) {
        await sink.write(batch);
        await leadership.checkpointStore.save(batch.checkpoint);
        await source.commit(batch.checkpoint);
        onBatch?.(batch);
      }
    } catch (error) {
      // The loop's failure is what the caller hears: the source is closed here, and a close that
      // fails or times out once the leadership ends must not surface later as an unhandled rejection.
      ended.catch(() => undefined);
      await source.close().catch(() => undefined);
      throw error;
    }
    await ended;
  } finally {
    await sink.close();
  }
}
