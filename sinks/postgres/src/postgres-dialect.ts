import type { LogicalType, Value } from '@highwater/core';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ConnectionConfig } from '@highwater/sink-sql';
import { postgresArrayStatements } from './array-statements.js';
import { copyLine } from './copy-text.js';
import type { Dialect, SessionStatement, SqlSession } from '@highwater/sink-sql';
import { valuesList } from '@highwater/sink-sql';
import { postgresText } from './postgres-value-text.js';
import type { RejectValue } from '@highwater/sink-sql';

/**
 * Postgres target column types. Every source type keeps its meaning and its bounds (lengths,
 * precisions); only `uint64` (numeric(20)), `enum`/`set`/`other` (text), fixed `bit(n)` (bit
 * varying(n): every value still has n bits) and arrays of arrays (one multi-dimensional array type
 * in Postgres) change type.
 */
export function postgresColumnType(type: LogicalType): string {
  switch (type.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'integer';
    case 'int64':
      return 'bigint';
    case 'uint64':
      return 'numeric(20)';
    case 'float32':
      return 'real';
    case 'float64':
      return 'double precision';
    case 'decimal':
      return type.precision !== undefined && type.precision >= 1 && type.precision <= 1000
        ? `numeric(${type.precision},${type.scale ?? 0})`
        : 'numeric';
    case 'string':
      // varchar, not char: char(n) would pad MySQL's CHAR values (stored without trailing spaces).
      return type.length !== undefined && type.length >= 1 && type.length <= 10_485_760
        ? `varchar(${type.length})`
        : 'text';
    case 'bytes':
      return 'bytea';
    case 'uuid':
      return 'uuid';
    case 'json':
      // json keeps a document's text byte for byte; jsonb only where the source normalised it already.
      return type.normalised === true ? 'jsonb' : 'json';
    case 'date':
      return 'date';
    case 'time':
      return `${type.withTimeZone === true ? 'timetz' : 'time'}(${precision(type.precision)})`;
    case 'timestamp':
      return `timestamp(${precision(type.precision)})`;
    case 'timestamptz':
      return `timestamptz(${precision(type.precision)})`;
    case 'interval':
      return 'interval';
    case 'enum':
    case 'set':
    case 'other':
      return 'text';
    case 'bits':
      return type.length !== undefined && type.length >= 1 ? `bit varying(${type.length})` : 'bit varying';
    case 'array': {
      let element: LogicalType = type.element;
      while (element.kind === 'array') element = element.element;
      return `${postgresColumnType(element)}[]`;
    }
  }
}

function precision(p: number | undefined): number {
  return p === undefined ? 6 : Math.min(Math.max(p, 0), 6);
}

/** A value as node-postgres's text parameter for a column of `type` (see {@link postgresText}). */
export function postgresParam(type: LogicalType, value: Value, reject: RejectValue): string | null {
  return postgresText(type, value, reject);
}

/**
 * The target's name for a source index: index names are unique per schema in Postgres (per table in
 * MySQL), so the table's name leads unless the source's name already starts with it; at most 63 bytes.
 */
