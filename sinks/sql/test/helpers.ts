import type {
  ChangeEvent,
  Checkpoint,
  ColumnSchema,
  LogicalType,
  Row,
  SchemaChangeEvent,
  Sink,
  SourceInfo,
  TableSchema,
  TruncateEvent,
} from '@highwater/core';
import { diffTableSchemas } from '@highwater/core';
import { mysqlDialect, mysqlSink } from '@highwater/sink-mysql';
import { postgresDialect, postgresSink } from '@highwater/sink-postgres';
import { startMariadb, startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { SqlSinkConfig } from '../src/sink-config.js';
import type { SqlSinkContext } from '../src/sql-sink.js';
import { readSqlCheckpoint } from '../src/stored-checkpoint.js';

export type TargetKind = 'postgres' | 'mysql';

/** The `postgres` or `mysql` sink `config` describes, as the packages' factories make it. */
export function createSqlSink(config: SqlSinkConfig, context: SqlSinkContext): Sink {
  return config.type === 'postgres' ? postgresSink(config, context) : mysqlSink(config, context);
}

/** The checkpoint the sink `config` describes stored for `pipelineName`. */
export function readSqlSinkCheckpoint(config: SqlSinkConfig, pipelineName: string) {
  return readSqlCheckpoint(config.type === 'postgres' ? postgresDialect : mysqlDialect, config, pipelineName);
}

export function table(name: string, columns: [string, LogicalType][], primaryKey: string[]): TableSchema {
  return {
    id: { schema: 'src', name },
    columns: columns.map(([n, type]): ColumnSchema => ({ name: n, type, nativeType: type.kind, nullable: true })),
    primaryKey,
    chunkKey: primaryKey,
  };
}

function info(t: TableSchema): SourceInfo {
  return {
    connector: 'test',
    table: `src.${t.id.name}`,
    tableId: t.id,
    opTs: 0,
    offset: null,
    txId: null,
    snapshot: false,
  };
}

function keyOf(t: TableSchema, row: Row): Row {
  return Object.fromEntries(t.primaryKey.map((k) => [k, row[k] ?? null]));
}

export function insert(t: TableSchema, after: Row): ChangeEvent {
  return {
    kind: 'change',
    op: 'c',
    key: keyOf(t, after),
    before: null,
    after,
    beforeImage: 'none',
    unknownColumns: [],
    source: info(t),
  };
}

export function update(t: TableSchema, before: Row, after: Row, unknownColumns: string[] = []): ChangeEvent {
  return {
    kind: 'change',
    op: 'u',
    key: keyOf(t, after),
    before,
    after,
    beforeImage: 'key',
    unknownColumns,
    source: info(t),
  };
}

export function remove(t: TableSchema, before: Row): ChangeEvent {
  return {
    kind: 'change',
    op: 'd',
    key: keyOf(t, before),
    before,
    after: null,
    beforeImage: 'key',
    unknownColumns: [],
    source: info(t),
  };
}

export function truncate(t: TableSchema): TruncateEvent {
  return { kind: 'truncate', table: `src.${t.id.name}`, source: info(t) };
}

/** A schema event of table `t` (its definition before, unless `t` is `schema`: a new table), as the core makes it. */
export function schemaChange(
  t: TableSchema,
  schema: TableSchema | null,
  hints: { renamedColumns?: Record<string, string>; renamedTo?: string } = {},
): SchemaChangeEvent {
  const before = t === schema ? null : t;
  const changes = diffTableSchemas(before, schema, hints);
  return { kind: 'schema', table: `src.${t.id.name}`, schema, before, changes, ddl: null, source: info(t) };
}

export function checkpoint(position: number): Checkpoint {
  return { version: 1, connector: 'test', position, complete: false, tables: {} };
}

export interface CapturedLog {
  readonly warnings: string[];
  /** Debug messages too, when given. */
  readonly debugs?: string[];
}

export function context(tables: readonly TableSchema[], log: CapturedLog = { warnings: [] }): SqlSinkContext {
  return {
    pipelineName: 'test-pipeline',
    logger: {
      info: () => undefined,
      debug: (_fields, message) => log.debugs?.push(message),
      warn: (_fields, message) => log.warnings.push(message),
    },
    describeTables: async (ids) =>
      ids.map((id) => {
        const found = tables.find((t) => t.id.name === id.name);
        if (found === undefined) throw new Error(`test: no table ${id.name}`);
        return found;
      }),
  };
}

export function sinkConfig(
  kind: TargetKind,
  url: string,
  schema: string,
  batchSize?: number,
  schemaChanges: SqlSinkConfig['schemaChanges'] = 'lenient',
): SqlSinkConfig {
  return { type: kind, connection: url, schema, tableNaming: 'table', createTables: true, batchSize, schemaChanges };
}

/** A plain client on the target for setup and assertions. */
export interface TargetClient {
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  createSchema(name: string): Promise<void>;
  tables(schema: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function targetClient(kind: TargetKind, url: string): Promise<TargetClient> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const query = async (sql: string, params?: unknown[]) => (await client.query(sql, params)).rows;
    return {
      query,
      createSchema: async (name) => void (await query(`CREATE SCHEMA ${name}`)),
      tables: async (schema) =>
        (await query('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])).map((r) =>
          String(r.tablename),
        ),
      close: () => client.end(),
    };
  }
  const db = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
  const query = async (sql: string, params?: unknown[]) =>
    (await db.query(sql, params))[0] as Record<string, unknown>[];
  return {
    query,
    createSchema: async (name) => void (await query(`CREATE DATABASE ${name}`)),
    tables: async (schema) =>
      (
        await query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [schema])
      ).map((r) => String(r.t)),
    close: () => db.end(),
  };
}

/** A throwaway target server of a describe block, with a client on it; see {@link throwawayTarget}. */
export interface ThrowawayTarget {
  readonly url: string;
  readonly db: TargetClient;
  /** A new, empty schema (a database on MySQL) named `prefix` and a number. */
  freshSchema(): Promise<string>;
}

/**
 * Starts a throwaway `kind` server and a client on it before the describe block's tests, and stops
 * both after them (registered first, so the block's own `afterAll` runs before it).
 */
export function throwawayTarget(kind: TargetKind, prefix: string): ThrowawayTarget {
  let server: ThrowawayServer | undefined;
  let db: TargetClient | undefined;
  let n = 0;
  beforeAll(async () => {
    server = kind === 'postgres' ? await startPostgres({ useEnv: false }) : await startMariadb({ useEnv: false });
    db = await targetClient(kind, server.url);
  });
  afterAll(async () => {
    await db?.close().catch(() => undefined);
    await server?.stop();
  });
  const started = () => {
    if (server === undefined || db === undefined) throw new Error(`the ${kind} target is not started`);
    return { server, db };
  };
  return {
    get url() {
      return started().server.url;
    },
    get db() {
      return started().db;
    },
    async freshSchema() {
      const name = `${prefix}${++n}`;
      await started().db.createSchema(name);
      return name;
    },
  };
}

/** `schema.table` in the target's quoting. */
export function q(kind: TargetKind, schema: string, name: string): string {
  return kind === 'postgres' ? `"${schema}"."${name}"` : `\`${schema}\`.\`${name}\``;
}
