import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Checkpoint } from '@highwater/core';
import { NatsSink } from '@highwater/sink-nats';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/commands/status.js';

let dir: string;
let nats: ThrowawayNats;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-status-nats-'));
  nats = await startNats();
}, 60_000);
afterAll(async () => {
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

const streaming: Checkpoint = {
  version: 1,
  connector: 'mysql',
  position: { file: 'binlog.000009', pos: 815 },
  complete: false,
  tables: { 'shop.orders': { phase: 'stream' } },
};

async function status(file: string) {
  let out = '';
  let err = '';
  const code = await statusCommand(file, {}, { env: {}, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('highwater status with a nats sink', () => {
  it('reads the checkpoint from the last commit marker in the stream', async () => {
    const pipeline = `status-${process.pid}`;
    const file = join(dir, `${pipeline}.yaml`);
    await writeFile(
      file,
      `source:\n  adapter: mysql\n  connection: mysql://cdc:x@db:3306/shop\n  tables: { include: ['shop.*'] }\n` +
        `sink: { type: nats, url: '${nats.url}' }\n`,
    );
    const before = await status(file);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toContain('no checkpoint stored yet');

    const sink = new NatsSink({ url: nats.url, pipeline });
    await sink.open();
    await sink.write({ events: [], checkpoint: streaming });
    await sink.close();
    const after = await status(file);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toContain(
      `checkpoint: nats stream highwater-${pipeline}, last message on ${pipeline}._highwater.`,
    );
    expect(after.out).toContain('stream position: {"file":"binlog.000009","pos":815}');
  });
});
