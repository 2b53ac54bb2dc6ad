import type { Checkpoint, CheckpointStore } from './checkpoint.js';
import { parseCheckpoint } from './parse-checkpoint.js';

/**
 * Keeps the latest checkpoint in memory: for tests, and for pipelines that need no resume after a
 * restart. It stores a validated deep copy and hands out copies, so neither the caller's later
 * changes to a saved object nor changes to a loaded one reach the stored checkpoint.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  #stored: Checkpoint | null;
  #saves = 0;

  constructor(initial: Checkpoint | null = null) {
    this.#stored = initial === null ? null : parseCheckpoint(initial, 'initial checkpoint');
  }

  /** How many times `save` succeeded. */
  get saves(): number {
    return this.#saves;
  }

  async load(): Promise<Checkpoint | null> {
    return this.#stored === null ? null : structuredClone(this.#stored);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.#stored = parseCheckpoint(checkpoint, 'checkpoint to save');
    this.#saves += 1;
  }
}
