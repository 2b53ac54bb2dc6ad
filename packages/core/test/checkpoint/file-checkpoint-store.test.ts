import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint, TableCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { FileCheckpointStore } from '../../src/checkpoint/file-checkpoint-store.js';
import { CheckpointError } from '../../src/errors/errors.js';
import { sampleCheckpoint } from './sample-checkpoints.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'highwater-checkpoint-'));
  file = join(dir, 'checkpoint.json');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function loadError(store: FileCheckpointStore): Promise<CheckpointError> {
  const error: unknown = await store.load().then(
    () => new Error('load accepted an invalid file'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

describe('FileCheckpointStore', () => {
  it('loads null when the file does not exist, and when its directory does not either', async () => {
    expect(await new FileCheckpointStore(file).load()).toBeNull();
    expect(await new FileCheckpointStore(join(dir, 'no', 'such', 'dir', 'checkpoint.json')).load()).toBeNull();
  });

  it('round-trips a checkpoint, also through a new store on the same file', async () => {
    const store = new FileCheckpointStore(file);
    await store.save(sampleCheckpoint());
    expect(await store.load()).toEqual(sampleCheckpoint());
    expect(await new FileCheckpointStore(file).load()).toEqual(sampleCheckpoint());
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(sampleCheckpoint());
  });

  it('replaces the previous checkpoint and leaves no temporary file', async () => {
    const store = new FileCheckpointStore(file);
    for (let seq = 0; seq < 5; seq++) await store.save(sampleCheckpoint({ position: { seq } }));
    expect(await store.load()).toEqual(sampleCheckpoint({ position: { seq: 4 } }));
    expect(readdirSync(dir)).toEqual(['checkpoint.json']);
  });

  it('applies saves in call order even when they are not awaited one by one', async () => {
    const store = new FileCheckpointStore(file);
    await Promise.all(Array.from({ length: 20 }, (_, seq) => store.save(sampleCheckpoint({ position: { seq } }))));
    expect(await store.load()).toEqual(sampleCheckpoint({ position: { seq: 19 } }));
  });

  it('saves the checkpoint as it was when save was called', async () => {
    const store = new FileCheckpointStore(file);
    const checkpoint = { ...sampleCheckpoint(), position: { seq: 1 } };
    const saving = store.save(checkpoint);
    checkpoint.position.seq = 2;
    await saving;
    expect(await store.load()).toEqual(sampleCheckpoint({ position: { seq: 1 } }));
  });

  it('creates missing parent directories', async () => {
    const nested = join(dir, 'a', 'b', 'c', 'checkpoint.json');
    const store = new FileCheckpointStore(nested);
    await store.save(sampleCheckpoint());
    expect(await new FileCheckpointStore(nested).load()).toEqual(sampleCheckpoint());
  });

  it('resolves a relative path to an absolute one', () => {
    expect(new FileCheckpointStore('state/checkpoint.json').path).toBe(join(process.cwd(), 'state/checkpoint.json'));
  });

  it('ignores a temporary file left by a crash, and removes it on the next save', async () => {
    const store = new FileCheckpointStore(file);
    await store.save(sampleCheckpoint());
    // What a process killed between writing and renaming leaves behind: a half-written temp file.
    const stray = join(dir, '.checkpoint.json.0123456789abcdef.tmp');
    writeFileSync(stray, JSON.stringify(sampleCheckpoint({ complete: true })).slice(0, 40));
    const unrelated = join(dir, '.checkpoint.json.backup.tmp');
    writeFileSync(unrelated, 'not ours');

    const restarted = new FileCheckpointStore(file);
    expect(await restarted.load()).toEqual(sampleCheckpoint());
    await restarted.save(sampleCheckpoint({ complete: true }));
    expect(await restarted.load()).toEqual(sampleCheckpoint({ complete: true }));
    expect(readdirSync(dir).sort()).toEqual(['.checkpoint.json.backup.tmp', 'checkpoint.json']);
  });

  it('refuses to save an invalid checkpoint and keeps the old file', async () => {
    const store = new FileCheckpointStore(file);
    await store.save(sampleCheckpoint());
    const invalid = { ...sampleCheckpoint(), tables: { t: { phase: 'done' } } } as unknown as Checkpoint;
    await expect(store.save(invalid)).rejects.toThrow(
      `checkpoint to save to ${file}: tables["t"].phase must be 'snapshot' or 'stream', found the string "done"`,
    );
    expect(await store.load()).toEqual(sampleCheckpoint());
    expect(readdirSync(dir)).toEqual(['checkpoint.json']);
  });

  describe('refuses a file that is not a checkpoint, naming the path and the problem', () => {
    it('an empty file', async () => {
      writeFileSync(file, '');
      expect((await loadError(new FileCheckpointStore(file))).message).toBe(
        `${file}: the file is empty, not a checkpoint`,
      );
    });

    it('a file of whitespace', async () => {
      writeFileSync(file, ' \n\t\n');
      expect((await loadError(new FileCheckpointStore(file))).message).toBe(
        `${file}: the file is empty, not a checkpoint`,
      );
    });

    it('a half-written file', async () => {
      const text = JSON.stringify(sampleCheckpoint());
      writeFileSync(file, text.slice(0, text.length / 2));
      const error = await loadError(new FileCheckpointStore(file));
      expect(error.message).toMatch(new RegExp(`^${escapeRegExp(file)}: not valid JSON \\(.+\\)$`));
      expect(error.cause).toBeInstanceOf(SyntaxError);
    });

    it('JSON of the wrong shape', async () => {
      writeFileSync(file, JSON.stringify({ ...sampleCheckpoint(), version: 3 }));
      expect((await loadError(new FileCheckpointStore(file))).message).toBe(
        `${file}: version must be 1 (the only checkpoint format this release reads), found 3`,
      );
    });

    it('JSON that is not an object', async () => {
      writeFileSync(file, '[1, 2, 3]');
      expect((await loadError(new FileCheckpointStore(file))).message).toBe(
        `${file}: the checkpoint must be a JSON object, found an array of 3`,
      );
    });

    it('a directory', async () => {
      mkdirSync(file);
      const error = await loadError(new FileCheckpointStore(file));
      expect(error.message).toMatch(new RegExp(`^cannot read checkpoint file ${escapeRegExp(file)}: .*EISDIR`));
    });
  });

  it('fails to save where the parent is a file, with the path in the message', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    const store = new FileCheckpointStore(join(dir, 'plain', 'checkpoint.json'));
    await expect(store.save(sampleCheckpoint())).rejects.toThrow(
      new RegExp(`^cannot save checkpoint to ${escapeRegExp(join(dir, 'plain', 'checkpoint.json'))}: .*`),
    );
  });

  describe('stays small', () => {
    it('with many tables: a stream table costs its name plus about 20 bytes', async () => {
      const tables: Record<string, TableCheckpoint> = {};
      for (let i = 0; i < 10_000; i++) tables[`app.table_${String(i).padStart(5, '0')}`] = { phase: 'stream' };
      await new FileCheckpointStore(file).save({ ...sampleCheckpoint(), tables });
      // `"app.table_00000":{"phase":"stream"},` is 37 bytes.
      expect(statSync(file).size).toBeLessThan(10_000 * 40);
    });

    it('with a huge table: finished chunks are not listed, only the unfinished ones', async () => {
      const huge = (splitsDone: number): Checkpoint => ({
        ...sampleCheckpoint(),
        tables: {
          'app.events': {
            phase: 'snapshot',
            splitter: {
              nextIndex: splitsDone + 8,
              nextStart: ['2024-06-01T00:00:00Z', { $bigint: '9223372036854775807' }],
              done: false,
              strategy: { kind: 'walk' },
            },
            unfinished: Array.from({ length: 8 }, (_, i) => ({
              index: splitsDone + i,
              start: [`key-${splitsDone + i}`],
              end: [`key-${splitsDone + i + 1}`],
            })),
            splitsDone,
            rowsRead: splitsDone * 8096,
          },
        },
      });
      await new FileCheckpointStore(file).save(huge(10));
      const small = statSync(file).size;
      // A 10-billion-row table: 1.2 million chunks of 8096 rows already read.
      await new FileCheckpointStore(file).save(huge(1_235_000));
      const large = statSync(file).size;
      expect(large).toBeLessThan(1_500);
      // Only the numbers got longer (about 15 more digits in each of the 8 unfinished splits).
      expect(large - small).toBeLessThan(200);
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
