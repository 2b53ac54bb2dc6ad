import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Checkpoint, CheckpointError, type EventBatch, SinkError } from '@highwater/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSink, fileSinkCheckpointPath, readFileSinkState } from '../src/file-sink.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-file-sink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function checkpoint(position: number): Checkpoint {
  return { version: 1, connector: 'memory', position, complete: false, tables: { 'shop.orders': { phase: 'stream' } } };
}

function batch(ids: number[], position: number): EventBatch {
  return {
    events: ids.map((id) => ({
      kind: 'change' as const,
      op: 'c' as const,
      key: { id },
      before: null,
      after: { id, note: `n${id}` },
      beforeImage: 'none' as const,
      unknownColumns: [],
      source: {
        connector: 'memory',
        table: 'shop.orders',
        tableId: { schema: 'shop', name: 'orders' },
        opTs: 1,
        offset: position,
        txId: null,
        snapshot: false,
      },
    })),
    checkpoint: checkpoint(position),
  };
}

async function lines(path: string): Promise<{ op: string; key: { id: number } }[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('FileSink', () => {
  it('stores the checkpoint with the byte length, and after a crash cuts the unstored tail so nothing repeats', async () => {
    const path = join(dir, 'out', 'events.jsonl');
    const sink = new FileSink({ path, format: 'native' });
    expect(await sink.open()).toBeNull();
    await sink.write(batch([1, 2], 2));
    const state = await readFileSinkState(path);
    expect(state?.checkpoint).toEqual(checkpoint(2));
    expect(state?.length).toBe((await stat(path)).size);
    // A crash after appending batch 3 but before its checkpoint was stored: part of it is on disk.
    await appendFile(path, '{"kind":"change","op":"c","key":{"id":3}}\n{"kind":"cha');
    await sink.close();

    const restarted = new FileSink({ path, format: 'native' });
    expect(await restarted.open()).toEqual(checkpoint(2));
    expect((await stat(path)).size).toBe(state?.length);
    await restarted.write(batch([3, 4], 4));
    await restarted.close();
    expect((await lines(path)).map((l) => l.key.id)).toEqual([1, 2, 3, 4]);
  });

  it('keeps writing nothing but the checkpoint for a heartbeat-only batch', async () => {
    const path = join(dir, 'events.jsonl');
    const sink = new FileSink({ path, format: 'debezium' });
    await sink.open();
    await sink.write(batch([1], 1));
    const size = (await stat(path)).size;
    await sink.write({ events: [{ kind: 'heartbeat', offset: 9, at: 5 }], checkpoint: checkpoint(9) });
    expect((await stat(path)).size).toBe(size);
    expect((await readFileSinkState(path))?.checkpoint?.position).toBe(9);
    await sink.close();
  });

  it('records a zero length before the first data, so a crash during the first write is repaired too', async () => {
    const path = join(dir, 'events.jsonl');
    const sink = new FileSink({ path, format: 'native' });
    await sink.open();
    await sink.write({ events: [], checkpoint: checkpoint(0) });
    await sink.close();
    await writeFile(path, '{"partial":');
    const again = new FileSink({ path, format: 'native' });
    expect(await again.open()).toEqual(checkpoint(0));
    expect((await stat(path)).size).toBe(0);
    await again.close();
  });

  it('refuses a file it did not write, and a file shorter than its checkpoint says', async () => {
    const foreign = join(dir, 'foreign.jsonl');
    await writeFile(foreign, 'someone else\n');
    await expect(new FileSink({ path: foreign, format: 'native' }).open()).rejects.toThrow(
      /already exists and has no checkpoint file.*Move or delete it/,
    );
    expect(await readFile(foreign, 'utf8')).toBe('someone else\n');

    const path = join(dir, 'events.jsonl');
    const sink = new FileSink({ path, format: 'native' });
    await sink.open();
    await sink.write(batch([1, 2, 3], 3));
    await sink.close();
    await writeFile(path, '');
    const error = await new FileSink({ path, format: 'native' }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as Error).message).toMatch(/records \d+: the file was truncated, rotated or replaced/);
  });

  it('names the checkpoint file when it is not one', async () => {
    const path = join(dir, 'events.jsonl');
    await writeFile(fileSinkCheckpointPath(path), '{"version":1}');
    const error = await new FileSink({ path, format: 'native' }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toContain(`${path}.checkpoint.json: not a file sink checkpoint`);
  });
});
