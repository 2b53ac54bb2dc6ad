import { type Checkpoint, CheckpointError, parseCheckpoint } from '@highwater/core';
import type { JetStreamManager } from '@nats-io/jetstream';
import { natsFailure } from './nats-errors.js';

/**
 * What a commit marker holds (its payload, JSON). A marker on the commit subject closes a batch: the
 * events of the pipeline before it in the stream are committed, and `checkpoint` is where the source
 * resumes after them.
 */
export interface CommitMarker {
  readonly version: 1;
  readonly pipeline: string;
  /** 0 for the marker written before the first batch; one more for each batch. */
  readonly commit: number;
  /** Event messages the batch published (they precede the marker). */
  readonly events: number;
  /** `null` in commit 0. */
  readonly checkpoint: Checkpoint | null;
  readonly committedAt: string;
}

/** The latest marker and its stream sequence, or null when the commit subject holds none. */
export async function readLastCommit(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<{ readonly seq: number; readonly marker: CommitMarker } | null> {
  let message: Awaited<ReturnType<JetStreamManager['streams']['getMessage']>>;
  try {
    message = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  } catch (error) {
    throw natsFailure(error, `read the last commit marker on ${subject} in stream ${stream}`);
  }
  if (message === null) return null;
  const where = `the commit marker at sequence ${message.seq} of stream ${stream} (${subject})`;
  return { seq: message.seq, marker: parseMarker(message.string(), where) };
}

export function encodeMarker(marker: CommitMarker): string {
  return JSON.stringify(marker);
}

function parseMarker(text: string, where: string): CommitMarker {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${where} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const o = json as Partial<Record<keyof CommitMarker, unknown>>;
  if (
    typeof json !== 'object' ||
    json === null ||
    o.version !== 1 ||
    typeof o.pipeline !== 'string' ||
    typeof o.commit !== 'number' ||
    !Number.isSafeInteger(o.commit) ||
    typeof o.events !== 'number' ||
    typeof o.committedAt !== 'string'
  ) {
    throw new CheckpointError(
      `${where} is not a Highwater commit marker (expected { version: 1, pipeline, commit, events, checkpoint, committedAt }); ` +
        'something else publishes on the sink’s commit subject',
    );
  }
  const checkpoint = o.checkpoint === null ? null : parseCheckpoint(o.checkpoint, where);
  return {
    version: 1,
    pipeline: o.pipeline,
    commit: o.commit,
    events: o.events,
    checkpoint,
    committedAt: o.committedAt,
  };
}
