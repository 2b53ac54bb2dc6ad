import { type FileHandle, mkdir, open, readFile, stat, truncate } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type Checkpoint,
  CheckpointError,
  type EventBatch,
  type EventFormat,
  EventLineEncoder,
  LineBuffer,
  parseCheckpoint,
  type Sink,
  SinkError,
  removeTemporaryFilesOf,
  writeFileAtomically,
} from '@highwater/core';
import type { SinkLogger } from '@highwater/core';

/** Bytes of a batch encoded before they are handed to a write; the next slice is encoded meanwhile. */
const SLICE_BYTES = 1024 * 1024;

export interface FileSinkOptions {
  /** The JSON-lines file; its checkpoint is kept beside it in `<path>.checkpoint.json`. */
  readonly path: string;
  readonly format: EventFormat;
  /** Debezium `source.name` and topic prefix. */
  readonly serverName?: string;
  readonly logger?: SinkLogger;
}

/** What the file sink keeps in `<path>.checkpoint.json`. */
export interface FileSinkState {
  /** Bytes of the data file that belong to batches up to `checkpoint`. */
  readonly length: number;
  /** `null` until the first batch is stored. */
  readonly checkpoint: Checkpoint | null;
  /** When the state was stored. */
  readonly storedAt: Date;
}

/** The checkpoint file of a file sink writing to `path`. */
export function fileSinkCheckpointPath(path: string): string {
  return `${resolve(path)}.checkpoint.json`;
}

/**
 * Reads a file sink's stored state (for `highwater status`); `null` when the sink has not written yet.
 * Throws a `CheckpointError` naming the file when it is not a file sink checkpoint.
 */
export async function readFileSinkState(path: string): Promise<FileSinkState | null> {
  const sidecar = fileSinkCheckpointPath(path);
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return null;
    throw new CheckpointError(`cannot read ${sidecar}: ${messageOf(error)}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${sidecar}: not valid JSON (${messageOf(error)}); it is the file sink's checkpoint`, {
      cause: error,
    });
  }
  const o = json as { version?: unknown; length?: unknown; checkpoint?: unknown; storedAt?: unknown };
  if (
    typeof json !== 'object' ||
    json === null ||
    o.version !== 1 ||
    typeof o.length !== 'number' ||
    !Number.isSafeInteger(o.length) ||
    o.length < 0 ||
    typeof o.storedAt !== 'string'
  ) {
    throw new CheckpointError(
      `${sidecar}: not a file sink checkpoint (expected { version: 1, length, storedAt, checkpoint })`,
    );
  }
  const checkpoint = o.checkpoint === null ? null : parseCheckpoint(o.checkpoint, sidecar);
  return { length: o.length, checkpoint, storedAt: new Date(o.storedAt) };
}

/**
 * Writes each event as a JSON line to a file, exactly once across crashes.
 *
 * The sink stores the source checkpoint itself (`storesCheckpoints`), together with the number of
 * bytes of the data file that belong to it, in `<path>.checkpoint.json`. Invariant: the stored
 * `length` bytes of the file are exactly the events up to the stored checkpoint. A write appends the
 * batch, fsyncs the data, then replaces the checkpoint file atomically (temporary file, fsync,
 * rename, directory fsync). A crash before the rename leaves the old checkpoint and a tail of
 * bytes after its length: `open` cuts that tail off and the source delivers the batch again from
 * the old checkpoint, so no event is lost or repeated in the file. A reader tailing the file while
 * the pipeline runs can see such a tail before it is cut; the committed part is the first `length`
 * bytes named in the checkpoint file.
 *
 * One pipeline per file: two processes writing one file break the invariant.
 */
export class FileSink implements Sink {
  readonly name = 'file';
  readonly storesCheckpoints = true;
  /** The data file, absolute. */
  readonly path: string;
  /** The checkpoint file, absolute. */
  readonly checkpointPath: string;
  readonly #encoder: EventLineEncoder;
  /**
   * Two buffers a batch is encoded into in turns, a slice of about {@link SLICE_BYTES} at a time:
   * one is written (by a thread of libuv's pool) while the next slice is encoded into the other.
   */
  readonly #slices = [new LineBuffer(), new LineBuffer()] as const;
  readonly #logger: SinkLogger | undefined;
  #length = 0;
  /** False until a checkpoint file exists: the first write creates one before any data. */
  #hasState = false;
  #handle: FileHandle | null = null;
  #opened = false;
  #failed: Error | null = null;

