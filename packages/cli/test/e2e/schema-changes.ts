import type { Sink, SourceAdapter } from '@highwater/core';
import type { ThrowawayMariadb, ThrowawayPostgres } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import type { SqlSinkConfig } from '../../src/pipeline/pipeline-schema.js';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { createSqlSink, sourceTableDescriber } from '../../src/sinks/sql/index.js';
import type { SchemaChangesMode } from '@highwater/sink-sql';
import { createAdapter } from '../../src/sources/create-adapter.js';

export type Kind = 'postgres' | 'mysql';

/** A plain connection for DDL, writes and checks. */
export interface Db {
  readonly kind: Kind;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function connect(kind: Kind, url: string): Promise<Db> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return { kind, query: async (sql, params) => (await client.query(sql, params)).rows, close: () => client.end() };
  }
  const db = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
  return {
    kind,
    query: async (sql, params) => (await db.query(sql, params))[0] as Record<string, unknown>[],
    close: () => db.end(),
  };
}

/**
 * One DDL kind on one table: `columns` besides `id int PRIMARY KEY, v int NOT NULL DEFAULT 0` (the
 * writer only writes `id` and `v`), the DDL, and writes that use what it changed. `{t}` is the
 * table's qualified name; `{n}` its bare name.
 */
export interface DdlCase {
  readonly name: string;
  readonly columns: Record<Kind, string>;
  /** Row values of `columns` for the seed rows (`{i}`: the row's id). */
  readonly seed: Record<Kind, string>;
  readonly ddl: Record<Kind, string[]>;
  readonly after?: Record<Kind, string[]>;
  /** The table is gone (dropped, renamed) after the DDL: the writer leaves it. */
  readonly ends?: boolean;
  /** Only during the stream. */
  readonly streamOnly?: boolean;
}

const same = (s: string): Record<Kind, string> => ({ postgres: s, mysql: s });
const both = (...s: string[]): Record<Kind, string[]> => ({ postgres: s, mysql: s });

/** Every DDL kind the adapters report. */
export const CASES: readonly DdlCase[] = [
  {
    name: 'add',
    columns: same(', a int'),
    seed: same(', {i}'),
    ddl: both('ALTER TABLE {t} ADD COLUMN c varchar(20)'),
    after: both("UPDATE {t} SET c = 'set' WHERE id % 3 = 0"),
  },
  {
    name: 'add_default',
    columns: same(', a int'),
    seed: same(', {i}'),
    ddl: both("ALTER TABLE {t} ADD COLUMN c varchar(20) DEFAULT 'dflt'"),
    after: both("UPDATE {t} SET c = 'set' WHERE id % 3 = 0"),
  },
  {
    name: 'drop',
    columns: same(', a int, b varchar(20)'),
    seed: same(", {i}, 'b{i}'"),
    ddl: both('ALTER TABLE {t} DROP COLUMN b'),
  },
  {
    name: 'rename',
    columns: same(', a int, b varchar(20)'),
    seed: same(", {i}, 'b{i}'"),
    ddl: both('ALTER TABLE {t} RENAME COLUMN b TO b2'),
    after: both("UPDATE {t} SET b2 = 'renamed' WHERE id % 4 = 0"),
  },
  {
    name: 'widen',
    columns: same(', a int'),
    seed: same(', {i}'),
    ddl: { postgres: ['ALTER TABLE {t} ALTER COLUMN a TYPE bigint'], mysql: ['ALTER TABLE {t} MODIFY a bigint'] },
    after: both(
      'UPDATE {t} SET a = 2147483653 WHERE id % 5 = 0',
      'INSERT INTO {t} (id, v, a) VALUES (900001, 0, 3000000000)',
    ),
  },
  {
    name: 'narrow',
    columns: same(', b varchar(100)'),
    seed: same(", 'n{i}'"),
    ddl: {
      postgres: ['ALTER TABLE {t} ALTER COLUMN b TYPE varchar(10)'],
      mysql: ['ALTER TABLE {t} MODIFY b varchar(10)'],
    },
    after: both("UPDATE {t} SET b = 'short' WHERE id % 3 = 0"),
  },
  {
    name: 'incompatible',
    columns: same(', b varchar(20)'),
    seed: same(", '{i}'"),
    ddl: {
      postgres: ['ALTER TABLE {t} ALTER COLUMN b TYPE int USING b::int'],
      mysql: ['ALTER TABLE {t} MODIFY b int'],
    },
    after: both('UPDATE {t} SET b = b + 1000 WHERE id % 3 = 0'),
  },
  {
    name: 'nullable',
    columns: same(', a int NOT NULL DEFAULT 1'),
    seed: same(', {i}'),
    ddl: {
      postgres: ['ALTER TABLE {t} ALTER COLUMN a DROP NOT NULL'],
      mysql: ['ALTER TABLE {t} MODIFY a int NULL DEFAULT 1'],
    },
    after: both('UPDATE {t} SET a = NULL WHERE id % 3 = 0'),
  },
  {
    name: 'notnull',
    columns: same(', a int DEFAULT 1'),
    seed: same(', {i}'),
    ddl: {
      postgres: ['ALTER TABLE {t} ALTER COLUMN a SET NOT NULL'],
      mysql: ['ALTER TABLE {t} MODIFY a int NOT NULL DEFAULT 1'],
    },
  },
  {
    name: 'default',
    columns: same(', a int DEFAULT 1'),
    seed: same(', {i}'),
    ddl: both('ALTER TABLE {t} ALTER COLUMN a SET DEFAULT 5'),
  },
  { name: 'truncate', columns: same(', a int'), seed: same(', {i}'), ddl: both('TRUNCATE TABLE {t}') },
  {
    name: 'drop_table',
    columns: same(', a int'),
    seed: same(', {i}'),
    ddl: both('DROP TABLE {t}'),
    ends: true,
  },
  {
    name: 'rename_table',
    columns: same(', a int'),
    seed: same(', {i}'),
    ddl: { postgres: ['ALTER TABLE {t} RENAME TO {n}_moved'], mysql: ['RENAME TABLE {t} TO {t_moved}'] },
    // Postgres describes a relation again only before its next change.
    after: both('INSERT INTO {t_moved} (id, v, a) VALUES (900002, 0, 1)'),
    ends: true,
  },
];

