import { type Checkpoint, CheckpointError, type CheckpointStore, ClusterError, parseCheckpoint } from '@highwater/core';
import type { Coordinator } from './coordinator.js';
import { CHECKPOINT_KEY } from './names.js';

/**
 * The pipeline's checkpoint in the cluster's state bucket, so no member needs a local disk. Saves
 * are compare-and-swap on the revision this leader last read or wrote: once another member has
 * taken the lease and saved, a deposed leader's save fails instead of moving the checkpoint back.
 */
export class KvCheckpointStore implements CheckpointStore {
  private revision = 0;

  constructor(private readonly coordinator: Coordinator) {}

  async load(): Promise<Checkpoint | null> {
    const entry = await this.coordinator.state.get(CHECKPOINT_KEY);
    if (entry === null || entry.operation !== 'PUT') {
      this.revision = entry?.revision ?? 0;
      return null;
    }
    this.revision = entry.revision;
    let json: unknown;
    try {
      json = entry.json();
    } catch (cause) {
      throw new CheckpointError(
        `the checkpoint in NATS bucket ${this.coordinator.names.stateBucket} is not JSON: delete key ${CHECKPOINT_KEY} to start over`,
        { cause },
      );
    }
    return parseCheckpoint(json, `NATS bucket ${this.coordinator.names.stateBucket} key ${CHECKPOINT_KEY}`);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const { state, names, nc } = this.coordinator;
    const text = JSON.stringify(checkpoint);
    // A value is one message: beyond the server's max_payload the put fails, and NATS's error would
    // read like a lost lease. The captured tables' definitions (about 1.5 kB per table of ten
    // columns, docs/benchmarks.md "Checkpoint size") are what makes a checkpoint this large.
    const limit = nc.info?.max_payload;
    const bytes = Buffer.byteLength(text);
    if (limit !== undefined && bytes > limit) {
      throw new CheckpointError(
        `the checkpoint (${bytes} bytes, ${Object.keys(checkpoint.tables).length} tables with their definitions) is larger than NATS's max_payload (${limit} bytes), so it cannot be saved in bucket ${names.stateBucket}: raise max_payload in the nats-server configuration (up to 64 MB; 8 MB is advised) or capture fewer tables per pipeline`,
      );
    }
    try {
      this.revision =
        this.revision === 0
          ? await state.create(CHECKPOINT_KEY, text)
          : await state.update(CHECKPOINT_KEY, text, this.revision);
    } catch (cause) {
      throw new ClusterError(
        `saving the checkpoint in NATS bucket ${names.stateBucket} failed: another member saved one since (this process is no longer the leader) or NATS is unreachable`,
        { cause, retriable: false },
      );
    }
  }
}
