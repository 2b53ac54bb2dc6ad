import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChangeEvent,
  type EventBatch,
  JsonText,
  MemoryCheckpointStore,
  type Sink,
  type SourceAdapter,
  type TableSchema,
} from '@highwater/core';
import { mysqlAdapter } from '@highwater/mysql';
import { postgresAdapter } from '@highwater/postgres';
import { startMariadb, startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink } from '@highwater/sink-file';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { createSqlSink } from '../../src/sinks/sql/index.js';
import { context, q, sinkConfig, type TargetKind, targetClient } from '../../../../sinks/sql/test/helpers.js';

/**
 * JSON documents from both databases, on the snapshot and the stream path, through the file sink
 * in both formats and both table sinks: every digit kept, and a JSON null document never SQL NULL.
 */

/** What `JSON.parse` would change: digits beyond 2^53 and a double, `1.10`, `1e-400`, `1e400`, 34 digits. */
const EXACT =
  '{"id":  12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1e400, "d34": 0.1234567890123456789012345678901234}';
/** The same document as Postgres's jsonb prints it. */
const EXACT_JSONB = `{"id": 12345678901234567890, "d34": 0.1234567890123456789012345678901234, "huge": 1${'0'.repeat(400)}, "tiny": 0.${'0'.repeat(399)}1, "price": 1.10}`;

let pgServer: ThrowawayServer;
let mariaServer: ThrowawayServer;
let dir: string;

beforeAll(async () => {
  [pgServer, mariaServer] = await Promise.all([startPostgres({ useEnv: false }), startMariadb({ useEnv: false })]);
  dir = await mkdtemp(join(tmpdir(), 'hw-json-exact-'));
  const pg = await targetClient('postgres', pgServer.url);
  await pg.query('CREATE TABLE public.docs (id int PRIMARY KEY, j json, jb jsonb, aj json[])');
  await pg.query('ALTER TABLE public.docs REPLICA IDENTITY FULL');
  await pg.createSchema('target');
  await pg.close();
  const maria = await targetClient('mysql', mariaServer.url);
  await maria.query('CREATE TABLE docs (id int PRIMARY KEY, j JSON)');
  await maria.createSchema('target');
  await maria.close();
}, 120_000);

