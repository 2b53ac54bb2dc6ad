import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSinkState } from '@highwater/sink-file';
import { type MongoSimulator, startMongoSimulator } from '@highwater/test-servers';
import { Decimal128, Long, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyCommand } from '../../src/commands/verify.js';

// MongoDB (the wire-protocol simulator of @highwater/test-servers, not a real server) → a file sink, in both
// formats, then `highwater verify` against the file. Through the built command: build first with `npx tsc -b`.
const BIN = fileURLToPath(new URL('../../dist/bin/highwater.js', import.meta.url));

let mongo: MongoSimulator;
let client: MongoClient;
let dir: string;
let child: ChildProcess | null = null;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
  mongo = await startMongoSimulator({ preAndPostImages: true });
  client = new MongoClient(mongo.url, { useBigInt64: true });
  await client.connect();
  dir = await mkdtemp(join(tmpdir(), 'hw-mongo-file-'));
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await client?.close();
  await mongo?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function until(read: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function verify(file: string): Promise<{ code: number; totals: Record<string, number>; tables: unknown[] }> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await verifyCommand(file, { json: true, chunkSize: 2 });
    const json = JSON.parse(String(out.mock.calls.map((c) => c[0]).join('')));
    return { code, totals: json.totals, tables: json.tables };
  } finally {
    out.mockRestore();
  }
}

describe('highwater verify: MongoDB (simulator) → file sink', () => {
  it.each(['native', 'debezium'] as const)(
    'finds the %s file equal to the collection, then each difference',
    async (format) => {
      const orders = client.db(`shop_${format}`).collection('orders');
      await orders.insertMany([
        { _id: 1, total: Decimal128.fromString('19.90'), big: Long.fromString('9007199254740993') },
        { _id: '1', kind: 'the string one' },
        { _id: new ObjectId('65a1b2c3d4e5f60718293a4b'), nested: { at: new Date('2024-02-29T12:00:00.123Z') } },
        { _id: 4, gone: true },
      ] as never);
      const out = join(dir, `${format}.jsonl`);
      const file = join(dir, `${format}.yaml`);
      await writeFile(
        file,
        `name: mongo-file-${format}\nsource:\n  adapter: mongodb\n  connection: '${mongo.url}'\n` +
          `  tables: { include: ['shop_${format}.orders'] }\n  options: { changelog: preImages, rows: document }\n` +
          `sink: { type: file, path: ${format}.jsonl, format: ${format} }\n`,
      );
      child = spawn(process.execPath, [BIN, 'run', file, '--log-format=json'], { cwd: dir, stdio: 'pipe' });
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const text = () => readFile(out, 'utf8').catch(() => '');
      await until(async () => (await text()).includes('the string one'), `the snapshot in the file (${stderr})`);
      await orders.updateOne({ _id: 1 } as never, { $set: { status: 'paid' } });
      await orders.deleteOne({ _id: 4 } as never);
      await until(async () => (await text()).includes('paid') && (await text()).split('\n').length > 6, 'the changes');
      // Verify reads the file up to its checkpointed length: wait until that covers every line written.
      await until(
        async () => (await readFileSinkState(out))?.length === Buffer.byteLength(await text()),
        'the checkpoint of the last batch',
      );
      child.kill('SIGTERM');
      await new Promise((resolve) => child?.on('close', resolve));
      child = null;

      const equal = await verify(file);
      expect(equal.totals).toMatchObject({ sourceRows: 3, targetRows: 3, missing: 0, extra: 0, different: 0 });
      expect(equal.code).toBe(0);

      // Changes the file has not seen: one document more, one changed, one gone.
      await orders.insertOne({ _id: 5 } as never);
      await orders.updateOne({ _id: '1' } as never, { $set: { kind: 'changed' } });
      await orders.deleteOne({ _id: new ObjectId('65a1b2c3d4e5f60718293a4b') } as never);
      const after = await verify(file);
      expect(after.code).toBe(1);
      expect(after.totals).toMatchObject({ sourceRows: 3, targetRows: 3, missing: 1, extra: 1, different: 1 });
      const [report] = after.tables as { missingKeys: string[]; extraKeys: string[]; differentKeys: string[] }[];
      expect(report?.missingKeys).toEqual([expect.stringContaining('5')]);
      expect(report?.differentKeys).toEqual([expect.stringContaining('"1"')]);
      expect(report?.extraKeys).toEqual([expect.stringContaining('65a1b2c3d4e5f60718293a4b')]);
    },
  );
});
