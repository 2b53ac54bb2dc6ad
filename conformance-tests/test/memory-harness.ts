import type { AdapterCapabilities, JsonValue, LogicalType, Row, SourceAdapter, Value } from '@highwater/core';
import { type MemoryAdapterOptions, MemoryDatabase, memoryAdapter } from '@highwater/memory';
import type {
  ColumnDefinition,
  ConformanceHarness,
  HarnessCapabilities,
  TableDefinition,
  WriteOp,
} from '../src/index.js';

/** Every logical kind the memory database stores (it checks and canonicalises each). */
const COLUMN_TYPES: readonly LogicalType['kind'][] = [
  'boolean',
  'int16',
  'int32',
  'int64',
  'uint64',
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
  'interval',
  'enum',
  'set',
  'bits',
  'array',
];

const SCRATCH = 'harness.scratch';

export interface MemoryHarnessOptions {
  /** Shown in test titles (default `memory`). */
  readonly name?: string;
  /** Options for every adapter this harness creates (merged under `ConformanceConfig.adapterOptions`). */
  readonly adapter?: MemoryAdapterOptions;
}

/**
 * The conformance harness for `@highwater/memory`: a fresh `MemoryDatabase` per `start()`, tables
 * in schema `conformance`, and the database's fault injection as the visibility-lag capability.
 *
 * It lives in this package's tests rather than in `src/`: the conformance package must not depend
 * on any adapter at runtime, and this file is the worked example plugin authors copy (see README).
 */
export class MemoryHarness implements ConformanceHarness<number, MemoryAdapterOptions> {
  readonly name: string;
  readonly adapterCapabilities: AdapterCapabilities = memoryAdapter(new MemoryDatabase()).capabilities;
  readonly capabilities: HarnessCapabilities;
  private database: MemoryDatabase | null = null;

  constructor(private readonly options: MemoryHarnessOptions = {}) {
    this.name = options.name ?? 'memory';
    this.capabilities = {
      columnTypes: COLUMN_TYPES,
      visibilityLag: {
        hold: () => {
          this.db.faults.visibilityLag = { holdCommits: true };
        },
        release: () => {
          if (this.database === null) return;
          this.database.faults.visibilityLag = null;
          this.database.faults.releaseHeldCommits();
        },
      },
      openConnections: async () => this.db.openConnections().length,
    };
  }

  /** The running database (for tests that look inside). */
  get db(): MemoryDatabase {
    if (this.database === null) throw new Error('the memory harness is not started');
    return this.database;
  }

  async start(): Promise<void> {
    const db = new MemoryDatabase();
    db.createTable({
      name: SCRATCH,
      columns: [
        { name: 'id', type: { kind: 'int32' } },
        { name: 'n', type: { kind: 'int64' } },
      ],
      primaryKey: ['id'],
    });
    db.insert(SCRATCH, { id: 1, n: 0 });
    this.database = db;
  }

  async stop(): Promise<void> {
    this.database = null;
  }

  createAdapter(options: MemoryAdapterOptions = {}): SourceAdapter<number> {
    return memoryAdapter(this.db, { ...this.options.adapter, ...options });
  }

  async createTable(definition: TableDefinition): Promise<string> {
    const name = `conformance.${definition.name}`;
    this.db.createTable({
      name,
      columns: definition.columns.map(column),
      ...(definition.primaryKey === undefined ? {} : { primaryKey: definition.primaryKey }),
    });
    return name;
  }

  async insert(table: string, row: Row): Promise<void> {
    this.db.insert(table, row);
  }

  async update(table: string, key: Row, changes: Row): Promise<void> {
    this.db.update(table, this.keyOf(table, key), changes);
  }

  async delete(table: string, key: Row): Promise<void> {
    this.db.delete(table, this.keyOf(table, key));
  }

  async transaction(ops: readonly WriteOp[]): Promise<void> {
    this.db.transactionSync((tx) => {
      for (const op of ops) {
        if (op.op === 'insert') tx.insert(op.table, op.row);
        else if (op.op === 'update') tx.update(op.table, this.keyOf(op.table, op.key), op.changes);
        else tx.delete(op.table, this.keyOf(op.table, op.key));
      }
    });
  }

  async readTable(table: string): Promise<readonly Row[]> {
    return this.db.snapshotRows(table);
  }

  async alterTable(table: string, change: { readonly addColumn: ColumnDefinition }): Promise<void> {
    this.db.alterTable(table, { addColumn: column(change.addColumn) });
  }

  async dropTable(table: string): Promise<void> {
    if (this.database?.hasTable(table) === true) this.database.dropTable(table);
  }

  async truncateTable(table: string): Promise<void> {
    this.db.truncate(table);
  }

  async moveLog(): Promise<void> {
    this.db.update(SCRATCH, [1], (row) => ({ n: (row.n as number) + 1 }));
  }

  async loseLogBefore(): Promise<JsonValue> {
    const db = this.db;
    const gone = db.logStart();
    await this.moveLog();
    await this.moveLog();
    // Everything before the last entry goes: a reader after `gone` (or any older position) now fails.
    db.truncateLogBefore(db.logEnd());
    return gone;
  }

  private keyOf(table: string, key: Row): Value[] {
    return this.db.schemaOf(table).primaryKey.map((c) => key[c] ?? null);
  }
}

function column(c: ColumnDefinition): { name: string; type: LogicalType; nullable: boolean } {
  return { name: c.name, type: c.type, nullable: c.nullable ?? true };
}
