import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileCheckpointStore } from '../../src/checkpoint/file-checkpoint-store.js';
import { CheckpointError } from '../../src/errors/errors.js';
import { sampleCheckpoint } from './sample-checkpoints.js';

// The store's file-system calls go through this mock: it records each one and lets a test freeze
// or fail the save at a chosen step, which is what a crash or a full disk does to a real save.
const fs = vi.hoisted(() => ({
  log: [] as string[],
  /** Runs before the real call; may throw, or never resolve (a process that died there). */
  before: {} as { [step: string]: (() => Promise<void>) | undefined },
  /** Every handle opened, so handles held by a "dead" save can be closed after the test. */
  handles: [] as FsPromises.FileHandle[],
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  const step = async (name: string, path: string): Promise<void> => {
    fs.log.push(`${name} ${basename(path)}`);
    await fs.before[name]?.();
  };
  const open = async (path: string, flags?: string): Promise<FsPromises.FileHandle> => {
    await step(`open(${flags})`, path);
    const handle = await real.open(path, flags);
    fs.handles.push(handle);
    return new Proxy(handle, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        if (prop === 'writeFile' || prop === 'sync' || prop === 'close') {
          return async (...args: unknown[]) => {
            await step(prop, path);
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  };
  const rename = async (from: string, to: string): Promise<void> => {
    await step('rename', `${basename(from)} -> ${basename(to)}`);
    return real.rename(from, to);
  };
  return { ...real, open, rename };
});

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'highwater-checkpoint-crash-'));
  file = join(dir, 'checkpoint.json');
  fs.log.length = 0;
  fs.before = {};
});

afterEach(async () => {
  await Promise.all(fs.handles.splice(0).map((handle) => handle.close().catch(() => undefined)));
  rmSync(dir, { recursive: true, force: true });
});

const old = sampleCheckpoint({ position: { seq: 1 } });
const next = sampleCheckpoint({ position: { seq: 2 }, complete: true });
const never = () => new Promise<void>(() => {});

describe('FileCheckpointStore durability', () => {
  it('fsyncs the temp file before renaming it over the target, then fsyncs the directory', async () => {
    await new FileCheckpointStore(file).save(next);
    const temp = /^\.checkpoint\.json\.[0-9a-f]{16}\.tmp$/;
    const steps = fs.log.map((entry) => entry.replace(/\.checkpoint\.json\.[0-9a-f]{16}\.tmp/g, '<temp>'));
    expect(steps).toEqual([
      'open(wx) <temp>',
      'writeFile <temp>',
      'sync <temp>',
      'close <temp>',
      'rename <temp> -> checkpoint.json',
      `open(r) ${basename(dir)}`,
      `sync ${basename(dir)}`,
      `close ${basename(dir)}`,
    ]);
    expect(fs.log[0]?.split(' ')[1]).toMatch(temp);
  });

  // A process killed at any step before the rename: the save never finishes, a restarted process
  // (a new store on the same file) must read the old checkpoint, whole.
  it.each(['writeFile', 'sync', 'close', 'rename'])(
    'keeps the old checkpoint when the process dies before %s',
    async (step) => {
      await new FileCheckpointStore(file).save(old);
      fs.log.length = 0; // so the wait below sees the dying save reach the step, not the save above
      fs.before[step] = never;
      void new FileCheckpointStore(file).save(next);
      await vi.waitFor(() => expect(fs.log.some((entry) => entry.startsWith(`${step} `))).toBe(true));

      const restarted = new FileCheckpointStore(file);
      expect(await restarted.load()).toEqual(old);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(old);
      // The dead process's temp file is still there; the restarted one saves over it and clears it.
      expect(readdirSync(dir)).toHaveLength(2);
      fs.before = {};
      await restarted.save(next);
      expect(await restarted.load()).toEqual(next);
      expect(readdirSync(dir)).toEqual(['checkpoint.json']);
    },
  );

  it('keeps the old checkpoint and removes the temp file when writing fails (disk full)', async () => {
    const store = new FileCheckpointStore(file);
    await store.save(old);
    fs.before.writeFile = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const error: unknown = await store.save(next).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).message).toBe(
      `cannot save checkpoint to ${file}: ENOSPC: no space left on device, write`,
    );
    expect((error as CheckpointError).cause).toMatchObject({ code: 'ENOSPC' });
    expect(await store.load()).toEqual(old);
    expect(readdirSync(dir)).toEqual(['checkpoint.json']);
  });

  it('keeps the old checkpoint when the rename fails, and the next save succeeds', async () => {
    const store = new FileCheckpointStore(file);
    await store.save(old);
    fs.before.rename = async () => {
      throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
    };
    await expect(store.save(next)).rejects.toThrow(CheckpointError);
    expect(await store.load()).toEqual(old);
    expect(readdirSync(dir)).toEqual(['checkpoint.json']);
    fs.before = {};
    await store.save(next);
    expect(await store.load()).toEqual(next);
  });

  it('does not report success before the directory is fsynced', async () => {
    const store = new FileCheckpointStore(file);
    let release = (): void => {};
    fs.before.sync = async () => {
      // Hold the directory fsync (the second sync of the save) until the test lets it go.
      if (fs.log.filter((entry) => entry.startsWith('sync ')).length === 2)
        await new Promise<void>((resolve) => {
          release = resolve;
        });
    };
    let done = false;
    const saving = store.save(next).then(() => {
      done = true;
    });
    await vi.waitFor(() => expect(fs.log).toContain(`sync ${basename(dir)}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    release();
    await saving;
    expect(done).toBe(true);
  });
});
