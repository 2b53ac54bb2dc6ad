import { randomUUID } from 'node:crypto';
import {
  type Checkpoint,
  CheckpointError,
  ConfigError,
  type EventBatch,
  EventLineEncoder,
  type Sink,
  SinkError,
} from '@highwater/core';
import { JetStreamApiError, type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { type CommitMarker, encodeMarker, readLastCommit } from './commit-marker.js';
import { connectOptionsFromUrl, redact } from './connect-options.js';
import { eventMessages } from './event-messages.js';
import { HEADER } from './headers.js';
import { natsFailure } from './nats-errors.js';
import { defaultStreamName, NATS_SINK_DEFAULTS, type NatsSinkOptions } from './nats-sink-options.js';
import { PipelinedPublisher } from './pipelined-publisher.js';
import { assertStreamTakes, ensureStream, type StreamFacts } from './stream-setup.js';
import { commitSubject, isValidSubjectPrefix, subjectToken, tableSubject } from './subjects.js';
import { deleteMessages, findUncommitted } from './uncommitted-tail.js';

/** JetStream's code for a failed `Nats-Expected-Last-Subject-Sequence`. */
const WRONG_LAST_SEQUENCE = 10071;

/**
 * Publishes each event to NATS JetStream, one subject per table (`<subjectPrefix>.<schema>.<table>`),
 * exactly once across crashes, with the checkpoint kept in the stream itself (`storesCheckpoints`).
 *
 * A batch is its events' messages, published pipelined (at most `maxInFlight` awaiting their
 * acknowledgement), then — once every one is acknowledged — a **commit marker** on the pipeline's
 * commit subject holding the batch's checkpoint. Invariant: the pipeline's messages before its last
 * marker are exactly the events up to that marker's checkpoint. `open` reads the last marker
 * (`last_by_subj`), deletes the pipeline's messages after it (the part of a batch a crash cut short),
 * and returns its checkpoint; the source resumes there, so nothing is lost or published twice
 * however long the pipeline was down. Each marker is published with
 * `Nats-Expected-Last-Subject-Sequence` set to the previous marker's sequence, so a second process
 * writing the same pipeline fails at its first commit. docs/sinks.md has the whole argument.
 */
export class NatsSink implements Sink {
  readonly name = 'nats';
  readonly storesCheckpoints = true;
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly commitSubject: string;
  readonly #options: NatsSinkOptions;
  readonly #encoder: EventLineEncoder;
  readonly #subjects = new Map<string, string>();
  #connection: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #facts: StreamFacts | null = null;
  #publisher: PipelinedPublisher | null = null;
  #runId = '';
  /** The last commit number and its marker's stream sequence. */
  #commit = 0;
  #markerSeq = 0;
  #failed: Error | null = null;

  constructor(options: NatsSinkOptions) {
    if (options.pipeline === '') throw new ConfigError('the NATS sink needs the pipeline name');
    this.#options = options;
    this.subjectPrefix = options.subjectPrefix ?? subjectToken(options.pipeline);
    if (!isValidSubjectPrefix(this.subjectPrefix)) {
      throw new ConfigError(
        `sink.subjectPrefix ${JSON.stringify(this.subjectPrefix)}: use dot-separated tokens without wildcards (*, >) or spaces, e.g. cdc.shop`,
      );
    }
    this.stream = options.stream ?? defaultStreamName(options.pipeline);
    if (!/^[^.*>\s/\\]+$/.test(this.stream)) {
      throw new ConfigError(
        `sink.stream ${JSON.stringify(this.stream)}: a stream name cannot hold . * > / \\ or spaces`,
      );
    }
    const maxInFlight = options.maxInFlight ?? NATS_SINK_DEFAULTS.maxInFlight;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
      throw new ConfigError(`sink.maxInFlight ${maxInFlight}: expected a whole number of at least 1`);
    }
    this.commitSubject = commitSubject(this.subjectPrefix, options.pipeline);
    this.#encoder = new EventLineEncoder(options.format ?? NATS_SINK_DEFAULTS.format, options.pipeline);
  }

  /** Connects, makes sure the stream is there, removes an uncommitted batch's messages, and returns the last commit's checkpoint. */
  async open(): Promise<Checkpoint | null> {
    const { url, pipeline } = this.#options;
    await this.close();
    this.#failed = null;
    this.#subjects.clear();
    try {
      this.#connection = await connect(connectOptionsFromUrl(url, `highwater ${pipeline}`));
    } catch (error) {
      throw natsFailure(error, `connect to NATS at ${redact(url)}`);
    }
    try {
      return await this.#prepare(this.#connection);
    } catch (error) {
      // The runner only closes a sink that opened: do not leave the connection behind.
      await this.close().catch(() => undefined);
      throw error;
    }
  }

  async #prepare(connection: NatsConnection): Promise<Checkpoint | null> {
    const { url, pipeline, logger } = this.#options;
    const jsm = await jetstreamManager(connection).catch((error: unknown) => {
      throw natsFailure(error, `use JetStream at ${redact(url)} (is the server started with -js?)`);
    });
    const js = jetstream(connection);
    this.#js = js;
    const ackTimeoutMs = this.#options.ackTimeoutMs ?? NATS_SINK_DEFAULTS.ackTimeoutMs;
    this.#publisher = new PipelinedPublisher(
      js,
      this.#options.maxInFlight ?? NATS_SINK_DEFAULTS.maxInFlight,
      ackTimeoutMs,
    );
    this.#runId = randomUUID().replaceAll('-', '').slice(0, 16);
    this.#facts = await ensureStream(jsm, {
      name: this.stream,
      prefix: this.subjectPrefix,
      commitSubject: this.commitSubject,
      limits: this.#options.limits ?? {},
      logger,
    });

    const last = await readLastCommit(jsm, this.stream, this.commitSubject);
    const scan = { stream: this.stream, prefix: this.subjectPrefix, pipeline };
    if (last === null) {
      const stray = await findUncommitted(js, { ...scan, fromSeq: 1 });
      if (stray.length > 0) {
        throw new CheckpointError(
          `stream ${this.stream} holds ${stray.length} messages of pipeline ${pipeline} but no commit marker on ` +
            `${this.commitSubject}: it was removed (by the stream's max_age or max_bytes, or by hand), so where the ` +
            'pipeline stopped is unknown. Purge those messages or use another stream or subject prefix to start afresh',
        );
      }
      // Commit 0 goes in before any event: from now on a missing marker means a lost one, never a fresh start.
      this.#commit = -1;
      this.#markerSeq = 0;
      await this.#publishMarker(0, 0, null);
      logger?.info(
        { stream: this.stream, subject: this.commitSubject },
        'no commit marker in the stream: starting fresh',
      );
      return null;
    }
    if (last.marker.pipeline !== pipeline) {
      throw new CheckpointError(
        `the commit marker on ${this.commitSubject} in stream ${this.stream} belongs to pipeline ${last.marker.pipeline}, ` +
          `not ${pipeline}: two pipelines whose names map to one subject token; rename one or give it another subjectPrefix`,
      );
    }
    const uncommitted = await findUncommitted(js, { ...scan, fromSeq: last.seq + 1 });
    if (uncommitted.length > 0) {
      await deleteMessages(jsm, this.stream, uncommitted);
      logger?.info(
        { stream: this.stream, removed: uncommitted.length, from: uncommitted[0], to: uncommitted.at(-1) },
        'removed the messages of a batch published after the last commit marker (the source sends it again)',
      );
    }
    this.#commit = last.marker.commit;
    this.#markerSeq = last.seq;
    return last.marker.checkpoint;
  }

  async write(batch: EventBatch): Promise<void> {
    const publisher = this.#publisher;
    if (publisher === null || this.#js === null) throw new SinkError('the NATS sink is not open: call open() first');
    if (this.#failed !== null) {
      throw new SinkError(`the NATS sink stopped after an earlier failure: ${this.#failed.message}`, {
        cause: this.#failed,
      });
    }
    const commit = this.#commit + 1;
    try {
      const messages = eventMessages(batch.events, {
        pipeline: this.#options.pipeline,
        runId: this.#runId,
        commit,
        encoder: this.#encoder,
        subjectOf: (name, id) => this.#subjectOf(name, id),
      });
      for (const message of messages) {
        await publisher.publish(message.subject, message.payload, message.headers, message.msgID, message.table);
      }
      // The marker commits the batch, so it goes only after every event is stored.
      await publisher.drain();
      await this.#publishMarker(commit, messages.length, batch.checkpoint);
    } catch (error) {
      const failure = natsFailure(error, `publish a batch to stream ${this.stream}`);
      this.#failed = failure;
      throw failure;
    }
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = null;
    this.#js = null;
    this.#publisher = null;
    if (connection !== null && !connection.isClosed()) await connection.close();
  }

  #subjectOf(table: string, id: Parameters<typeof tableSubject>[1]): string {
    let subject = this.#subjects.get(table);
    if (subject === undefined) {
      subject = tableSubject(this.subjectPrefix, id);
      assertStreamTakes(this.#facts!, subject, table);
      this.#subjects.set(table, subject);
    }
    return subject;
  }

  /** Publishes commit `commit` after the previous marker, failing if another process committed in between. */
  async #publishMarker(commit: number, events: number, checkpoint: Checkpoint | null): Promise<void> {
    const { pipeline } = this.#options;
    const marker: CommitMarker = {
      version: 1,
      pipeline,
      commit,
      events,
      checkpoint,
      committedAt: new Date().toISOString(),
    };
    const h = natsHeaders();
    h.set(HEADER.pipeline, pipeline);
    h.set(HEADER.commit, String(commit));
    // Only the latest marker is ever read: a rollup keeps the commit subject at one message.
    if (this.#facts!.rollup) h.set('Nats-Rollup', 'sub');
    try {
      const ack = await this.#js!.publish(this.commitSubject, encodeMarker(marker), {
        headers: h,
        msgID: `${pipeline}.${this.#runId}.${commit}.commit`,
        expect: { lastSubjectSequence: this.#markerSeq },
        timeout: this.#options.ackTimeoutMs ?? NATS_SINK_DEFAULTS.ackTimeoutMs,
      });
      this.#markerSeq = ack.seq;
      this.#commit = commit;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) {
        throw new SinkError(
          `another process committed to ${this.commitSubject} in stream ${this.stream} since this one opened: ` +
            `two runs of pipeline ${pipeline} write the stream. Stop one; the other resumes from the stream when restarted`,
          { cause: error },
        );
      }
      throw natsFailure(error, `publish the commit marker of batch ${commit} to stream ${this.stream}`);
    }
  }
}
