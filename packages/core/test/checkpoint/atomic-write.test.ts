import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTemporaryFileOf } from '../../src/checkpoint/atomic-write.js';
import { removeTemporaryFilesOf, writeFileAtomically } from '../../src/index.js';

describe('writeFileAtomically', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the file, then replaces it whole, leaving no temporary file', async () => {
    const path = join(dir, 'state.json');
    await writeFileAtomically(path, 'first\n');
    expect(await readFile(path, 'utf8')).toBe('first\n');
    await writeFileAtomically(path, 'second\n');
    expect(await readFile(path, 'utf8')).toBe('second\n');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('fails without touching the file when the rename cannot happen, and removes its temporary file', async () => {
    const path = join(dir, 'taken');
    await writeFile(join(dir, 'keep'), 'old');
    // A non-empty directory in the way: the rename over it fails.
    await mkdir(join(path, 'inside'), { recursive: true });
    await expect(writeFileAtomically(path, 'new')).rejects.toThrow();
    await expect(writeFileAtomically(join(dir, 'absent', 'x'), 'new')).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).sort()).toEqual(['keep', 'taken']);
  });

  it('renames only after renameAfter resolves, and not at all when it rejects', async () => {
    const path = join(dir, 'state.json');
    await writeFileAtomically(path, 'old\n');
    let flushed!: () => void;
    const flush = new Promise<void>((resolve) => {
      flushed = resolve;
    });
    const writing = writeFileAtomically(path, 'new\n', { renameAfter: flush });
    // The temporary file is written meanwhile; the file keeps its old text until the flush ends.
    for (let i = 0; i < 50 && (await readdir(dir)).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await readdir(dir)).length).toBe(2);
    expect(await readFile(path, 'utf8')).toBe('old\n');
    flushed();
    await writing;
    expect(await readFile(path, 'utf8')).toBe('new\n');
    expect(await readdir(dir)).toEqual(['state.json']);

    const failed = writeFileAtomically(path, 'newer\n', { renameAfter: Promise.reject(new Error('EIO on the data')) });
    await expect(failed).rejects.toThrow('EIO on the data');
    expect(await readFile(path, 'utf8')).toBe('new\n');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('names its temporary files so a sweep finds only them', () => {
    const path = join(dir, 'cp.json');
    expect(isTemporaryFileOf(path, '.cp.json.0123456789abcdef.tmp')).toBe(true);
    expect(isTemporaryFileOf(path, '.cp.json.0123456789abcdeg.tmp')).toBe(false);
    expect(isTemporaryFileOf(path, '.other.json.0123456789abcdef.tmp')).toBe(false);
    expect(isTemporaryFileOf(path, 'cp.json')).toBe(false);
  });

  it('removeTemporaryFilesOf removes the leftovers of its own file and nothing else', async () => {
    const path = join(dir, 'cp.json');
    const mine = ['.cp.json.0123456789abcdef.tmp', '.cp.json.fedcba9876543210.tmp'];
    const others = ['cp.json', '.other.json.0123456789abcdef.tmp', '.cp.json.0123.tmp', '.cp.json.backup'];
    for (const name of [...mine, ...others]) await writeFile(join(dir, name), 'x');
    expect((await removeTemporaryFilesOf(path)).sort()).toEqual(mine);
    expect((await readdir(dir)).sort()).toEqual([...others].sort());
    expect(await removeTemporaryFilesOf(join(dir, 'missing', 'cp.json'))).toEqual([]);
  });
});
