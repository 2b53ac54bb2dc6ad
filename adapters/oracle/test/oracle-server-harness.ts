import type { AdapterCapabilities, LogicalType, Row, SourceAdapter, Value } from '@highwater/core';
import {
  type ColumnDefinition,
  type ConformanceHarness,
  type HarnessCapabilities,
  SingleConnectionWrites,
  type TableDefinition,
  type WriteOp,
} from '@highwater/conformance';
import {
  type BindValue,
  type OracleAdapterOptions,
  type OracleOffset,
  type OracleSession,
  oracleAdapter,
  oracledbConnector,
  parseOracleUrl,
  quoteIdent,
} from '../src/index.js';
import { readWholeTable } from './read-table.js';
import { ORACLE_COLUMN_TYPES, oracleColumnFor } from './simulator/harness.js';

/** The type of a column in DDL, from the same mapping the simulator harness uses. */
function ddlType(type: LogicalType): string {
  const c = oracleColumnFor('x', type, true);
  if (c.dataType === 'NUMBER' && c.precision !== null) return `NUMBER(${c.precision},${c.scale ?? 0})`;
  if (c.dataType === 'VARCHAR2') return `VARCHAR2(${c.length} CHAR)`;
  if (c.dataType === 'RAW') return `RAW(${c.length})`;
  return c.dataType;
}

/** A value as a bind, and the SQL expression that takes it (timestamps need a format). */
function bound(value: Value, type: LogicalType | undefined): { bind: BindValue; expr: (name: string) => string } {
  const plain = (bind: BindValue) => ({ bind, expr: (n: string) => `:${n}` });
  if (value === null) return plain(null);
  if (typeof value === 'bigint' || (typeof value === 'number' && type?.kind !== 'float32' && type?.kind !== 'float64'))
    return plain(String(value));
  if (value instanceof Uint8Array || typeof value === 'number') return plain(value);
  if (type?.kind === 'timestamp')
    return { bind: String(value), expr: (n) => `TO_TIMESTAMP(:${n}, 'YYYY-MM-DD"T"HH24:MI:SS.FF')` };
  if (type?.kind === 'timestamptz') {
    return {
      bind: String(value).replace(/Z$/, '+00:00'),
      expr: (n) => `TO_TIMESTAMP_TZ(:${n}, 'YYYY-MM-DD"T"HH24:MI:SS.FFTZH:TZM')`,
    };
  }
  return plain(String(value));
}

/**
 * The conformance harness for a REAL Oracle database named by HIGHWATER_ORACLE_URL
 * (`oracle://user:password@host:1521/FREEPDB1`, the user set up as in docs/adapters/oracle.md and able
 * to create tables in its own schema). Not run here: no Oracle server can run on this machine.
 */
