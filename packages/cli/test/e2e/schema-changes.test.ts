import { SchemaChangeRefusedError } from '@highwater/core';
import { startMariadb, startPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import type { SqlSinkConfig } from '../../src/pipeline/pipeline-schema.js';
import { readSqlSinkCheckpoint } from '../../src/sinks/sql/index.js';
import type { SchemaChangesMode } from '@highwater/sink-sql';
import { verifyPipeline } from '../../src/verify/index.js';
import {
  CASES,
  connect,
  type Db,
  type DdlCase,
  type Kind,
  pipelineText,
  runPipeline,
  type Servers,
  SourceTables,
  startWriter,
  until,
} from './schema-changes.js';

// Source DDL of every kind, during the snapshot (from a phase hook, between two chunks of the table)
// and during the stream, with writes running on every table through it, into a Postgres and a
// MySQL (MariaDB) sink under each sink.schemaChanges mode; then `verify` (or a comparison of the
// columns both sides share, for `ignore`) per table. Servers are shared; each run uses its own
// source schema and target schema.

let servers: Servers;
const db: Partial<Record<Kind, Db>> = {};
let runs = 0;

beforeAll(async () => {
  const [postgres, mysql] = await Promise.all([startPostgres({ useEnv: false }), startMariadb({ useEnv: false })]);
  servers = { postgres, mysql };
  db.postgres = await connect('postgres', postgres.url);
  db.mysql = await connect('mysql', mysql.url);
}, 180_000);

afterAll(async () => {
  await db.postgres?.close().catch(() => undefined);
  await db.mysql?.close().catch(() => undefined);
  await Promise.all([servers?.postgres.stop(), servers?.mysql.stop()]);
}, 60_000);

const url = (kind: Kind) => (kind === 'postgres' ? servers.postgres.url : servers.mysql.url);
const quote = (kind: Kind, schema: string, table: string) =>
  kind === 'postgres' ? `"${schema}"."${table}"` : `\`${schema}\`.\`${table}\``;

interface Run {
  readonly source: SourceTables;
  readonly sourceKind: Kind;
  readonly targetKind: Kind;
  readonly targetSchema: string;
  readonly pipeline: string;
  readonly outcome: unknown;
  readonly warnings: string[];
}

/** One pipeline run through every DDL of `cases` (each on a snapshot table and a stream table). */
async function run(
  sourceKind: Kind,
  targetKind: Kind,
  mode: SchemaChangesMode,
  cases: readonly DdlCase[],
  options: { snapshotDdl?: boolean } = {},
): Promise<Run> {
  const n = ++runs;
  const sourceDb = db[sourceKind] as Db;
  const source = new SourceTables(sourceDb, `sc${n}`);
  const targetSchema = `tg${n}`;
  await source.create(cases);
  const live = new Set(cases.flatMap((c) => [source.name(c, 'snapshot'), source.name(c, 'stream')]));
  const writer = startWriter(url(sourceKind), sourceKind, () => [...live].map((t) => source.qualified(t)));
  const pipeline = pipelineText({
    name: `sc_${n}`,
    source: { kind: sourceKind, url: url(sourceKind), schema: source.schema, serverId: 5000 + n },
    target: { kind: targetKind, url: url(targetKind), schema: targetSchema },
    mode,
  });
  const done = new Set<string>();
  const warnings: string[] = [];
  const running = await runPipeline(
    pipeline,
    {
      // Between the first and the second chunk of each snapshot table: the DDL lands mid-snapshot.
      onChunk: async (table, index) => {
        const bare = table.slice(table.lastIndexOf('.') + 1);
        const c = cases.find((k) => source.name(k, 'snapshot') === bare);
        if (options.snapshotDdl === false) return;
        if (index !== 1 || c === undefined || c.streamOnly === true || done.has(bare)) return;
        done.add(bare);
        if (c.ends === true) live.delete(bare);
        await source.ddl(c, bare);
      },
    },
    warnings,
  );
  let outcome: unknown;
  let finished = false;
  void running.done.then((o) => {
    outcome = o;
    finished = true;
  });
  try {
    await until('the stream phase', () => finished || running.runner.state === 'stream');
    for (const c of cases) {
      if (finished) break;
      const table = source.name(c, 'stream');
      if (c.ends === true) live.delete(table);
      await source.ddl(c, table);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (finished && !(outcome instanceof SchemaChangeRefusedError)) throw outcome;
    if (!finished) {
      for (const c of cases) {
        if (c.streamOnly !== true && options.snapshotDdl !== false) await source.after(c, source.name(c, 'snapshot'));
        await source.after(c, source.name(c, 'stream'));
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    await writer.stop();
    // Everything before the marker is in the target once the marker is.
    await sourceDb.query(`INSERT INTO ${source.qualified('marker')} (id, v) VALUES (1, 1)`);
    const target = db[targetKind] as Db;
    await until('the marker in the target', async () => {
      if (finished) return true;
      const found = await target
        .query(`SELECT id FROM ${quote(targetKind, targetSchema, 'marker')}`)
        .catch(() => [] as unknown[]);
      return found.length > 0;
    });
  } finally {
    await writer.stop().catch(() => undefined);
    running.runner.stop();
    await running.done;
    await running.close();
  }
  return { source, sourceKind, targetKind, targetSchema, pipeline, outcome, warnings };
}

/** Rows of the columns both sides have, as text, by id. */
async function sharedRows(r: Run, table: string): Promise<{ source: string[]; target: string[]; columns: string[] }> {
  const columns = async (kind: Kind, schema: string) =>
    (
      await (db[kind] as Db).query(
        kind === 'postgres'
          ? 'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2'
          : 'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [schema, table],
      )
    ).map((row) => String(row.c));
  const theirs = new Set(await columns(r.targetKind, r.targetSchema));
  const shared = (await columns(r.sourceKind, r.source.schema)).filter((c) => theirs.has(c)).sort();
  const read = async (kind: Kind, schema: string) =>
    (
      await (db[kind] as Db).query(
        `SELECT ${shared.map((c) => (kind === 'postgres' ? `"${c}"` : `\`${c}\``)).join(', ')} FROM ${quote(kind, schema, table)} ORDER BY id`,
      )
    ).map((row) => shared.map((c) => (row[c] === null ? 'NULL' : String(row[c]))).join('|'));
  return {
    source: await read(r.sourceKind, r.source.schema),
    target: await read(r.targetKind, r.targetSchema),
    columns: shared,
  };
}

async function verifyEqual(r: Run, tables: string[]): Promise<void> {
  const pipeline = parsePipeline(r.pipeline, '/tmp/schema-changes.yaml', {});
  const report = await verifyPipeline(pipeline, { tables: tables.map((t) => `${r.source.schema}.${t}`) });
  const unequal = report.tables.filter((t) => t.missing + t.extra + t.different > 0 || t.error !== null);
  // On a difference, show the rows that differ (columns both sides have).
  const differences: Record<string, { source: string[]; target: string[] }> = {};
  for (const t of unequal) {
    const table = t.table.slice(t.table.lastIndexOf('.') + 1);
    const rows = await sharedRows(r, table);
    differences[`${table} (${rows.columns.join('|')})`] = {
      source: rows.source.filter((x) => !rows.target.includes(x)),
      target: rows.target.filter((x) => !rows.source.includes(x)),
    };
  }
  expect(differences).toEqual({});
  expect(report.tables.map((t) => t.table).sort()).toEqual(tables.map((t) => `${r.source.schema}.${t}`).sort());
}

async function targetTables(r: Run): Promise<string[]> {
  const rows = await (db[r.targetKind] as Db).query(
    r.targetKind === 'postgres'
      ? 'SELECT tablename AS t FROM pg_tables WHERE schemaname = $1'
      : 'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [r.targetSchema],
  );
  return rows.map((row) => String(row.t));
}

async function targetColumns(r: Run, table: string): Promise<string[]> {
  const rows = await (db[r.targetKind] as Db).query(
    r.targetKind === 'postgres'
      ? 'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY 1'
      : 'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY 1',
    [r.targetSchema, table],
  );
  return rows.map((row) => String(row.c));
}

const pick = (...names: string[]) => CASES.filter((c) => names.includes(c.name));
const tablesOf = (r: Run, cases: readonly DdlCase[]) =>
  cases.flatMap((c) => [r.source.name(c, 'snapshot'), r.source.name(c, 'stream')]);

/** Cases whose target equals the source after the run, per mode (the others are checked one by one below). */
const EQUAL: Record<'evolve' | 'lenient', string[]> = {
  evolve: [
    'add',
    'add_default',
    'drop',
    'rename',
    'widen',
    'narrow',
    'incompatible',
    'nullable',
    'notnull',
    'default',
    'truncate',
  ],
  lenient: ['add', 'add_default', 'drop', 'widen', 'narrow', 'nullable', 'notnull', 'default'],
};

describe.each<[Kind, Kind]>([
  ['postgres', 'postgres'],
  ['postgres', 'mysql'],
  ['mysql', 'mysql'],
  ['mysql', 'postgres'],
])('schema changes from %s into a %s sink', (sourceKind, targetKind) => {
  // The MariaDB source runs `evolve` only (which needs every DDL kind reported right): the other
  // modes are decisions of the sink alone, already run from the Postgres source into both sinks, and
  // each run costs the loaded test machine about ten seconds.

  it('evolve: every change applied, verify equal; dropped and renamed tables follow', async () => {
    const r = await run(sourceKind, targetKind, 'evolve', CASES);
    expect(r.outcome).toMatchObject({ reason: 'stopped' });
    await verifyEqual(r, tablesOf(r, pick(...EQUAL.evolve)));
    const tables = await targetTables(r);
    expect(tables).toContain('rename_table_l_moved');
    expect(tables).not.toContain('rename_table_l');
    // Postgres's log carries no DROP TABLE: the target table stays (docs/sinks.md).
    if (sourceKind === 'mysql') expect(tables).not.toContain('drop_table_l');
    else expect(tables).toContain('drop_table_l');
    for (const when of ['s', 'l']) {
      expect(await targetColumns(r, `drop_${when}`)).not.toContain('b');
      expect(await targetColumns(r, `rename_${when}`)).toEqual(['a', 'b2', 'id', 'v']);
    }
  }, 300_000);

  it.skipIf(sourceKind === 'mysql')(
    'lenient: nothing lost — dropped and renamed columns, truncated and dropped tables kept; the rest equal',
    async () => {
      const cases = CASES.filter((c) => c.name !== 'incompatible');
      const r = await run(sourceKind, targetKind, 'lenient', cases);
      expect(r.outcome).toMatchObject({ reason: 'stopped' });
      await verifyEqual(r, tablesOf(r, pick(...EQUAL.lenient)));
      const tables = await targetTables(r);
      for (const when of ['s', 'l']) {
        expect(await targetColumns(r, `drop_${when}`)).toContain('b');
        expect(await targetColumns(r, `rename_${when}`)).toEqual(['a', 'b', 'b2', 'id', 'v']);
        const renamed = await sharedRows(r, `rename_${when}`);
        expect(renamed.columns).toEqual(['a', 'b2', 'id', 'v']);
        expect(tables).toContain(`drop_table_${when}`);
        expect(tables).toContain(`rename_table_${when}`);
        // Truncated rows stay (a truncate during the snapshot may come before its rows are read);
        // every source row is there too.
        const truncated = await sharedRows(r, `truncate_${when}`);
        if (when === 'l') expect(truncated.target.length).toBeGreaterThan(truncated.source.length);
        expect(truncated.target).toEqual(expect.arrayContaining(truncated.source));
      }
    },
    300_000,
  );

  it.skipIf(sourceKind === 'mysql')(
    'ignore: the target schema stays; rows carry the columns both share',
    async () => {
      const cases = pick(
        'add',
        'add_default',
        'drop',
        'rename',
        'narrow',
        'notnull',
        'default',
        'truncate',
        'drop_table',
      );
      const r = await run(sourceKind, targetKind, 'ignore', cases);
      expect(r.outcome).toMatchObject({ reason: 'stopped' });
      for (const c of pick('add', 'add_default', 'drop', 'rename', 'narrow', 'notnull', 'default')) {
        for (const when of ['snapshot', 'stream'] as const) {
          const table = r.source.name(c, when);
          const shared = await sharedRows(r, table);
          expect(shared.target, `${table} (${shared.columns.join(', ')})`).toEqual(shared.source);
        }
      }
      for (const when of ['s', 'l']) {
        expect(await targetColumns(r, `add_${when}`)).toEqual(['a', 'id', 'v']);
        expect(await targetColumns(r, `rename_${when}`)).toEqual(['a', 'b', 'id', 'v']);
        expect(await targetTables(r)).toContain(`drop_table_${when}`);
      }
    },
    300_000,
  );

  it.skipIf(sourceKind === 'mysql')(
    'exception: stops at the first DDL with a typed error naming it and the stored checkpoint',
    async () => {
      const r = await run(sourceKind, targetKind, 'exception', pick('add'), { snapshotDdl: false });
      expect(r.outcome).toBeInstanceOf(SchemaChangeRefusedError);
      const error = r.outcome as SchemaChangeRefusedError;
      expect(error.code).toBe('HW_SINK_SCHEMA_CHANGE_REFUSED');
      expect(error.change).toBe('add-column');
      expect(error.column).toBe('c');
      expect(error.table).toMatch(/add_l$/);
      expect(error.message).toContain('sink.schemaChanges is exception');
      expect(error.message).toContain(JSON.stringify(error.offset));
      // The checkpoint named is the one stored in the target, where a restart resumes.
      const pipeline = parsePipeline(r.pipeline, '/tmp/schema-changes.yaml', {});
      const stored = await readSqlSinkCheckpoint(pipeline.config.sink as SqlSinkConfig, pipeline.name);
      expect(error.resumeFrom).toEqual(stored?.checkpoint);
      expect(await targetColumns(r, 'add_l')).toEqual(['a', 'id', 'v']);
    },
    300_000,
  );
});

describe.each<Kind>(['postgres', 'mysql'])('the widening case into a %s sink, default settings', (targetKind) => {
  // Before sink.schemaChanges, a type change was not applied to the target: the first value beyond
  // the old type's range failed the pipeline, long after the DDL.
  it('ALTER … TYPE bigint, then a value beyond 2^31: stored', async () => {
    const n = ++runs;
    const source = new SourceTables(db.postgres as Db, `sc${n}`);
    const targetSchema = `tg${n}`;
    await source.create([]);
    await db.postgres?.query(
      `CREATE TABLE ${source.qualified('wide')} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, a int)`,
    );
    await db.postgres?.query(`INSERT INTO ${source.qualified('wide')} VALUES (1, 0, 1), (2, 0, 2)`);
    const running = await runPipeline(
      pipelineText({
        name: `sc_${n}`,
        source: { kind: 'postgres', url: url('postgres'), schema: source.schema },
        target: { kind: targetKind, url: url(targetKind), schema: targetSchema },
      }),
      {},
    );
    try {
      await until('the stream phase', () => running.runner.state === 'stream');
      await db.postgres?.query(`ALTER TABLE ${source.qualified('wide')} ALTER COLUMN a TYPE bigint`);
      await db.postgres?.query(`INSERT INTO ${source.qualified('wide')} VALUES (3, 0, 3000000000)`);
      await db.postgres?.query(`UPDATE ${source.qualified('wide')} SET a = 2147483653 WHERE id = 1`);
      await db.postgres?.query(`INSERT INTO ${source.qualified('marker')} (id, v) VALUES (1, 1)`);
      const target = db[targetKind] as Db;
      let failed: unknown = null;
      void running.done.then((o) => {
        if (o instanceof Error) failed = o;
      });
      await until('the marker in the target', async () => {
        if (failed !== null) throw failed;
        const found = await target.query(`SELECT id FROM ${quote(targetKind, targetSchema, 'marker')}`).catch(() => []);
        return found.length > 0;
      });
      const rows = await target.query(`SELECT id, a FROM ${quote(targetKind, targetSchema, 'wide')} ORDER BY id`);
      expect(rows.map((r) => [Number(r.id), String(r.a)])).toEqual([
        [1, '2147483653'],
        [2, '2'],
        [3, '3000000000'],
      ]);
    } finally {
      running.runner.stop();
      await running.done;
      await running.close();
    }
  }, 120_000);
});
