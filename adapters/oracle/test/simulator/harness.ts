import type { AdapterCapabilities, JsonValue, LogicalType, Row, SourceAdapter, Value } from '@highwater/core';
import type {
  ColumnDefinition,
  ConformanceHarness,
  HarnessCapabilities,
  TableDefinition,
  WriteOp,
} from '@highwater/conformance';
import {
  type OracleAdapterOptions,
  type OracleOffset,
  oracleAdapter,
  oracleOffsets,
  watermarkAt,
} from '../../src/index.js';
import { type OracleColumn, oracleColumn } from '../../src/types/oracle-column.js';
import { readWholeTable } from '../read-table.js';
import {
  FAST_LGWR,
  FAST_REDO_FLUSH_MS,
  FULL_PRIVILEGES,
  SimulatedOracle,
  type SimTable,
  type SimTransaction,
  type SimulatorOptions,
} from './database.js';
import { simulatedConnector } from './session.js';
import { encodeValue, type Raw } from './values.js';

export const SUITE_OWNER = 'CONFORMANCE';

/** The Oracle column a logical type is stored in (see docs/adapters/oracle.md, "Type mapping"). */
export function oracleColumnFor(name: string, type: LogicalType, nullable: boolean): OracleColumn {
  const c = (dataType: string, precision?: number, scale?: number, length?: number) =>
    oracleColumn(
      name,
      dataType,
      {
        ...(precision === undefined ? {} : { precision }),
        ...(scale === undefined ? {} : { scale }),
        ...(length === undefined ? {} : { length }),
      },
      nullable,
    );
  switch (type.kind) {
    case 'int16':
      return c('NUMBER', 5, 0);
    case 'int32':
      return c('NUMBER', 10, 0);
    case 'int64':
      return c('NUMBER', 19, 0);
    case 'float32':
      return c('BINARY_FLOAT');
    case 'float64':
      return c('BINARY_DOUBLE');
    case 'decimal':
      return type.precision === undefined ? c('NUMBER') : c('NUMBER', type.precision, type.scale ?? 0);
    case 'string':
      return c('VARCHAR2', undefined, undefined, type.length ?? 1000);
    case 'bytes':
      return c('RAW', undefined, undefined, 2000);
    case 'timestamp':
      return c(`TIMESTAMP(${type.precision ?? 6})`);
    case 'timestamptz':
      return c(`TIMESTAMP(${type.precision ?? 6}) WITH TIME ZONE`);
    default:
      throw new Error(`the oracle simulator harness does not map ${type.kind}`);
  }
}

/**
 * The logical types `oracleColumnFor` maps. Oracle has no boolean (before 23ai), time, uuid or json
 * column here; DATE holds a time, so logical `date` is not offered either. See docs/adapters/oracle.md.
 */
export const ORACLE_COLUMN_TYPES: readonly LogicalType['kind'][] = [
  'int16',
  'int32',
  'int64',
  'float32',
  'float64',
  'decimal',
  'string',
  'bytes',
  'timestamp',
  'timestamptz',
];

const CAPTURE = { user: 'cdc', password: 'secret', connectString: 'simulator:1521/FREEPDB1' };

/**
 * The conformance harness for `@highwater/oracle` on the SIMULATOR (`SimulatedOracle`): tables in
 * owner CONFORMANCE, a scratch table HARNESS.SCRATCH for `moveLog`. Writes go straight into the
 * simulated database (its own API, not the adapter); `readTable` reads through a flashback chunk
 * read, the snapshot path that value-types checks against the written values.
 */
export class OracleSimulatorHarness implements ConformanceHarness<OracleOffset, Partial<OracleAdapterOptions>> {
  readonly name: string;
  readonly adapterCapabilities: AdapterCapabilities = oracleAdapter({ connection: CAPTURE }).capabilities;
  readonly capabilities: HarnessCapabilities;
  private database: SimulatedOracle | null = null;

  constructor(
    private readonly options: {
      readonly name?: string;
      readonly columnTypes?: readonly LogicalType['kind'][];
      readonly simulator?: SimulatorOptions;
      /**
       * A multitenant database: the suite's tables in the pluggable database FREEPDB1, captured by the
       * common user C##CDC connected to the root's service with `pdb: 'FREEPDB1'` (LogMiner in CDB$ROOT).
       */
      readonly cdb?: boolean;
    } = {},
  ) {
    this.name = options.name ?? 'oracle (simulator)';
    // Cases this leaves out, and why:
    // - keys-uuid: Oracle has no UUID type (RAW(16) holds one as bytes), so no column maps to uuid;
    // - snapshot-visibility-lag (no `visibilityLag`): chunks are flashback reads AS OF an SCN, and an
    //   Oracle consistent read at SCN s sees every transaction committed at or before s (Oracle
    //   Database Concepts, "Data Concurrency and Consistency", statement-level read consistency;
    //   flashback query reads the data as of that SCN): there is no logged-but-invisible commit to
    //   hold, so the simulator has none. The opposite race, a commit visible before its redo is in the
    //   online log, is a limit documented in docs/adapters/oracle.md, not simulated.
    // - value-types runs on a table without string/bytes columns (see oracle-simulator.conformance.test.ts).
    this.capabilities = {
      columnTypes: options.columnTypes ?? ORACLE_COLUMN_TYPES,
      openConnections: async () => this.db.openSessions,
      emptyStringKeys: false,
      // V$LOGMNR_CONTENTS.TIMESTAMP is a DATE: whole seconds.
      commitTimeResolutionMs: 1000,
    };
  }

