import {
  type Checkpoint,
  type EventBatch,
  type EventFormat,
  EventLineEncoder,
  LineBuffer,
  type Sink,
  SinkError,
} from '@highwater/core';

/**
 * Where the stdout sink writes; `process.stdout` unless a test gives another stream. Each chunk is
 * the UTF-8 text of one batch's lines, a buffer of its own.
 */
export interface LineOutput {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
}

export interface StdoutSinkOptions {
  readonly format: EventFormat;
  /** Debezium `source.name` and topic prefix. */
  readonly serverName?: string;
  readonly output?: LineOutput;
}

/**
 * Writes each event as a JSON line to standard output (logs go to standard error, so the two never
 * mix). It cannot store checkpoints, so the runner pairs it with a checkpoint file: at-least-once
 * across a crash, since the last batch before the crash may be printed again after the restart.
 */
export class StdoutSink implements Sink {
  readonly name = 'stdout';
  readonly storesCheckpoints = false;
  readonly #encoder: EventLineEncoder;
  readonly #output: LineOutput;
  readonly #out = new LineBuffer();

  constructor(options: StdoutSinkOptions) {
    this.#encoder = new EventLineEncoder(options.format, options.serverName);
    this.#output = options.output ?? process.stdout;
  }

  async open(): Promise<Checkpoint | null> {
    return null;
  }

  write(batch: EventBatch): Promise<void> {
    this.#out.clear();
    this.#encoder.encodeInto(batch.events, this.#out);
    if (this.#out.length === 0) return Promise.resolve();
    // A copy (one memcpy), since the buffer is reused and an output may keep the chunk it was given.
    const chunk = Buffer.from(this.#out.bytes());
    // Resolving on the write callback, not on `drain`, is what makes a slow reader of the pipe slow
    // the source down instead of growing the stream's buffer without bound.
    return new Promise((resolve, reject) => {
      this.#output.write(chunk, (error) => {
        if (error) reject(new SinkError(`cannot write to standard output: ${error.message}`, { cause: error }));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {}
}
