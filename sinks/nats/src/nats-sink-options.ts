import type { EventFormat, SinkLogger } from '@highwater/core';

/** Limits of the stream the sink creates when it is missing (a stream that exists is used as it is). */
export interface NatsStreamLimits {
  /** Bytes the stream keeps; the oldest messages go first past it. Default 1 GiB. */
  readonly maxBytes?: number;
  /** Seconds a message is kept; 0 (default) keeps it until `maxBytes` pushes it out. */
  readonly maxAgeSeconds?: number;
  /** Replicas in a clustered JetStream. Default 1. */
  readonly replicas?: number;
}

export interface NatsSinkOptions {
  /** `nats://host:port`, with `user:password@` or `token@` when the server wants them; a comma-separated list for a cluster. */
  readonly url: string;
  /** Names the pipeline: in message headers, the commit subject and the default subject prefix and stream. */
  readonly pipeline: string;
  /** The stream to write to. Default `highwater-<pipeline>`; created with `subjects: ['<subjectPrefix>.>']` when missing. */
  readonly stream?: string;
  /** Table events go to `<subjectPrefix>.<schema>.<table>`. Default: the pipeline name. */
  readonly subjectPrefix?: string;
  /** Event encoding, as the file and stdout sinks write it. Default `native`. */
  readonly format?: EventFormat;
  /** Publishes awaiting their acknowledgement at most. Default 1024. */
  readonly maxInFlight?: number;
  /** How long a publish waits for its acknowledgement, ms. Default 30 000. */
  readonly ackTimeoutMs?: number;
  /** Limits of a stream the sink creates. */
  readonly limits?: NatsStreamLimits;
  readonly logger?: SinkLogger;
}

export const NATS_SINK_DEFAULTS = {
  format: 'native',
  maxInFlight: 1024,
  ackTimeoutMs: 30_000,
  maxBytes: 1024 ** 3,
  maxAgeSeconds: 0,
  replicas: 1,
} as const;

/** The stream name used when none is given: `highwater-<pipeline>`, with characters stream names cannot hold replaced by `_`. */
export function defaultStreamName(pipeline: string): string {
  return `highwater-${pipeline.replace(/[.*>\s/\\]/g, '_')}`;
}
