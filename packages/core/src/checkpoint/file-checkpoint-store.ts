import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CheckpointError } from '../errors/errors.js';
import { removeTemporaryFilesOf, writeFileAtomically } from './atomic-write.js';
import type { Checkpoint, CheckpointStore } from './checkpoint.js';
import { parseCheckpoint } from './parse-checkpoint.js';

/**
 * Keeps the latest checkpoint in one JSON file.
 *
 * `save` is atomic and durable: it writes a temporary file next to the target
 * (`.<name>.<random>.tmp`), fsyncs it, renames it over the target and fsyncs the directory, so
 * after a crash at any point the file holds the old checkpoint or the new one, whole, and once
 * `save` resolves the new one survives a power loss. Saves on one store are applied in call order;
 * two stores (or processes) must not share a file. Temporary files left by a crash are ignored by
 * `load` and removed by the first `save`.
 *
 * `load` returns null when the file does not exist; a file that is not a valid checkpoint (empty,
 * not JSON, wrong shape) throws a `CheckpointError` naming the path and what is wrong.
 */
export class FileCheckpointStore implements CheckpointStore {
  /** The checkpoint file, absolute. */
  readonly path: string;
  #queue: Promise<unknown> = Promise.resolve();
  #swept = false;

  constructor(path: string) {
    this.path = resolve(path);
  }

  load(): Promise<Checkpoint | null> {
    return this.#enqueue(() => this.#read());
  }

  save(checkpoint: Checkpoint): Promise<void> {
    let text: string;
    try {
      // Validated and serialised now, so a caller changing the object after this call changes nothing.
      text = `${JSON.stringify(parseCheckpoint(checkpoint, `checkpoint to save to ${this.path}`))}\n`;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(() => this.#write(text));
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #read(): Promise<Checkpoint | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      throw new CheckpointError(`cannot read checkpoint file ${this.path}: ${messageOf(error)}`, { cause: error });
    }
    if (text.trim() === '') throw new CheckpointError(`${this.path}: the file is empty, not a checkpoint`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new CheckpointError(`${this.path}: not valid JSON (${messageOf(error)})`, { cause: error });
    }
    return parseCheckpoint(json, this.path);
  }

  async #write(text: string): Promise<void> {
    try {
      const dir = dirname(this.path);
      await mkdir(dir, { recursive: true });
      if (!this.#swept) {
        await removeTemporaryFilesOf(this.path);
        this.#swept = true;
      }
      await writeFileAtomically(this.path, text);
    } catch (error) {
      throw new CheckpointError(`cannot save checkpoint to ${this.path}: ${messageOf(error)}`, { cause: error });
    }
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