afterAll(async () => {
  await Promise.all([pgServer?.stop(), mariaServer?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The rows written, by id: 1 an exact document, 2 a JSON null document, 3 SQL NULL; +10 the same on the stream path. */
function insertSql(kind: TargetKind, id: number): string {
  const doc = id % 10 === 1 ? `'${EXACT}'` : id % 10 === 2 ? "'null'" : 'NULL';
  if (kind === 'mysql') return `INSERT INTO docs VALUES (${id}, ${doc})`;
  const array = id % 10 === 3 ? 'NULL' : `ARRAY[${doc}::json, NULL, 'null']`;
  return `INSERT INTO public.docs VALUES (${id}, ${doc}, ${doc}, ${array})`;
}

/** A sink keeping the batches, so every real sink can be given the same ones afterwards. */
class Collect implements Sink {
  readonly name = 'collect';
  readonly storesCheckpoints = false;
  readonly batches: EventBatch[] = [];
  async open() {
    return null;
  }
  async write(batch: EventBatch) {
    this.batches.push(batch);
  }
  async close() {}
  changes(): ChangeEvent[] {
    return this.batches.flatMap((b) => b.events).filter((e): e is ChangeEvent => e.kind === 'change');
  }
}

/** Snapshot rows 1–3, then rows 11–13 written while streaming: the events and the source table's schema. */
async function capture(
  kind: TargetKind,
): Promise<{ batches: EventBatch[]; changes: ChangeEvent[]; table: TableSchema }> {
  const server = kind === 'postgres' ? pgServer : mariaServer;
  const db = await targetClient(kind, server.url);
  for (const id of [1, 2, 3]) await db.query(insertSql(kind, id));
  const adapter = (
    kind === 'postgres'
      ? postgresAdapter({ connection: server.url, slotName: 'json_exact', publicationName: 'json_exact' })
      : mysqlAdapter({ connection: server.url, serverId: 611 })
  ) as SourceAdapter<unknown>;
  const name = kind === 'postgres' ? 'public.docs' : `${mariaServer.database}.docs`;
  const sink = new Collect();
  const runner = new PipelineRunner({
    adapter,
    source: { tables: { include: [name] }, batchSize: 10 },
    sink,
    checkpointStore: new MemoryCheckpointStore(),
  });
  const running = runner.run();
  const until = async (n: number) => {
    while (sink.changes().length < n) await new Promise((r) => setTimeout(r, 20));
  };
  await until(3);
  for (const id of [11, 12, 13]) await db.query(insertSql(kind, id));
  await until(6);
  runner.stop();
  await running;
  await db.close();
  const introspector = await adapter.createIntrospector();
  const [table] = await introspector.describeTables([
    kind === 'postgres' ? { schema: 'public', name: 'docs' } : { schema: mariaServer.database, name: 'docs' },
  ]);
  await introspector.close();
  return { batches: sink.batches, changes: sink.changes(), table: table as TableSchema };
}

async function fileLines(batches: EventBatch[], format: 'native' | 'debezium'): Promise<Record<string, unknown>[]> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.jsonl`);
  const sink = new FileSink({ path, format });
  await sink.open();
  for (const batch of batches) await sink.write(batch);
  await sink.close();
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.each<TargetKind>(['postgres', 'mysql'])('JSON documents from %s', (source) => {
  let captured: Awaited<ReturnType<typeof capture>>;
  beforeAll(async () => {
    captured = await capture(source);
  }, 120_000);

  it('are the exact text on the snapshot and the stream path; a null document is not SQL NULL', () => {
    const after = (id: number) => captured.changes.find((e) => e.after?.id === id)?.after;
    for (const base of [0, 10]) {
      expect(after(base + 1)?.j).toStrictEqual(new JsonText(EXACT));
      expect(after(base + 2)?.j).toStrictEqual(new JsonText('null'));
      expect(after(base + 3)?.j).toBeNull();
      if (source === 'postgres') {
        expect(after(base + 1)?.jb).toStrictEqual(new JsonText(EXACT_JSONB));
        expect(after(base + 1)?.aj).toStrictEqual([new JsonText(EXACT), null, new JsonText('null')]);
      }
    }
    expect(captured.changes.map((e) => e.op)).toEqual(['r', 'r', 'r', 'c', 'c', 'c']);
  });

  it.each(['native', 'debezium'] as const)(
    'are written by the file sink (%s) as their text, a string',
    async (format) => {
      const lines = await fileLines(captured.batches, format);
      const afters = lines.map((l) => (format === 'native' ? l.after : (l.value as { after: unknown }).after));
      const after = (id: number) => afters.find((a) => (a as { id: number }).id === id) as Record<string, unknown>;
      for (const base of [0, 10]) {
        expect(after(base + 1).j).toBe(EXACT);
        expect(after(base + 2).j).toBe('null');
        expect(after(base + 3).j).toBeNull();
        if (source === 'postgres') {
          expect(after(base + 1).jb).toBe(EXACT_JSONB);
          expect(after(base + 1).aj).toEqual([EXACT, null, 'null']);
        }
      }
      if (format === 'debezium') {
        // Debezium's MySQL connector puts the database in source.db.
        const first = lines[0]?.value as { source: { db: string; schema: string | null } };
        expect(first.source).toMatchObject(
          source === 'mysql' ? { db: mariaServer.database, schema: null } : { db: '', schema: 'public' },
        );
      }
    },
  );

  it.each<TargetKind>(['postgres', 'mysql'])(
    'are stored by the %s table sink as their text, unchanged',
    async (target) => {
      const server = target === 'postgres' ? pgServer : mariaServer;
      const schema = `target_${source}`;
      const db = await targetClient(target, server.url);
      try {
        await db.createSchema(schema);
        const sink = createSqlSink(sinkConfig(target, server.url, schema), context([captured.table]));
        await sink.open();
        for (const batch of captured.batches) await sink.write(batch);
        await sink.close();
        const text = (c: string) => (target === 'postgres' ? `"${c}"::text` : `CAST(\`${c}\` AS CHAR)`);
        const columns = source === 'postgres' ? ['j', 'jb'] : ['j'];
        const rows = await db.query(
          `SELECT id, ${columns.map((c) => `${text(c)} AS ${c}`).join(', ')} FROM ${q(target, schema, 'docs')} ORDER BY id`,
        );
        const row = (id: number) => rows.find((r) => Number(r.id) === id) as Record<string, unknown>;
        for (const base of [0, 10]) {
          expect(row(base + 1).j).toBe(EXACT);
          expect(row(base + 2).j).toBe('null');
          expect(row(base + 3).j).toBeNull();
          if (source === 'postgres') expect(row(base + 1).jb).toBe(EXACT_JSONB);
        }
        if (source === 'postgres') {
          // json[]: in Postgres the same array text as the source's; in MySQL a JSON array of the texts.
          const [stored] = await db.query(`SELECT ${text('aj')} AS aj FROM ${q(target, schema, 'docs')} WHERE id = 1`);
          if (target === 'postgres') {
            const [written] = await db.query('SELECT aj::text AS aj FROM public.docs WHERE id = 1');
            expect(stored?.aj).toBe(written?.aj);
          } else {
            expect(JSON.parse(String(stored?.aj))).toEqual([EXACT, null, 'null']);
          }
        }
      } finally {
        await db.close();
      }
    },
  );
});
