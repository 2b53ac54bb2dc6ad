import type { TableSchema } from '@highwater/core';
import { startMariadb, startPostgres, type ThrowawayMariadb, type ThrowawayPostgres } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import type { SqlSinkConfig } from '../../src/pipeline/pipeline-schema.js';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { createSink } from '../../src/sinks/create-sink.js';
import { dialectOf } from '../../src/sinks/sql/index.js';
import { createAdapter, sourceOptionsOf } from '../../src/sources/create-adapter.js';
import { type SideTable, readTextChunk, type TextRow } from '../../src/verify/text-reader.js';
import { targetTableOf } from '../../src/verify/target-reader.js';

export type Db = 'postgres' | 'mysql';

export interface Endpoint {
  readonly db: Db;
  readonly url: string;
}

let serverIds = 100;

/** A pipeline file's text from `source` (tables `include`) into `sink`'s `schema`. */
export function pipelineFor(name: string, source: Endpoint, include: string, sink: Endpoint, schema: string) {
  const options =
    source.db === 'postgres' ? '{ createSlot: true, createPublication: true }' : `{ serverId: ${serverIds++} }`;
  return parsePipeline(
    `name: ${name}
source:
  adapter: ${source.db}
  connection: '${source.url}'
  tables: { include: ['${include}'] }
  options: ${options}
sink:
  type: ${sink.db}
  connection: '${sink.url}'
  schema: ${schema}
`,
    `/tmp/${name}.yaml`,
    {},
  );
}

/** A started pipeline: stop it once the target has what the test waits for. */
export interface Running {
  readonly runner: PipelineRunner;
  readonly done: Promise<unknown>;
  readonly pipeline: ReturnType<typeof pipelineFor>;
}

/** Starts a pipeline in-process (snapshot, then the stream), as `highwater run` would. */
export async function start(pipeline: ReturnType<typeof pipelineFor>): Promise<Running> {
  const adapter = await createAdapter(pipeline.config.source, pipeline.name);
  const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
  const sink = await createSink(pipeline, { pipelineName: pipeline.name, logger }, { adapter });
  const runner = new PipelineRunner({
    adapter,
    source: sourceOptionsOf(pipeline.config.source),
    sink,
    restart: { attempts: 0, initialDelayMs: 1, maxDelayMs: 1 },
  });
  const done = runner.run().then(
    (summary) => summary,
    (error: unknown) => error,
  );
  return { runner, done, pipeline };
}

/**
 * Waits (polling, no fixed sleep) until `check` holds; fails with a pipeline's own error as soon as
 * one of `running` failed, or with what was awaited after `ms`.
 */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  running: readonly Running[] = [],
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    const failed = running.find((r) => r.runner.state === 'failed');
    if (failed !== undefined) throw await failed.done;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The rows of one source table and of its target table, as verify reads them: each value as its
 * own server prints it, canonical per type. Keyed by the canonical key.
 */
export async function serverTexts(
  pipeline: ReturnType<typeof pipelineFor>,
  table: TableSchema,
): Promise<{ source: Map<string, TextRow>; target: Map<string, TextRow> }> {
  const sink = pipeline.config.sink as SqlSinkConfig;
  const sourceDialect = dialectOf(pipeline.config.source.adapter as 'postgres' | 'mysql');
  const targetDialect = dialectOf(sink.type);
  const cross = sourceDialect.name !== targetDialect.name;
  const target = targetTableOf(table, sink, sink.schema as string);
  const side = (t: TableSchema, d: typeof sourceDialect): SideTable => ({
    qualified: `${d.quote(t.id.schema as string)}.${d.quote(t.id.name)}`,
    columns: t.columns,
    key: t.chunkKey,
  });
  const read = async (d: typeof sourceDialect, connection: SqlSinkConfig['connection'], t: TableSchema) => {
    const session = await d.connect(connection);
    try {
      const rows = await readTextChunk({ dialect: d, session }, side(t, d), { start: null, end: null }, cross);
      return new Map(rows.map((r) => [r.key, r]));
    } finally {
      await session.close();
    }
  };
  return {
    source: await read(sourceDialect, pipeline.config.source.connection, table),
    target: await read(targetDialect, sink.connection, target),
  };
}

/** A throwaway Postgres and MariaDB, each with an empty database `target` for the sinks. */
export interface Servers {
  readonly postgres: ThrowawayPostgres;
  readonly maria: ThrowawayMariadb;
  /** Where a sink of `db` writes. */
  sink(db: Db): Endpoint;
  /** Runs statements (several, `;`-separated) on the source database of `db`. */
  exec(db: Db, sql: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startServers(target: string): Promise<Servers> {
  const [postgres, maria] = await Promise.all([startPostgres({ useEnv: false }), startMariadb({ useEnv: false })]);
  const exec = async (db: Db, sql: string) => {
    if (db === 'mysql') {
      const conn = await mysql.createConnection({ uri: maria.url, multipleStatements: true });
      try {
        await conn.query(sql);
      } finally {
        await conn.end();
      }
      return;
    }
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await exec('postgres', `CREATE DATABASE ${target}`);
  return {
    postgres,
    maria,
    sink: (db) =>
      db === 'postgres' ? { db, url: postgres.url.replace(/\/[^/]*$/, `/${target}`) } : { db, url: maria.url },
    exec,
    stop: async () => void (await Promise.all([postgres.stop(), maria.stop()])),
  };
}