export class OracleServerHarness
  extends SingleConnectionWrites
  implements ConformanceHarness<OracleOffset, Partial<OracleAdapterOptions>>
{
  private inTransaction = false;
  readonly name: string;
  readonly adapterCapabilities: AdapterCapabilities;
  readonly capabilities: HarnessCapabilities;
  private session: OracleSession | null = null;
  private owner = '';
  private readonly types = new Map<string, Map<string, LogicalType>>();

  /**
   * `url` writes the suite's tables (in its user's schema). `capture` is what the adapter is given:
   * by default the same URL; for LogMiner in CDB$ROOT, a common user's URL on the root's service with
   * `pdb` (HIGHWATER_ORACLE_CAPTURE_URL, HIGHWATER_ORACLE_PDB, HIGHWATER_ORACLE_PDB_MINING).
   */
  constructor(
    private readonly url: string,
    options: { readonly name?: string; readonly columnTypes?: readonly LogicalType['kind'][] } = {},
    private readonly capture: Partial<OracleAdapterOptions> = {},
  ) {
    super();
    this.name = options.name ?? 'oracle (server)';
    this.adapterCapabilities = oracleAdapter({ connection: url }).capabilities;
    this.capabilities = {
      columnTypes: options.columnTypes ?? ORACLE_COLUMN_TYPES,
      emptyStringKeys: false,
      commitTimeResolutionMs: 1000,
      openConnections: async () =>
        Number(
          (await this.db.execute("SELECT COUNT(*) AS N FROM V$SESSION WHERE USERNAME = USER AND STATUS <> 'KILLED'"))
            .rows[0]?.N,
        ) - 1,
    };
  }

  private get db(): OracleSession {
    if (this.session === null) throw new Error('the oracle server harness is not started');
    return this.session;
  }

  async start(): Promise<void> {
    this.session = await oracledbConnector(parseOracleUrl(this.url));
    this.owner = String((await this.db.execute('SELECT USER AS U FROM DUAL')).rows[0]?.U);
    await this.db
      .execute('CREATE TABLE "HW_SCRATCH" ("ID" NUMBER(10) PRIMARY KEY, "N" NUMBER(19))')
      .catch((e: { code?: string }) => (e.code === 'ORA-00955' ? undefined : Promise.reject(e)));
    await this.db.execute('ALTER TABLE "HW_SCRATCH" ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS').catch(() => undefined);
    await this.db.execute(
      'MERGE INTO "HW_SCRATCH" t USING DUAL ON (t."ID" = 1) WHEN NOT MATCHED THEN INSERT ("ID", "N") VALUES (1, 0)',
    );
    await this.db.execute('COMMIT');
  }

  async stop(): Promise<void> {
    await this.session?.close();
    this.session = null;
  }

  createAdapter(options: Partial<OracleAdapterOptions> = {}): SourceAdapter<OracleOffset> {
    return oracleAdapter({ connection: this.url, mining: { pollMs: 100 }, ...this.capture, ...options });
  }

  private qualified(table: string): string {
    const dot = table.indexOf('.');
    return `${quoteIdent(table.slice(0, dot))}.${quoteIdent(table.slice(dot + 1))}`;
  }

  async createTable(definition: TableDefinition): Promise<string> {
    const key = definition.primaryKey ?? [];
    const name = `${this.owner}.${definition.name}`;
    const columns = definition.columns.map(
      (c) =>
        `${quoteIdent(c.name)} ${ddlType(c.type)}${c.nullable === false || key.includes(c.name) ? ' NOT NULL' : ''}`,
    );
    if (key.length > 0) columns.push(`PRIMARY KEY (${key.map(quoteIdent).join(', ')})`);
    await this.db.execute(`CREATE TABLE ${this.qualified(name)} (${columns.join(', ')})`);
    await this.db.execute(`ALTER TABLE ${this.qualified(name)} ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS`);
    this.types.set(name, new Map(definition.columns.map((c) => [c.name, c.type])));
    return name;
  }

  private async write(op: WriteOp): Promise<void> {
    const types = this.types.get(op.table);
    const binds: Record<string, BindValue> = {};
    let n = 0;
    const bind = (column: string, value: Value) => {
      const b = bound(value, types?.get(column));
      const name = `b${n++}`;
      binds[name] = b.bind;
      return b.expr(name);
    };
    const where = (key: Row) =>
      Object.entries(key)
        .map(([c, v]) => `${quoteIdent(c)} = ${bind(c, v)}`)
        .join(' AND ');
    const t = this.qualified(op.table);
    let sql: string;
    if (op.op === 'insert') {
      const cols = Object.keys(op.row);
      sql = `INSERT INTO ${t} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map((c) => bind(c, op.row[c] ?? null)).join(', ')})`;
    } else if (op.op === 'update') {
      const sets = Object.entries(op.changes).map(([c, v]) => `${quoteIdent(c)} = ${bind(c, v)}`);
      if (sets.length === 0) return;
      sql = `UPDATE ${t} SET ${sets.join(', ')} WHERE ${where(op.key)}`;
    } else sql = `DELETE FROM ${t} WHERE ${where(op.key)}`;
    await this.db.execute(sql, binds);
  }

  /** Oracle starts a transaction with its first statement: BEGIN is nothing to send. */
  protected async control(statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<unknown> {
    return statement === 'BEGIN' ? undefined : this.db.execute(statement);
  }

  /** A single write commits at once (SingleConnectionWrites runs it outside a transaction). */
  protected async runWrite(op: WriteOp): Promise<void> {
    await this.write(op);
    if (!this.inTransaction) await this.db.execute('COMMIT');
  }

  override async transaction(ops: readonly WriteOp[]): Promise<void> {
    this.inTransaction = true;
    try {
      await super.transaction(ops);
    } finally {
      this.inTransaction = false;
    }
  }

  async readTable(table: string): Promise<readonly Row[]> {
    return readWholeTable(await oracledbConnector(parseOracleUrl(this.url)), table);
  }

  async alterTable(table: string, change: { readonly addColumn: ColumnDefinition }): Promise<void> {
    const c = change.addColumn;
    await this.db.execute(`ALTER TABLE ${this.qualified(table)} ADD (${quoteIdent(c.name)} ${ddlType(c.type)})`);
    this.types.get(table)?.set(c.name, c.type);
  }

  async dropTable(table: string): Promise<void> {
    await this.db
      .execute(`DROP TABLE ${this.qualified(table)} PURGE`)
      .catch((e: { code?: string }) => (e.code === 'ORA-00942' ? undefined : Promise.reject(e)));
  }

  async truncateTable(table: string): Promise<void> {
    await this.db.execute(`TRUNCATE TABLE ${this.qualified(table)}`);
  }

  async moveLog(): Promise<void> {
    await this.db.execute('UPDATE "HW_SCRATCH" SET "N" = "N" + 1 WHERE "ID" = 1');
    await this.db.execute('COMMIT');
  }
}