export const SEED_ROWS = 40;

/** The source of one run: its schema (Postgres) or database (MariaDB) and the statement helpers. */
export class SourceTables {
  constructor(
    readonly db: Db,
    /** Postgres schema or MariaDB database holding the run's tables. */
    readonly schema: string,
  ) {}

  name(c: DdlCase, when: 'snapshot' | 'stream'): string {
    return `${c.name}_${when === 'snapshot' ? 's' : 'l'}`;
  }

  qualified(table: string): string {
    return this.db.kind === 'postgres' ? `"${this.schema}"."${table}"` : `\`${this.schema}\`.\`${table}\``;
  }

  statement(template: string, table: string): string {
    return template
      .replaceAll('{t_moved}', this.qualified(`${table}_moved`))
      .replaceAll('{t}', this.qualified(table))
      .replaceAll('{n}', table);
  }

  async create(cases: readonly DdlCase[]): Promise<void> {
    const k = this.db.kind;
    await this.db.query(k === 'postgres' ? `CREATE SCHEMA ${this.schema}` : `CREATE DATABASE ${this.schema}`);
    for (const c of cases) {
      for (const when of ['snapshot', 'stream'] as const) {
        const t = this.name(c, when);
        await this.db.query(
          `CREATE TABLE ${this.qualified(t)} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0${c.columns[k]})`,
        );
        const rows = Array.from(
          { length: SEED_ROWS },
          (_, i) => `(${i + 1}, 0${c.seed[k].replaceAll('{i}', String(i + 1))})`,
        );
        const names = c.columns[k].replace(/\s+(int|varchar\(\d+\)|text)[^,]*/g, '');
        await this.db.query(`INSERT INTO ${this.qualified(t)} (id, v${names}) VALUES ${rows.join(', ')}`);
      }
    }
    await this.db.query(`CREATE TABLE ${this.qualified('marker')} (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)`);
  }

  async ddl(c: DdlCase, table: string): Promise<void> {
    for (const s of c.ddl[this.db.kind]) await this.db.query(this.statement(s, table));
  }

