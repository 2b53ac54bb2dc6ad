import {
  type AdapterCapabilities,
  JsonText,
  type JsonValue,
  type LogicalType,
  type Row,
  type SourceAdapter,
  type TableSchema,
  type Value,
} from '@highwater/core';
import {
  type ColumnDefinition,
  type ConformanceHarness,
  type HarnessCapabilities,
  type TableDefinition,
  type WriteOp,
  SingleConnectionWrites,
} from '@highwater/conformance';
import { startMariadb, type ThrowawayMariadb } from '@highwater/test-servers';
import type mysql from 'mysql2/promise';
import { MysqlChunkReader } from '../src/chunk-reader.js';
import { connect, connectCore } from '../src/connection.js';
import { describeTable } from '../src/describe-tables.js';
import { type MysqlAdapterOptions, type MysqlOffset, mysqlAdapter, mysqlOffsets, positionAt } from '../src/index.js';
import { quoteIdent } from '../src/sql/identifiers.js';
import { binlogStatus } from '../src/watermarks.js';

const SCHEMA = 'conformance';

/** MariaDB type for a logical column type. Text is `utf8mb4_nopad_bin`: keys may differ only in case or trailing blanks. */
function mysqlType(type: LogicalType): string {
  switch (type.kind) {
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'int';
    case 'int64':
      return 'bigint';
    case 'uint64':
      return 'bigint unsigned';
    case 'float32':
      return 'float';
    case 'float64':
      return 'double';
    case 'decimal':
      return type.precision === undefined ? 'decimal(65,30)' : `decimal(${type.precision},${type.scale ?? 0})`;
    case 'string':
      return `varchar(${type.length ?? 255}) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin`;
    case 'bytes':
      return 'varbinary(1024)';
    case 'json':
      return 'json';
    case 'date':
      return 'date';
    case 'time':
      return `time(${type.precision ?? 0})`;
    case 'timestamp':
      return `datetime(${type.precision ?? 0})`;
    case 'timestamptz':
      return `timestamp(${type.precision ?? 0}) NULL`;
    default:
      throw new Error(`the mysql harness does not map ${type.kind}`);
  }
}

/** A value as a mysql2 parameter. */
function param(value: Value, type: LogicalType | undefined): unknown {
  if (value === null) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof JsonText) return value.text;
  if (type?.kind === 'json') return JSON.stringify(value);
  if (typeof value === 'string' && (type?.kind === 'timestamp' || type?.kind === 'timestamptz')) {
    return value.replace('T', ' ').replace(/Z$/, '');
  }
  return value;
}

/**
 * The conformance harness for `@highwater/mysql` on a throwaway MariaDB 10.11 (or the server named by
 * HIGHWATER_MYSQL_URL): tables in database `conformance`, a scratch table in `harness` for `moveLog`.
 */
