import { ConfigError, type SinkLogger } from '@highwater/core';
import {
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { natsFailure } from './nats-errors.js';
import { NATS_SINK_DEFAULTS, type NatsStreamLimits } from './nats-sink-options.js';
import { subjectMatches } from './subjects.js';

/** JetStream's code for "subjects overlap with an existing stream". */
const SUBJECTS_OVERLAP = 10065;
/** How long the server remembers a `Nats-Msg-Id` (2 minutes, JetStream's own default). */
const DUPLICATE_WINDOW_NS = 120 * 1e9;

/** What the sink needs to know about the stream it writes to. */
export interface StreamFacts {
  readonly name: string;
  readonly subjects: readonly string[];
  /** Commit markers may carry `Nats-Rollup: sub`, so the commit subject keeps only the latest. */
  readonly rollup: boolean;
}

/**
 * The stream to write to: the existing one when it is there (checked to fit), otherwise one created
 * with `subjects: ['<prefix>.>']`, limits retention, file storage and `limits`.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  options: { name: string; prefix: string; commitSubject: string; limits: NatsStreamLimits; logger?: SinkLogger },
): Promise<StreamFacts> {
  const { name } = options;
  let config: StreamConfig;
  try {
    config = (await jsm.streams.info(name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10059) throw natsFailure(error, `read stream ${name}`);
    config = await createStream(jsm, options);
    options.logger?.info(
      { stream: name, subjects: config.subjects, maxBytes: config.max_bytes },
      `created JetStream stream ${name}`,
    );
  }
  return checkStream(config, options.commitSubject);
}

async function createStream(
  jsm: JetStreamManager,
  options: { name: string; prefix: string; limits: NatsStreamLimits },
): Promise<StreamConfig> {
  const { name, prefix, limits } = options;
  try {
    const info = await jsm.streams.add({
      name,
      subjects: [`${prefix}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_bytes: limits.maxBytes ?? NATS_SINK_DEFAULTS.maxBytes,
      max_age: (limits.maxAgeSeconds ?? NATS_SINK_DEFAULTS.maxAgeSeconds) * 1e9,
      num_replicas: limits.replicas ?? NATS_SINK_DEFAULTS.replicas,
      duplicate_window: DUPLICATE_WINDOW_NS,
      allow_rollup_hdrs: true,
    });
    return info.config;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === SUBJECTS_OVERLAP) {
      throw new ConfigError(
        `cannot create stream ${name} for subjects ${prefix}.>: another stream already takes some of them. ` +
          'Set sink.stream to that stream, or set sink.subjectPrefix to subjects no stream has',
        { cause: error },
      );
    }
    throw natsFailure(error, `create stream ${name}`);
  }
}

/** Checks that the sink can keep its exactly-once promise on an existing stream. */
function checkStream(config: StreamConfig, commitSubject: string): StreamFacts {
  const { name } = config;
  const subjects = config.subjects ?? [];
  if (config.retention !== RetentionPolicy.Limits) {
    throw new ConfigError(
      `stream ${name} has ${config.retention} retention: consumers' acknowledgements would remove the commit markers ` +
        'the sink resumes from. Use a stream with limits retention (sink.stream), or let the sink create one',
    );
  }
  if (config.sealed)
    throw new ConfigError(`stream ${name} is sealed: nothing can be written to it; use another stream`);
  if (config.deny_delete) {
    throw new ConfigError(
      `stream ${name} denies deleting messages: after a crash the sink deletes the messages of the batch that was not ` +
        'committed. Allow deletes on the stream (deny_delete: false), or use another stream',
    );
  }
  if (!subjects.some((s) => subjectMatches(s, commitSubject))) {
    throw new ConfigError(
      `stream ${name} does not take subject ${commitSubject}, where the sink keeps its commits ` +
        `(its subjects: ${subjects.join(', ') || 'none'}); add <subjectPrefix>.> to the stream's subjects`,
    );
  }
  return { name, subjects, rollup: config.allow_rollup_hdrs === true && config.deny_purge !== true };
}

/** Throws a `ConfigError` naming the table when the stream does not take its subject. */
export function assertStreamTakes(stream: StreamFacts, subject: string, table: string): void {
  if (stream.subjects.some((s) => subjectMatches(s, subject))) return;
  throw new ConfigError(
    `table ${table}: stream ${stream.name} does not take its subject ${subject} (the stream's subjects: ` +
      `${stream.subjects.join(', ')}); add the subject or <subjectPrefix>.> to the stream, or leave the table out`,
  );
}
