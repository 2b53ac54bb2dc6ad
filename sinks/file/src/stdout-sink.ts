import {
  type Checkpoint,
  type EventBatch,
  type EventFormat,
  EventLineEncoder,
  type Sink,
  SinkError,
} from '@highwater/core';

/** Where the stdout sink writes; `process.stdout` unless a test gives another stream. */
export interface LineOutput {
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
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

  constructor(options: StdoutSinkOptions) {
    this.#encoder = new EventLineEncoder(options.format, options.serverName);
    this.#output = options.output ?? process.stdout;
  }

  async open(): Promise<Checkpoint | null> {
    return null;
  }

  write(batch: EventBatch): Promise<void> {
    const text = this.#encoder.encode(batch.events);
    if (text === '') return Promise.resolve();
    // Resolving on the write callback, not on `drain`, is what makes a slow reader of the pipe slow
    // the source down instead of growing the stream's buffer without bound.
    return new Promise((resolve, reject) => {
      this.#output.write(text, (error) => {
        if (error) reject(new SinkError(`cannot write to standard output: ${error.message}`, { cause: error }));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {}
}
