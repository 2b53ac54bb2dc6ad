import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { MemoryCheckpointStore } from '../../src/checkpoint/memory-checkpoint-store.js';
import { CheckpointError } from '../../src/errors/errors.js';
import { mutableCopy, sampleCheckpoint } from './sample-checkpoints.js';

describe('MemoryCheckpointStore', () => {
  it('loads null before the first save', async () => {
    const store = new MemoryCheckpointStore();
    expect(await store.load()).toBeNull();
    expect(store.saves).toBe(0);
  });

  it('loads what was saved last and counts saves', async () => {
    const store = new MemoryCheckpointStore();
    await store.save(sampleCheckpoint());
    await store.save(sampleCheckpoint({ complete: true }));
    expect(await store.load()).toEqual(sampleCheckpoint({ complete: true }));
    expect(store.saves).toBe(2);
  });

  it('is not changed when the caller mutates a saved checkpoint afterwards', async () => {
    const store = new MemoryCheckpointStore();
    const checkpoint = mutableCopy(sampleCheckpoint());
    await store.save(checkpoint as unknown as Checkpoint);
    checkpoint.connector = 'mysql';
    (checkpoint.position as Record<string, unknown>).seq = 99;
    delete (checkpoint.tables as Record<string, unknown>)['public.orders'];
    expect(await store.load()).toEqual(sampleCheckpoint());
  });

  it('is not changed when the caller mutates a loaded checkpoint', async () => {
    const store = new MemoryCheckpointStore(sampleCheckpoint());
    const loaded = mutableCopy(await store.load());
    const again = (await store.load()) as unknown as Record<string, unknown>;
    again.connector = 'mysql';
    expect(await store.load()).toEqual(loaded);
  });

  it('starts from an initial checkpoint without counting it as a save', async () => {
    const store = new MemoryCheckpointStore(sampleCheckpoint());
    expect(await store.load()).toEqual(sampleCheckpoint());
    expect(store.saves).toBe(0);
  });

  it('refuses an invalid checkpoint and keeps the previous one', async () => {
    const store = new MemoryCheckpointStore();
    await store.save(sampleCheckpoint());
    const invalid = { ...sampleCheckpoint(), version: 2 } as unknown as Checkpoint;
    await expect(store.save(invalid)).rejects.toThrow(CheckpointError);
    await expect(store.save(invalid)).rejects.toThrow('checkpoint to save: version must be 1');
    expect(store.saves).toBe(1);
    expect(await store.load()).toEqual(sampleCheckpoint());
  });
});
