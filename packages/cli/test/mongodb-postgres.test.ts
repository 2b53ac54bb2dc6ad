import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type MongoSimulator,
  startMongoSimulator,
  startPostgres,
  type ThrowawayPostgres,
} from '@highwater/test-servers';
import { Decimal128, Long, MongoClient, ObjectId } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyCommand } from '../src/commands/verify.js';

// MongoDB (the wire-protocol simulator of @highwater/test-servers, not a real server) → a Postgres
// table, through the built command: build first with `npx tsc -b`.
const BIN = fileURLToPath(new URL('../dist/bin/highwater.js', import.meta.url));

let mongo: MongoSimulator;
let postgres: ThrowawayPostgres;
let client: MongoClient;
let target: pg.Client;
let dir: string;
let child: ChildProcess | null = null;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
  mongo = await startMongoSimulator({ preAndPostImages: true });
  postgres = await startPostgres({ useEnv: false });
  client = new MongoClient(mongo.url, { useBigInt64: true });
  await client.connect();
  target = new pg.Client({ connectionString: postgres.url });
  await target.connect();
  dir = await mkdtemp(join(tmpdir(), 'hw-mongo-pg-'));
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await target?.end().catch(() => undefined);
  await client?.close();
  await mongo?.close();
  await postgres?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function rows(): Promise<{ id: string; document: unknown }[]> {
  const found = await target.query(
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = 'orders' AND table_schema = 'public'",
  );
  if (found.rowCount === 0) return [];
  const result = await target.query('SELECT "_id"::text AS id, "document" FROM public.orders');
  const out = result.rows as { id: string; document: unknown }[];
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('MongoDB (simulator) → Postgres table', () => {
  it('stores each document as _id plus a jsonb document, exactly, and follows its changes', async () => {
    const orders = client.db('shop').collection('orders');
    const oid = ObjectId.createFromHexString('65a1b2c3d4e5f60718293a4b');
    await orders.insertMany([
      { _id: 1, total: Decimal128.fromString('19.90'), big: Long.fromString('9007199254740993'), tags: ['a', 'b'] },
      { _id: 'two', nested: { at: new Date('2024-02-29T12:00:00.123Z'), ref: oid } },
      // The string '1' beside the number 1: another document, so another row (a text key held both as `1`).
      { _id: '1', kind: 'string id' },
    ] as never);
    const file = join(dir, 'mongo-pg.yaml');
    await writeFile(
      file,
      `name: mongo-pg\nsource:\n  adapter: mongodb\n  connection: '${mongo.url}'\n  tables: { include: ['shop.orders'] }\n` +
        `  options: { changelog: preImages, rows: document }\nsink: { type: postgres, connection: '${postgres.url}', schema: public }\n`,
    );
    child = spawn(process.execPath, [BIN, 'run', file, '--log-format=json'], { cwd: dir, stdio: 'pipe' });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const snapshot = await until(rows, (r) => r.length === 3, `the snapshot in Postgres (${stderr})`);
    // `_id` is jsonb: its JSON text tells the number from the string.
    expect(snapshot).toEqual([
      { id: '"1"', document: { kind: 'string id' } },
      {
        id: '"two"',
        document: { nested: { at: { $date: '2024-02-29T12:00:00.123Z' }, ref: { $oid: '65a1b2c3d4e5f60718293a4b' } } },
      },
      {
        id: '1',
        // pg parses jsonb numbers as doubles (2^53 + 1 → 2^53): the exact digits are checked below.
        document: { total: { $numberDecimal: '19.90' }, big: 2 ** 53, tags: ['a', 'b'] },
      },
    ]);
    // Every digit of the Int64 reached jsonb (pg's parser rounds it; the text does not).
    const big = await target.query(`SELECT "document"->>'big' AS big FROM public.orders WHERE "_id" = '1'::jsonb`);
    expect(big.rows[0]?.big).toBe('9007199254740993');

    await orders.updateOne({ _id: 1 } as never, { $set: { status: 'paid' }, $unset: { tags: '' } });
    await orders.deleteOne({ _id: 'two' } as never);
    // The delete of the string '1' leaves the number 1's row alone.
    await orders.deleteOne({ _id: '1' } as never);
    const streamed = await until(rows, (r) => r.length === 1 && JSON.stringify(r).includes('paid'), 'the changes');
    expect(streamed[0]?.id).toBe('1');
    expect(streamed[0]?.document).toEqual({
      total: { $numberDecimal: '19.90' },
      big: 2 ** 53,
      status: 'paid',
    });
    child.kill('SIGTERM');
    await new Promise((resolve) => child?.on('close', resolve));
    child = null;

    // verify: the collection against the table, equal; then a changed and a missing row are found.
    await orders.insertOne({ _id: 3, n: Long.fromString('-12') } as never);
    const verify = async (): Promise<{ code: number; totals: Record<string, number>; tables: unknown[] }> => {
      const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        const code = await verifyCommand(file, { json: true, chunkSize: 1 });
        const json = JSON.parse(String(out.mock.calls.map((c) => c[0]).join('')));
        return { code, totals: json.totals, tables: json.tables };
      } finally {
        out.mockRestore();
      }
    };
    const before = await verify();
    expect(before.totals).toMatchObject({ sourceRows: 2, targetRows: 1, missing: 1, extra: 0, different: 0 });
    expect(before.tables).toMatchObject([{ missingKeys: ['{"_id":"3"}'] }]);
    // The string "3" in the target is not the number 3 of the source.
    await target.query(`INSERT INTO public.orders ("_id", "document") VALUES ('"3"', '{"n": -12}')`);
    expect((await verify()).totals).toMatchObject({ missing: 1, extra: 1, different: 0 });
    await target.query(`DELETE FROM public.orders WHERE "_id" = '"3"'`);
    await target.query(`INSERT INTO public.orders ("_id", "document") VALUES ('3', '{"n": -12}')`);
    expect((await verify()).code).toBe(0);
    await target.query(`UPDATE public.orders SET "document" = '{"n": -13}' WHERE "_id" = '3'`);
    const changed = await verify();
    expect(changed.code).toBe(1);
    expect(changed.totals).toMatchObject({ missing: 0, extra: 0, different: 1 });
  });
});
