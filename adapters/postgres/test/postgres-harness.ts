import {
  type AdapterCapabilities,
  JsonText,
  type JsonValue,
  type LogicalType,
  type Row,
  type SourceAdapter,
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
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { clientConfig } from '../src/connection.js';
import { type PgOffset, type PostgresAdapterOptions, pgOffsets, positionAt, postgresAdapter } from '../src/index.js';
import { parseLsn } from '../src/offsets/lsn.js';
import { quoteIdent } from '../src/sql/identifiers.js';
import { toParam } from '../src/sql/key-sql.js';
import { decoderFor } from '../src/types/decode.js';
import { TypeCatalog } from '../src/types/type-catalog.js';

const SCHEMA = 'conformance';
const SLOT = 'conformance';

/** Postgres type for a logical column type. */
function pgType(type: LogicalType): string {
  switch (type.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
      return 'int2';
    case 'int32':
      return 'int4';
    case 'int64':
      return 'int8';
    case 'float32':
      return 'float4';
    case 'float64':
      return 'float8';
    case 'decimal':
      return type.precision === undefined ? 'numeric' : `numeric(${type.precision},${type.scale ?? 0})`;
    case 'string':
      return type.length === undefined ? 'text' : `varchar(${type.length})`;
    case 'bytes':
      return 'bytea';
    case 'uuid':
      return 'uuid';
    case 'json':
      return 'jsonb';
    case 'date':
      return 'date';
    case 'time':
      return type.precision === undefined ? 'time' : `time(${type.precision})`;
    case 'timestamp':
      return type.precision === undefined ? 'timestamp' : `timestamp(${type.precision})`;
    case 'timestamptz':
      return type.precision === undefined ? 'timestamptz' : `timestamptz(${type.precision})`;
    default:
      throw new Error(`the postgres harness does not map ${type.kind}`);
  }
}

/**
 * The conformance harness for `@highwater/postgres` on a throwaway PostgreSQL (or the server named by
 * HIGHWATER_POSTGRES_URL): tables in schema `conformance`, one shared slot so restarts resume it.
 */
export class PostgresHarness
  extends SingleConnectionWrites
  implements ConformanceHarness<PgOffset, Partial<PostgresAdapterOptions>>
{
  readonly name = 'postgres';
  readonly adapterCapabilities: AdapterCapabilities = postgresAdapter({ connection: '' }).capabilities;
  readonly capabilities: HarnessCapabilities = {
    columnTypes: [
      'boolean',
      'int16',
      'int32',
      'int64',
      'float32',
      'float64',
      'decimal',
      'string',
      'bytes',
      'uuid',
      'json',
      'date',
      'time',
      'timestamp',
      'timestamptz',
    ],
  };
  private server: ThrowawayPostgres | null = null;
  private client: pg.Client | null = null;
  private readonly types = new Map<string, Map<string, LogicalType>>();
  private readonly keys = new Map<string, readonly string[]>();

  private get db(): pg.Client {
    if (this.client === null) throw new Error('the postgres harness is not started');
    return this.client;
  }

  private get url(): string {
    if (this.server === null) throw new Error('the postgres harness is not started');
    return this.server.url;
  }

  async start(): Promise<void> {
    this.server = await startPostgres();
    try {
      this.client = new pg.Client(clientConfig(this.server.url, 'conformance-harness'));
      await this.client.connect();
      await this.client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}; CREATE SCHEMA IF NOT EXISTS harness;
        CREATE TABLE IF NOT EXISTS harness.scratch (id int4 PRIMARY KEY, n int8);
        INSERT INTO harness.scratch VALUES (1, 0) ON CONFLICT DO NOTHING;`);
      // Set up as the docs say for startup 'earliest': the slot and a publication of the whole
      // schema exist before the tables are written, so every change of theirs stays readable.
      await this.db.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = '${SLOT}') THEN
          CREATE PUBLICATION ${SLOT} FOR TABLES IN SCHEMA ${SCHEMA} WITH (publish_via_partition_root = true);
        END IF;
      END $$;`);
      // In a statement of its own: a slot cannot be created in a transaction that has written.
      await this.db.query(
        `SELECT pg_create_logical_replication_slot($1, 'pgoutput') WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $1)`,
        [SLOT],
      );
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

  createAdapter(options: Partial<PostgresAdapterOptions> = {}): SourceAdapter<PgOffset> {
    return postgresAdapter({ connection: this.url, slotName: SLOT, publicationName: SLOT, ...options });
  }

  async createUnprivilegedAdapter(): Promise<SourceAdapter<PgOffset>> {
    await this.db.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'unprivileged') THEN CREATE ROLE unprivileged LOGIN; END IF;
    END $$; GRANT USAGE ON SCHEMA ${SCHEMA} TO unprivileged; GRANT SELECT ON ALL TABLES IN SCHEMA ${SCHEMA} TO unprivileged;`);
    const url = new URL(this.url);
    url.username = 'unprivileged';
    return postgresAdapter({ connection: url.toString(), slotName: 'unprivileged', publicationName: 'unprivileged' });
  }

  async createTable(definition: TableDefinition): Promise<string> {
    const name = `${SCHEMA}.${definition.name}`;
    const columns = definition.columns.map((c) => {
      const notNull =
        c.nullable === false ||
        definition.primaryKey?.includes(c.name) === true ||
        definition.unique?.some((u) => u.includes(c.name)) === true;
      return `${quoteIdent(c.name)} ${pgType(c.type)}${notNull ? ' NOT NULL' : ''}`;
    });
    const key = definition.primaryKey ?? [];
    if (key.length > 0) columns.push(`PRIMARY KEY (${key.map(quoteIdent).join(', ')})`);
    for (const unique of definition.unique ?? []) columns.push(`UNIQUE (${unique.map(quoteIdent).join(', ')})`);
    await this.db.query(`CREATE TABLE ${SCHEMA}.${quoteIdent(definition.name)} (${columns.join(', ')})`);
    // A keyless table needs a replica identity to be captured (the adapter refuses it otherwise, and
    // the server would refuse its updates once it is published): what the docs tell users to run.
    if (key.length === 0) {
      await this.db.query(`ALTER TABLE ${SCHEMA}.${quoteIdent(definition.name)} REPLICA IDENTITY FULL`);
    }
    this.types.set(name, new Map(definition.columns.map((c) => [c.name, c.type])));
    this.keys.set(name, key);
    return name;
  }

  protected control(statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<unknown> {
    return this.db.query(statement);
  }

  async readTable(table: string): Promise<readonly Row[]> {
    const [schema, name] = table.split('.') as [string, string];
    const columns = await this.db.query<{ attname: string; typid: string }>(
      `SELECT a.attname, a.atttypid::int8 AS typid FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [`${quoteIdent(schema)}.${quoteIdent(name)}`],
    );
    const types = await new TypeCatalog(this.db).resolve(columns.rows.map((c) => Number(c.typid)));
    const result = await this.db.query({
      text: `SELECT * FROM ${quoteIdent(schema)}.${quoteIdent(name)}`,
      rowMode: 'array',
    });
    return result.rows.map((values: unknown[]) => {
      const row: Record<string, Value> = {};
      columns.rows.forEach((c, i) => {
        const raw = values[i];
        const type = types.get(Number(c.typid));
        row[c.attname] = raw === null || type === undefined ? null : decoderFor(type)(String(raw));
      });
      return row;
    });
  }

  async alterTable(table: string, change: { readonly addColumn: ColumnDefinition }): Promise<void> {
    const c = change.addColumn;
    await this.db.query(`ALTER TABLE ${this.qualified(table)} ADD COLUMN ${quoteIdent(c.name)} ${pgType(c.type)}`);
    this.types.get(table)?.set(c.name, c.type);
  }

  async dropTable(table: string): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualified(table)}`);
  }

  async truncateTable(table: string): Promise<void> {
    await this.db.query(`TRUNCATE ${this.qualified(table)}`);
  }

  async moveLog(): Promise<void> {
    await this.db.query('UPDATE harness.scratch SET n = n + 1 WHERE id = 1');
  }

  /** Advances the shared slot past the current position: a reader after the returned offset must fail. */
  async loseLogBefore(): Promise<JsonValue> {
    const exists = await this.db.query('SELECT FROM pg_replication_slots WHERE slot_name = $1', [SLOT]);
    if (exists.rowCount === 0) await this.db.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [SLOT]);
    const lsn =
      (await this.db.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]?.l ?? '0/0';
    await this.moveLog();
    await this.moveLog();
    await this.db.query('SELECT pg_replication_slot_advance($1, pg_current_wal_insert_lsn())', [SLOT]);
    return pgOffsets.toJSON(positionAt(parseLsn(lsn)));
  }

  /** `json` columns are created as `jsonb`, which Postgres normalises: its own text of the document. */
  async normalJson(text: string): Promise<string> {
    const r = await this.db.query<{ j: string }>('SELECT $1::jsonb::text AS j', [text]);
    return r.rows[0]?.j as string;
  }

  async openConnections(): Promise<number> {
    const r = await this.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'highwater-%'",
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  private qualified(table: string): string {
    const [schema, name] = table.split('.') as [string, string];
    return `${quoteIdent(schema)}.${quoteIdent(name)}`;
  }

  private param(table: string, column: string, value: Value): string | null {
    const type = this.types.get(table)?.get(column);
    if (value instanceof JsonText) return value.text;
    if (value !== null && type?.kind === 'json') return JSON.stringify(value);
    return toParam(value);
  }

  private cast(table: string, column: string): string {
    const type = this.types.get(table)?.get(column);
    return type === undefined ? '' : `::${pgType(type)}`;
  }

  protected async runWrite(op: WriteOp): Promise<void> {
    const t = op.table;
    const values: (string | null)[] = [];
    const bind = (column: string, value: Value) => {
      values.push(this.param(t, column, value));
      return `$${values.length}${this.cast(t, column)}`;
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