  async after(c: DdlCase, table: string): Promise<void> {
    for (const s of c.after?.[this.db.kind] ?? []) await this.db.query(this.statement(s, table));
  }
}

/** Inserts, updates and deletes on `id`/`v` of the live tables until stopped (the other columns are the DDL's). */
export function startWriter(url: string, kind: Kind, tables: () => readonly string[]): { stop(): Promise<number> } {
  let running = true;
  const done = (async () => {
    const db = await connect(kind, url);
    let next = 1000;
    let writes = 0;
    try {
      while (running) {
        for (const t of tables()) {
          const id = 1 + Math.floor(Math.random() * SEED_ROWS);
          const pick = Math.random();
          try {
            if (pick < 0.5) await db.query(`UPDATE ${t} SET v = v + 1 WHERE id = ${id}`);
            else if (pick < 0.85) await db.query(`INSERT INTO ${t} (id, v) VALUES (${next++}, 1)`);
            else await db.query(`DELETE FROM ${t} WHERE id = ${id}`);
            writes++;
          } catch (error) {
            // A table dropped or renamed a moment ago (the list is read before the DDL ends).
            if (!/does not exist|doesn't exist/.test((error as Error).message)) throw error;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await db.close();
    }
    return writes;
  })();
  return {
    stop: () => {
      running = false;
      return done;
    },
  };
}

/** A pipeline from a source schema into a fresh target schema, run in this process. */
export function pipelineText(options: {
  name: string;
  source: { kind: Kind; url: string; schema: string; serverId?: number };
  target: { kind: Kind; url: string; schema: string };
  /** Absent: the sink's default. */
  mode?: SchemaChangesMode;
  /** Postgres: drop the slot when the run ends (default true; false for a run resumed later). */
  dropSlotOnClose?: boolean;
}): string {
  const { source, target } = options;
  const sourceOptions =
    source.kind === 'postgres'
      ? `{ slotName: ${options.name}, publicationName: ${options.name}, createPublication: true, dropSlotOnClose: ${options.dropSlotOnClose ?? true} }`
      : `{ serverId: ${source.serverId ?? 4242} }`;
  return `name: ${options.name}
source:
  adapter: ${source.kind}
  connection: '${source.url}'
  tables: { include: ['${source.schema}.*'] }
  chunkSize: 15
  options: ${sourceOptions}
sink:
  type: ${target.kind}
  connection: '${target.url}'
  schema: ${target.schema}
${options.mode === undefined ? '' : `  schemaChanges: ${options.mode}\n`}`;
}

export async function runPipeline(
  text: string,
  hooks: {
    onChunk?: (table: string, index: number) => Promise<void>;
    /** Wraps the SQL sink (e.g. to make a write fail as a crash would, before it commits). */
    wrapSink?: (sink: Sink) => Sink;
  },
  warnings: string[] = [],
): Promise<{ runner: PipelineRunner; done: Promise<unknown>; close(): Promise<void> }> {
  const pipeline = parsePipeline(text, '/tmp/schema-changes.yaml', {});
  const adapter = (await createAdapter(pipeline.config.source, pipeline.name)) as SourceAdapter<unknown>;
  const schemas = sourceTableDescriber(adapter, pipeline.config.source);
  const logger = { info() {}, debug() {}, warn: (_f: object, message: string) => void warnings.push(message) };
  const sqlSink = createSqlSink(pipeline.config.sink as SqlSinkConfig, {
    pipelineName: pipeline.name,
    logger,
    ...schemas,
  });
  const sink = hooks.wrapSink?.(sqlSink) ?? sqlSink;
  const runner = new PipelineRunner({
    adapter,
    source: {
      tables: pipeline.config.source.tables,
      chunkSize: 15,
      batchSize: 50,
      phaseHooks: {
        afterLowWatermark: async (split) => hooks.onChunk?.(split.table, split.index),
      },
    },
    sink,
    restart: { attempts: 0, initialDelayMs: 10, maxDelayMs: 10 },
    logger,
  });
  const done = runner.run().then(
    (summary) => summary,
    (error: unknown) => error,
  );
  return { runner, done, close: () => schemas.close() };
}

export type Servers = { postgres: ThrowawayPostgres; mysql: ThrowawayMariadb };

export async function until(what: string, condition: () => Promise<boolean> | boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
