import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Checkpoint } from '@highwater/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/commands/status.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-status-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pipelineYaml = (sink: string) => `
source:
  adapter: mysql
  connection: mysql://cdc:\${MY_PASSWORD}@db:3306/shop
  tables: { include: ['shop.*'] }
sink: ${sink}
`;

const snapshotting: Checkpoint = {
  version: 1,
  connector: 'mysql',
  position: { file: 'binlog.000003', pos: 4711 },
  complete: false,
  tables: {
    'shop.orders': {
      phase: 'snapshot',
      splitter: { nextIndex: 14, nextStart: [130000], done: false, strategy: { kind: 'walk' } },
      unfinished: [
        { index: 12, start: [110000], end: [120000] },
        { index: 13, start: [120000], end: [130000] },
      ],
      splitsDone: 12,
      rowsRead: 96000,
    },
    'shop.customers': { phase: 'stream' },
  },
};

async function status(file: string, options: { json?: boolean } = {}) {
  let out = '';
  let err = '';
  const code = await statusCommand(file, options, {
    env: { MY_PASSWORD: 'sekrit' },
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    now: new Date('2025-01-01T00:01:00Z'),
  });
  return { code, out, err };
}

describe('highwater status', () => {
  it('says when nothing is stored yet', async () => {
    const file = join(dir, 'shop.yaml');
    await writeFile(file, pipelineYaml('{ type: stdout }'));
    const { code, out } = await status(file);
    expect(code).toBe(0);
    expect(out).toContain('pipeline shop: mysql → stdout');
    expect(out).toContain(`checkpoint: ${join(dir, 'shop.checkpoint.json')}`);
    expect(out).toContain('no checkpoint stored yet: the next run starts fresh (startup: initial)');
  });

  it("describes a file sink's checkpoint table by table, and gives the same as JSON", async () => {
    const file = join(dir, 'shop.yaml');
    await writeFile(file, pipelineYaml('{ type: file, path: events.jsonl }'));
    await writeFile(join(dir, 'events.jsonl'), '');
    await writeFile(
      join(dir, 'events.jsonl.checkpoint.json'),
      JSON.stringify({ version: 1, length: 0, storedAt: '2025-01-01T00:00:18Z', checkpoint: snapshotting }),
    );
    const { code, out } = await status(file);
    expect(code).toBe(0);
    expect(out).toContain(`checkpoint: ${join(dir, 'events.jsonl.checkpoint.json')} (stored 42 s ago)`);
    expect(out).toContain('phase: snapshot — 1 of 2 tables snapshotted');
    expect(out).toContain('stream position: {"file":"binlog.000003","pos":4711}');
    expect(out).toMatch(/shop\.customers\s+stream/);
    expect(out).toContain(
      'shop.orders     snapshot: 12 chunks done, 96,000 rows read, 2 unfinished chunks (#12, #13, re-read on restart), more chunks to produce',
    );

    const json = JSON.parse((await status(file, { json: true })).out);
    expect(json).toMatchObject({ pipeline: 'shop', sink: 'file', phase: 'snapshot', storedSecondsAgo: 42 });
    expect(json.checkpoint).toEqual(snapshotting);
  });

  it('calls a finished snapshot-mode pipeline complete', async () => {
    const file = join(dir, 'shop.yaml');
    await writeFile(file, pipelineYaml('{ type: stdout }'));
    await writeFile(
      join(dir, 'shop.checkpoint.json'),
      JSON.stringify({ ...snapshotting, complete: true, tables: { 'shop.orders': { phase: 'stream' } } }),
    );
    expect((await status(file)).out).toContain('phase: complete');
  });

  it('exits 2 naming the file for a bad pipeline, and 1 for an unreadable checkpoint', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'source: {}\nsink: { type: stdout }\n');
    const result = await status(bad);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^highwater status: .*bad\.yaml: invalid pipeline/);

    const file = join(dir, 'shop.yaml');
    await writeFile(file, pipelineYaml('{ type: stdout }'));
    await writeFile(join(dir, 'shop.checkpoint.json'), 'garbage');
    const broken = await status(file);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('shop.checkpoint.json: not valid JSON');
  });
});