function targetIndexName(table: string, index: string): string {
  const name = index.startsWith(table) ? index : `${table}_${index}`;
  return Buffer.from(name)
    .subarray(0, 63)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** `ON CONFLICT (key) DO UPDATE SET` every non-key column of `columns` (`DO NOTHING` when there is none). */
function onConflict(columns: readonly string[], key: readonly string[]): string {
  const keys = new Set(key);
  const update = columns.filter((c) => !keys.has(c));
  const conflict = `ON CONFLICT (${key.map(quoteIdentifier).join(', ')})`;
  if (update.length === 0) return `${conflict} DO NOTHING`;
  const set = update.map((c) => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`);
  return `${conflict} DO UPDATE SET ${set.join(', ')}`;
}

const LOST_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const LOST_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

export const postgresDialect: Dialect = {
  name: 'postgres',
  transactionalDdl: true,
  maxParams: 30_000,
  begin: 'BEGIN',
  bulkLoad: {
    statement(qualified, columns) {
      return `COPY ${qualified} (${columns.map((c) => postgresDialect.quote(c)).join(', ')}) FROM STDIN`;
    },
    line: copyLine,
    isDuplicateKey: (error) => codeOf(error) === '23505',
    createStage(qualified, stage, columns) {
      const list = columns.map((c) => postgresDialect.quote(c)).join(', ');
      return `CREATE TEMPORARY TABLE ${postgresDialect.quote(stage)} ON COMMIT DROP AS SELECT ${list} FROM ${qualified} WITH NO DATA`;
    },
    upsertFromStage(qualified, stage, columns, key) {
      const list = columns.map((c) => postgresDialect.quote(c)).join(', ');
      return `INSERT INTO ${qualified} (${list}) SELECT ${list} FROM pg_temp.${postgresDialect.quote(stage)} ${onConflict(columns, key)}`;
    },
  },
  arrayStatements: postgresArrayStatements,
  async connect(connection: ConnectionConfig): Promise<SqlSession> {
    const config: pg.ClientConfig =
      typeof connection === 'string'
        ? { connectionString: connection }
        : { ...connection, port: connection.port ?? 5432 };
    const client = new pg.Client({
      // pg waits forever for an unanswered connection unless told otherwise.
      connectionTimeoutMillis: 30_000,
      ...config,
      // Names the sink's session in pg_stat_activity (a connection string's own application_name wins).
      application_name: 'highwater-sink',
      // Every value is read as text: the sink only reads its own checkpoint and catalog names.
      types: { getTypeParser: (() => (text: string) => text) as unknown as pg.CustomTypesConfig['getTypeParser'] },
      // A plan per run of a prepared statement: a generic one, made while a target table was still
      // empty, would scan the whole table for every `= ANY($1)` delete once it has grown.
      options: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c plan_cache_mode=force_custom_plan',
    });
    client.on('error', () => {
      // Reported again by the next query on this client.
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    /** Statement text → its name on this connection (node-postgres parses a name once per connection). */
    const prepared = new Map<string, string>();
    const nameOf = (sql: string) => {
      let name = prepared.get(sql);
      if (name === undefined) {
        name = `highwater_${prepared.size + 1}`;
        prepared.set(sql, name);
      }
      return name;
    };
    return {
      async query<T>(sql: string, params?: readonly unknown[]) {
        const result = await client.query(sql, params as unknown[] | undefined);
        return result.rows as T[];
      },
      async execute(sql: string, params: readonly unknown[]) {
        await client.query({ name: nameOf(sql), text: sql, values: params as unknown[] });
      },
      async pipeline(statements: readonly SessionStatement[]) {
        // node-postgres sends every query queued in pipeline mode at once (each with its own Sync)
        // and answers them in order; the mode is on only while these are in flight (COPY cannot share it).
        const pipelined = client as unknown as { pipeline: boolean };
        pipelined.pipeline = true;
        let answers: PromiseSettledResult<unknown>[];
        try {
          answers = await Promise.allSettled(
            statements.map((s) =>
              s.prepared
                ? client.query({ name: nameOf(s.sql), text: s.sql, values: s.params as unknown[] })
                : // The extended protocol for every statement, as Postgres's own pipeline mode (libpq) uses only that.
                  client.query({ text: s.sql, values: s.params as unknown[], queryMode: 'extended' } as pg.QueryConfig),
            ),
          );
        } finally {
          pipelined.pipeline = false;
        }
        const index = answers.findIndex((a) => a.status === 'rejected');
        return index < 0 ? null : { index, error: (answers[index] as PromiseRejectedResult).reason };
      },
      async load(sql: string, data: Iterable<Uint8Array>) {
        // Settles once the server has read the data and answered (its error, e.g. a duplicate key, rejects).
        await pipeline(Readable.from(data, { objectMode: false }), client.query(copyFrom(sql)));
      },
      close: () => client.end().catch(() => undefined),
    };
  },
  async currentSchema(session) {
    const rows = await session.query<{ s: string | null }>('SELECT current_schema() AS s');
    return rows[0]?.s ?? 'public';
  },
  quote: quoteIdentifier,
  param: (n) => `$${n}`,
  columnType: (type) => postgresColumnType(type),
  encode: postgresParam,
  async schemaExists(session, schema) {
    return (await session.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).length > 0;
  },
  createSchema(schema) {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quote(schema)}`;
  },
  async columnsOf(session, schema, table) {
    const rows = await session.query<{ attname: string; attnotnull: string }>(
      `SELECT a.attname, a.attnotnull FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [schema, table],
    );
    if (rows.length > 0) return rows.map((r) => ({ name: r.attname, nullable: r.attnotnull !== 't' }));
    const exists = await session.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [
      schema,
      table,
    ]);
    return exists.length > 0 ? [] : null;
  },
  createTable(qualified, columns, key) {
    const defs = columns.map(
      (c) =>
        `${this.quote(c.name)} ${postgresColumnType(c.type)}${c.nullable ? '' : ' NOT NULL'}${c.defaultLiteral == null ? '' : ` DEFAULT ${c.defaultLiteral}`}`,
    );
    defs.push(`PRIMARY KEY (${key.map((k) => this.quote(k)).join(', ')})`);
    return `CREATE TABLE IF NOT EXISTS ${qualified} (${defs.join(', ')})`;
  },
  createIndexes(qualified, name, _columns, indexes) {
    const statements = indexes.map((index) => {
      const indexName = this.quote(targetIndexName(name, index.name));
      const columns = index.columns.map((c) => this.quote(c)).join(', ');
      // A unique index is checked at commit: the sink applies a batch's changes grouped by kind, not
      // in the source's order, so a swap of two unique values would otherwise collide midway.
      return index.unique
        ? `ALTER TABLE ${qualified} ADD CONSTRAINT ${indexName} UNIQUE (${columns}) DEFERRABLE INITIALLY DEFERRED`
        : `CREATE INDEX ${indexName} ON ${qualified} (${columns})`;
    });
    return { statements, skipped: [] };
  },
  addColumn(qualified, column, defaultLiteral) {
    const value = defaultLiteral == null ? '' : ` DEFAULT ${defaultLiteral}`;
    return `ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS ${this.quote(column.name)} ${postgresColumnType(column.type)}${value}`;
  },
  dropNotNull(qualified, column) {
    return `ALTER TABLE ${qualified} ALTER COLUMN ${this.quote(column.name)} DROP NOT NULL`;
  },
  setNotNull(qualified, column) {
    return `ALTER TABLE ${qualified} ALTER COLUMN ${this.quote(column.name)} SET NOT NULL`;
  },
  dropColumn(qualified, column) {
    return `ALTER TABLE ${qualified} DROP COLUMN IF EXISTS ${this.quote(column)}`;
  },
  renameColumn(qualified, from, to) {
    return `ALTER TABLE ${qualified} RENAME COLUMN ${this.quote(from)} TO ${this.quote(to)}`;
  },
  alterType(qualified, column) {
    const type = postgresColumnType(column.type);
    const name = this.quote(column.name);
    return `ALTER TABLE ${qualified} ALTER COLUMN ${name} TYPE ${type} USING ${name}::${type}`;
  },
  setDefault(qualified, column, defaultLiteral) {
    const action = defaultLiteral === null ? 'DROP DEFAULT' : `SET DEFAULT ${defaultLiteral}`;
    return `ALTER TABLE ${qualified} ALTER COLUMN ${this.quote(column)} ${action}`;
  },
  dropTable: (qualified) => `DROP TABLE IF EXISTS ${qualified}`,
  renameTable(qualified, _schema, name) {
    return `ALTER TABLE ${qualified} RENAME TO ${this.quote(name)}`;
  },
  upsert(qualified, columns, key, rows) {
    const head = `INSERT INTO ${qualified} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES ${valuesList(this, columns.length, rows)}`;
    return `${head} ${onConflict(columns, key)}`;
  },
  truncate: (qualified) => `TRUNCATE TABLE ${qualified}`,
  createCheckpointTable: (qualified) =>
    `CREATE TABLE IF NOT EXISTS ${qualified} (pipeline text PRIMARY KEY, checkpoint jsonb NOT NULL, stored_at timestamptz NOT NULL)`,
  storeCheckpoint: (qualified) =>
    `INSERT INTO ${qualified} (pipeline, checkpoint, stored_at) VALUES ($1, $2, clock_timestamp())
       ON CONFLICT (pipeline) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, stored_at = EXCLUDED.stored_at`,
  isConnectionLost(error) {
    const code = codeOf(error);
    if (code.startsWith('08') || LOST_CODES.has(code) || LOST_ERRNO.has(code)) return true;
    const message = error instanceof Error ? error.message : '';
    return /Connection terminated|not queryable|Client has encountered a connection error/i.test(message);
  },
  isTransient: (error) => ['40001', '40P01'].includes(codeOf(error)),
};