  constructor(options: FileSinkOptions) {
    this.path = resolve(options.path);
    this.checkpointPath = fileSinkCheckpointPath(this.path);
    this.#encoder = new EventLineEncoder(options.format, options.serverName);
    this.#logger = options.logger;
  }

  /** Returns the stored checkpoint and cuts off bytes written after it (see the class comment). Writes nothing new. */
  async open(): Promise<Checkpoint | null> {
    // A run killed between writing the checkpoint's temporary file and renaming it left that file.
    const leftovers = await removeTemporaryFilesOf(this.checkpointPath);
    if (leftovers.length > 0) {
      this.#logger?.info({ removed: leftovers }, 'removed temporary checkpoint files left by a run that was killed');
    }
    const state = await readFileSinkState(this.path);
    const size = await sizeOf(this.path);
    if (state === null) {
      if (size !== null && size > 0) {
        throw new SinkError(
          `${this.path} already exists and has no checkpoint file (${this.checkpointPath}): it was not written by ` +
            'this sink, or its checkpoint was deleted. Move or delete it to start fresh, or set sink.path to another file.',
        );
      }
      this.#length = 0;
      this.#opened = true;
      return null;
    }
    if ((size ?? 0) < state.length) {
      throw new SinkError(
        `${this.path} has ${size ?? 0} bytes but its checkpoint (${this.checkpointPath}) records ${state.length}: the file ` +
          'was truncated, rotated or replaced, so the pipeline cannot continue it exactly once. Move both files away to start fresh.',
      );
    }
    if (size !== null && size > state.length) {
      // The tail belongs to a batch whose checkpoint was never stored; the source sends it again.
      await truncate(this.path, state.length);
      this.#logger?.info(
        { file: this.path, removedBytes: size - state.length },
        'removed the part of the file written after the last stored checkpoint',
      );
    }
    this.#length = state.length;
    this.#hasState = true;
    this.#opened = true;
    return state.checkpoint;
  }

  async write(batch: EventBatch): Promise<void> {
    if (!this.#opened) throw new SinkError('the file sink is not open: call open() first');
    if (this.#failed !== null) {
      throw new SinkError(`the file sink stopped after an earlier failure: ${this.#failed.message}`, {
        cause: this.#failed,
      });
    }
    try {
      await this.#write(batch);
    } catch (error) {
      // The file may now hold part of the batch after #length: only open() (on a restart) can repair that.
      this.#failed = error as Error;
      if (error instanceof SinkError) throw error;
      throw new SinkError(`cannot write to ${this.path}: ${messageOf(error)}`, { cause: error });
    }
  }

  async #write(batch: EventBatch): Promise<void> {
    if (!this.#hasState) {
      await mkdir(dirname(this.path), { recursive: true });
      // Stored before any data, so a crash after the first append finds a checkpoint saying 0 bytes.
      await this.#saveState(0, null);
      this.#hasState = true;
    }
    const { events } = batch;
    let bytes = 0;
    let writing: Promise<void> = Promise.resolve();
    for (let next = 0, turn = 0; next < events.length; turn ^= 1) {
      const slice = this.#slices[turn] as LineBuffer;
      slice.clear();
      next = this.#encoder.encodeInto(events, slice, next, SLICE_BYTES);
      // The other buffer's write has ended before this one's starts: appends stay in order, and a
      // buffer is encoded into again only after its write.
      await writing;
      if (slice.length === 0) continue;
      bytes += slice.length;
      this.#handle ??= await open(this.path, 'a');
      writing = writeAll(this.#handle, slice.bytes());
      // Awaited at the next turn or after the loop; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
    }
    await writing;
    // The new checkpoint file is written and fsynced while the data is flushed; it replaces the old
    // one only once the data is durable.
    const flushed = bytes > 0 ? (this.#handle as FileHandle).datasync() : Promise.resolve();
    await this.#saveState(this.#length + bytes, batch.checkpoint, flushed);
    await flushed;
    this.#length += bytes;
  }

  async #saveState(length: number, checkpoint: Checkpoint | null, renameAfter?: Promise<void>): Promise<void> {
    const text = `${JSON.stringify({ version: 1, length, storedAt: new Date().toISOString(), checkpoint })}\n`;
    await writeFileAtomically(this.checkpointPath, text, renameAfter === undefined ? {} : { renameAfter });
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    this.#opened = false;
    await handle?.close();
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return null;
    throw new SinkError(`cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