  get db(): SimulatedOracle {
    if (this.database === null) throw new Error('the oracle simulator harness is not started');
    return this.database;
  }

  async start(): Promise<void> {
    const db = new SimulatedOracle({
      recordsPerLog: 300,
      csfBytes: 400,
      ...FAST_LGWR,
      ...(this.options.cdb === true ? { pdbs: ['FREEPDB1', 'OTHERPDB'] } : {}),
      ...this.options.simulator,
    });
    db.users.set('C##CDC', { password: 'secret', privileges: new Set([...FULL_PRIVILEGES, 'SET CONTAINER']) });
    const scratch = db.createTable(
      'HARNESS',
      'SCRATCH',
      [oracleColumnFor('ID', { kind: 'int32' }, false), oracleColumnFor('N', { kind: 'int64' }, true)],
      ['ID'],
    );
    db.transaction((tx) => db.insert(tx, scratch, { ID: '1', N: '0' }));
    this.database = db;
  }

  async stop(): Promise<void> {
    this.database = null;
  }

  createAdapter(options: Partial<OracleAdapterOptions> = {}): SourceAdapter<OracleOffset> {
    const cdb = this.options.cdb === true;
    return oracleAdapter({
      connection: cdb ? { ...CAPTURE, user: 'C##CDC', connectString: 'simulator:1521/FREE' } : CAPTURE,
      ...(cdb ? { pdb: 'FREEPDB1' } : {}),
      connect: simulatedConnector(this.db),
      mining: {
        pollMs: 5,
        windowScns: 64,
        minWindowScns: 16,
        maxWindowScns: 4096,
        targetRowsPerWindow: 200,
        redoFlushMs: FAST_REDO_FLUSH_MS,
      },
      ...options,
    });
  }

  async createUnprivilegedAdapter(): Promise<SourceAdapter<OracleOffset>> {
    this.db.users.set('app', { password: 'app', privileges: new Set(['CREATE SESSION']) });
    return oracleAdapter({
      connection: { ...CAPTURE, user: 'app', password: 'app' },
      connect: simulatedConnector(this.db),
    });
  }

  async createTable(definition: TableDefinition): Promise<string> {
    const key = definition.primaryKey ?? [];
    const columns = definition.columns.map((c) =>
      oracleColumnFor(c.name, c.type, c.nullable !== false && !key.includes(c.name)),
    );
    this.db.createTable(SUITE_OWNER, definition.name, columns, key);
    return `${SUITE_OWNER}.${definition.name}`;
  }

  private table(name: string): SimTable {
    const [owner, table] = name.split('.') as [string, string];
    return this.db.table(owner, table);
  }

  private encode(table: SimTable, row: Row): Record<string, Raw> {
    const out: Record<string, Raw> = {};
    for (const [name, value] of Object.entries(row)) {
      const column = table.columns.find((c) => c.name === name);
      if (column === undefined) throw new Error(`no column ${name} in ${table.name}`);
      out[name] = encodeValue(column, value as Value);
    }
    return out;
  }

  private apply(tx: SimTransaction, op: WriteOp): void {
    const t = this.table(op.table);
    if (op.op === 'insert') this.db.insert(tx, t, this.encode(t, op.row));
    else if (op.op === 'update') this.db.update(tx, t, this.encode(t, op.key), this.encode(t, op.changes));
    else this.db.delete(tx, t, this.encode(t, op.key));
  }

  async insert(table: string, row: Row): Promise<void> {
    await this.transaction([{ op: 'insert', table, row }]);
  }

  async update(table: string, key: Row, changes: Row): Promise<void> {
    await this.transaction([{ op: 'update', table, key, changes }]);
  }

  async delete(table: string, key: Row): Promise<void> {
    await this.transaction([{ op: 'delete', table, key }]);
  }

  async transaction(ops: readonly WriteOp[]): Promise<void> {
    this.db.transaction((tx) => {
      for (const op of ops) this.apply(tx, op);
    });
  }

  async readTable(table: string): Promise<readonly Row[]> {
    return readWholeTable(await simulatedConnector(this.db)(CAPTURE), table);
  }

  async alterTable(table: string, change: { readonly addColumn: ColumnDefinition }): Promise<void> {
    const c = change.addColumn;
    this.db.addColumn(this.table(table), oracleColumnFor(c.name, c.type, true));
  }

  async dropTable(table: string): Promise<void> {
    const [owner, name] = table.split('.') as [string, string];
    const t = this.db.findTable(owner, name);
    if (t !== null) this.db.dropTable(t);
  }

  async truncateTable(table: string): Promise<void> {
    this.db.truncate(this.table(table));
  }

  async moveLog(): Promise<void> {
    const scratch = this.db.table('HARNESS', 'SCRATCH');
    this.db.transaction((tx) => {
      const n = BigInt(String(this.db.rows(scratch, tx)[0]?.[1].N ?? '0'));
      this.db.update(tx, scratch, { ID: '1' }, { N: String(n + 1n) });
    });
  }

  /** Switches logs until the current position's log left the online groups, then deletes the archived copies. */
  async loseLogBefore(): Promise<JsonValue> {
    const gone = watermarkAt(this.db.scn, this.db.scn + 1n);
    await this.moveLog();
    for (let i = 0; i < 4; i++) {
      this.db.switchLogfile();
      await this.moveLog();
    }
    const current = this.db.logs[this.db.logs.length - 1];
    this.db.purgeArchivedBefore(current?.sequence ?? 0);
    return oracleOffsets.toJSON(gone);
  }
}