export class MysqlHarness
  extends SingleConnectionWrites
  implements ConformanceHarness<MysqlOffset, Partial<MysqlAdapterOptions>>
{
  readonly name = 'mariadb';
  readonly adapterCapabilities: AdapterCapabilities = mysqlAdapter({ connection: 'mysql://x@127.0.0.1/' }).capabilities;
  readonly capabilities: HarnessCapabilities = {
    // Not offered: boolean (TINYINT(1) reads as int16), uuid (MariaDB's UUID sorts by swapped byte
    // groups, which compareKeys does not model yet), timestamptz (TIMESTAMP cannot hold 1970-01-01T00:00:00Z).
    columnTypes: [
      'int16',
      'int32',
      'int64',
      'float64',
      'decimal',
      'string',
      'bytes',
      'json',
      'date',
      'time',
      'timestamp',
    ],
    commitTimeResolutionMs: 1000,
  };
  private server: ThrowawayMariadb | null = null;
  private client: mysql.Connection | null = null;
  private readonly types = new Map<string, Map<string, LogicalType>>();

  private get db(): mysql.Connection {
    if (this.client === null) throw new Error('the mysql harness is not started');
    return this.client;
  }

  private get url(): string {
    if (this.server === null) throw new Error('the mysql harness is not started');
    return this.server.url;
  }

  async start(): Promise<void> {
    this.server = await startMariadb();
    try {
      this.client = await connect(this.server.url);
      await this.client.query(`CREATE DATABASE IF NOT EXISTS ${SCHEMA}`);
      await this.client.query('CREATE DATABASE IF NOT EXISTS harness');
      await this.client.query('CREATE TABLE IF NOT EXISTS harness.scratch (id int PRIMARY KEY, n bigint)');
      await this.client.query('INSERT IGNORE INTO harness.scratch VALUES (1, 0)');
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = null;
    await this.server?.stop();
    this.server = null;
  }

  createAdapter(options: Partial<MysqlAdapterOptions> = {}): SourceAdapter<MysqlOffset> {
    return mysqlAdapter({ connection: this.url, heartbeatMs: 20, lowWatermarkPatienceMs: 1000, ...options });
  }

  async createUnprivilegedAdapter(): Promise<SourceAdapter<MysqlOffset>> {
    await this.db.query("CREATE USER IF NOT EXISTS 'unprivileged'@'%'");
    await this.db.query(`GRANT SELECT ON ${SCHEMA}.* TO 'unprivileged'@'%'`);
    const url = new URL(this.url);
    url.username = 'unprivileged';
    url.password = '';
    return mysqlAdapter({ connection: url.toString() });
  }

  async createTable(definition: TableDefinition): Promise<string> {
    const name = `${SCHEMA}.${definition.name}`;
    const columns = definition.columns.map((c) => {
      const notNull =
        c.nullable === false ||
        definition.primaryKey?.includes(c.name) === true ||
        definition.unique?.some((u) => u.includes(c.name)) === true;
      return `${quoteIdent(c.name)} ${mysqlType(c.type)}${notNull ? ' NOT NULL' : ''}`;
    });
    const key = definition.primaryKey ?? [];
    if (key.length > 0) columns.push(`PRIMARY KEY (${key.map(quoteIdent).join(', ')})`);
    for (const unique of definition.unique ?? []) columns.push(`UNIQUE (${unique.map(quoteIdent).join(', ')})`);
    await this.db.query(`CREATE TABLE ${this.qualified(name)} (${columns.join(', ')})`);
    this.types.set(name, new Map(definition.columns.map((c) => [c.name, c.type])));
    return name;
  }

  protected control(statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<unknown> {
    return this.db.query(statement);
  }

  /** The rows as the adapter's snapshot decoder reads them (checked against the log path by types.test.ts). */
  async readTable(table: string): Promise<readonly Row[]> {
    const [schema, name] = table.split('.') as [string, string];
    const described = await describeTable(this.db, { schema, name });
    const all: TableSchema = { ...described.schema, chunkKey: [] };
    const reader = new MysqlChunkReader(await connectCore(this.url), 10_000);
    try {
      const rows: Row[] = [];
      for await (const batch of reader.readChunk(all, { start: null, end: null })) rows.push(...batch);
      return rows;
    } finally {
      await reader.close();
    }
  }

  async alterTable(table: string, change: { readonly addColumn: ColumnDefinition }): Promise<void> {
    const c = change.addColumn;
    await this.db.query(`ALTER TABLE ${this.qualified(table)} ADD COLUMN ${quoteIdent(c.name)} ${mysqlType(c.type)}`);
    this.types.get(table)?.set(c.name, c.type);
  }

  async dropTable(table: string): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualified(table)}`);
  }

  async truncateTable(table: string): Promise<void> {
    await this.db.query(`TRUNCATE TABLE ${this.qualified(table)}`);
  }

  async moveLog(): Promise<void> {
    await this.db.query('UPDATE harness.scratch SET n = n + 1 WHERE id = 1');
  }

  /** Rotates the binlog and purges every older file: a reader from the returned offset must fail. */
  async loseLogBefore(): Promise<JsonValue> {
    const status = await binlogStatus(this.db);
    await this.moveLog();
    await this.db.query('FLUSH BINARY LOGS');
    const now = await binlogStatus(this.db);
    // MariaDB keeps a file until its binlog checkpoint has moved past it: retry until it is gone.
    for (let attempt = 0; ; attempt++) {
      await this.db.query(`PURGE BINARY LOGS TO '${now.file}'`);
      const [logs] = await this.db.query('SHOW BINARY LOGS');
      if (!(logs as { Log_name: string }[]).some((l) => l.Log_name === status.file)) break;
      if (attempt > 50) throw new Error(`could not purge ${status.file}: is a reader still on it?`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return mysqlOffsets.toJSON(positionAt(status.file, status.pos));
  }

  private qualified(table: string): string {
    const [schema, name] = table.split('.') as [string, string];
    return `${quoteIdent(schema)}.${quoteIdent(name)}`;
  }

  protected async runWrite(op: WriteOp): Promise<void> {
    const t = op.table;
    const types = this.types.get(t);
    const values: unknown[] = [];
    const bind = (column: string, value: Value) => {
      values.push(param(value, types?.get(column)));
      return '?';
    };
    const where = (key: Row) =>
      Object.entries(key)
        .map(([c, v]) => `${quoteIdent(c)} = ${bind(c, v)}`)
        .join(' AND ');
    let sql: string;
    if (op.op === 'insert') {
      const cols = Object.keys(op.row);
      sql = `INSERT INTO ${this.qualified(t)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map((c) => bind(c, op.row[c] ?? null)).join(', ')})`;
    } else if (op.op === 'update') {
      const sets = Object.entries(op.changes).map(([c, v]) => `${quoteIdent(c)} = ${bind(c, v)}`);
      if (sets.length === 0) return;
      sql = `UPDATE ${this.qualified(t)} SET ${sets.join(', ')} WHERE ${where(op.key)}`;
    } else {
      sql = `DELETE FROM ${this.qualified(t)} WHERE ${where(op.key)}`;
    }
    await this.db.query(sql, values);
  }
}
