import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type MongoSimulator,
  startMariadb,
  startMongoSimulator,
  startPostgres,
  type ThrowawayMariadb,
  type ThrowawayPostgres,
} from '@highwater/test-servers';
import { Binary, Double, Long, MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// MongoDB (the wire-protocol simulator of @highwater/test-servers, not a real server) → Postgres and MariaDB
// tables through the built command (`npx tsc -b` first): `_id`s of different BSON types whose JSON text used
// to be the same must stay different rows, and a delete of one must leave the other.
const BIN = fileURLToPath(new URL('../dist/bin/highwater.js', import.meta.url));

/** Pairs of different `_id`s that met in the target before: each is a document of its own in MongoDB. */
const PAIRS: readonly (readonly [string, unknown, unknown])[] = [
  // An Int64 beyond 2^53 was written as a JSON string of its digits.
  ['int64', Long.fromString('9007199254740993'), '9007199254740993'],
  // Bytes were written as a `\x…` hex string.
  ['binary', new Binary(Buffer.from([1, 2]), 0), '\\x0102'],
  // NaN and Infinity were written as strings.
  ['nan', new Double(Number.NaN), 'NaN'],
  ['infinity', new Double(Number.POSITIVE_INFINITY), 'Infinity'],
  // 2^60 + 256 as a double printed as …847200, the digits of this other Int64.
  ['double', new Double(2 ** 60 + 256), Long.fromString('1152921504606847200')],
  // Postgres jsonb sorts fields: these two `_id`s (MongoDB compares fields in order) were one key there.
  ['order', { a: 1, b: 2 }, { b: 2, a: 1 }],
];

interface Target {
  readonly sinkYaml: string;
  /** `which` of each row of the target table (sorted), or null before the table exists. */
  whichRows(): Promise<string[] | null>;
  close(): Promise<void>;
}

async function postgresTarget(): Promise<Target> {
  const server: ThrowawayPostgres = await startPostgres({ useEnv: false });
  const db = new pg.Client({ connectionString: server.url });
  await db.connect();
  return {
    sinkYaml: `{ type: postgres, connection: '${server.url}', schema: public }`,
    async whichRows() {
      const found = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'ids'");
      if (found.rowCount === 0) return null;
      const result = await db.query(`SELECT "document"->>'which' AS which FROM public.ids`);
      return (result.rows as { which: string }[]).map((r) => r.which).sort();
    },
    async close() {
      await db.end().catch(() => undefined);
      await server.stop();
    },
  };
}

async function mariadbTarget(): Promise<Target> {
  const server: ThrowawayMariadb = await startMariadb({ useEnv: false });
  const db = await mysql.createConnection({ uri: server.url });
  return {
    sinkYaml: `{ type: mysql, connection: '${server.url}', schema: highwater }`,
    async whichRows() {
      const [found] = await db.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'highwater' AND table_name = 'ids'",
      );
      if ((found as unknown[]).length === 0) return null;
      const [rows] = await db.query("SELECT JSON_VALUE(`document`, '$.which') AS which FROM highwater.ids");
      return (rows as { which: string }[]).map((r) => r.which).sort();
    },
    async close() {
      await db.end().catch(() => undefined);
      await server.stop();
    },
  };
}

describe.each([
  ['Postgres', postgresTarget],
  ['MariaDB', mariadbTarget],
])('MongoDB (simulator) → %s: distinct _ids stay distinct keys', (_name, startTarget) => {
  let mongo: MongoSimulator;
  let target: Target;
  let client: MongoClient;
  let dir: string;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build with npx tsc -b first`);
    mongo = await startMongoSimulator({ preAndPostImages: true });
    target = await startTarget();
    client = new MongoClient(mongo.url, { useBigInt64: true });
    await client.connect();
    dir = await mkdtemp(join(tmpdir(), 'hw-mongo-ids-'));
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await client?.close();
    await mongo?.close();
    await target?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function until(done: (rows: string[]) => boolean, what: string, stderr: () => string): Promise<string[]> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const rows = await target.whichRows();
      if (rows !== null && done(rows)) return rows;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(rows)} (${stderr()})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('snapshots and streams each of a pair into its own row, and deletes only the one deleted', async () => {
    const ids = client.db('shop').collection('ids');
    await ids.insertMany([
      ...PAIRS.flatMap(([what, a, b]) => [
        { _id: a, which: `${what} a` },
        { _id: b, which: `${what} b` },
      ]),
      { _id: 'sentinel 1', which: 'sentinel 1' },
    ] as never);
    const file = join(dir, 'ids.yaml');
    await writeFile(
      file,
      `name: mongo-ids\nsource:\n  adapter: mongodb\n  connection: '${mongo.url}'\n  tables: { include: ['shop.ids'] }\n` +
        `  options: { changelog: preImages, rows: document }\nsink: ${target.sinkYaml}\n`,
    );
    child = spawn(process.execPath, [BIN, 'run', file, '--log-format=json'], { cwd: dir, stdio: 'pipe' });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    // Snapshot: one row per document (where two `_id`s shared a key, one row overwrote the other and this timed out).
    const snapshotted = [...PAIRS.flatMap(([what]) => [`${what} a`, `${what} b`]), 'sentinel 1'].sort();
    await until(
      (r) => r.length === snapshotted.length,
      `${snapshotted.length} rows`,
      () => stderr,
    );
    expect(await target.whichRows()).toEqual(snapshotted);

    // Streamed: a delete of one of each pair, then a sentinel; the other of each pair stays.
    for (const [, a] of PAIRS) await ids.deleteOne({ _id: a } as never);
    await ids.insertOne({ _id: 'sentinel 2', which: 'sentinel 2' } as never);
    const afterDeletes = await until(
      (r) => r.includes('sentinel 2'),
      'the deletes',
      () => stderr,
    );
    expect(afterDeletes).toEqual([...PAIRS.map(([what]) => `${what} b`), 'sentinel 1', 'sentinel 2'].sort());

    // Streamed inserts of the deleted ones again: each beside its partner, not over it.
    await ids.insertMany(PAIRS.map(([what, a]) => ({ _id: a, which: `${what} a again` })) as never);
    await ids.insertOne({ _id: 'sentinel 3', which: 'sentinel 3' } as never);
    const again = await until(
      (r) => r.includes('sentinel 3'),
      'the inserts',
      () => stderr,
    );
    expect(again).toEqual(
      [...PAIRS.flatMap(([what]) => [`${what} a again`, `${what} b`]), 'sentinel 1', 'sentinel 2', 'sentinel 3'].sort(),
    );
    child.kill('SIGTERM');
    await new Promise((resolve) => child?.on('close', resolve));
    child = null;
  }, 240_000);
});
