import type { LogItem, RowChange, SourceAdapter, TableSchema } from '@highwater/core';
import { describeTable } from '../src/catalog.js';
import { type MiningOptions, type OracleOffset, oracleAdapter, watermarkAt } from '../src/index.js';
import { oracleColumn } from '../src/types/oracle-column.js';
import {
  FAST_LGWR,
  FAST_REDO_FLUSH_MS,
  SimulatedOracle,
  type SimTable,
  type SimulatorOptions,
} from './simulator/database.js';
import { simulatedConnector } from './simulator/session.js';

export const CAPTURE = { user: 'cdc', password: 'secret', connectString: 'simulator:1521/FREEPDB1' };

/** SIMULATOR set-up for the adapter's own tests: a database with SHOP.ORDERS (ID, NOTE) and an adapter on it. */
export function simulatedShop(options: SimulatorOptions = {}, mining: Partial<MiningOptions> = {}) {
  const db = new SimulatedOracle({ ...FAST_LGWR, ...options });
  const orders = db.createTable(
    'SHOP',
    'ORDERS',
    [
      { ...oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }), nullable: false },
      oracleColumn('NOTE', 'VARCHAR2', { length: 4000 }),
    ],
    ['ID'],
  );
  const adapter = oracleAdapter({
    connection: CAPTURE,
    connect: simulatedConnector(db),
    mining: {
      pollMs: 2,
      windowScns: 16,
      minWindowScns: 4,
      maxWindowScns: 64,
      targetRowsPerWindow: 20,
      redoFlushMs: FAST_REDO_FLUSH_MS,
      ...mining,
    },
  });
  return { db, orders, adapter };
}

/** SHOP.DOCS (ID, TITLE, BODY CLOB): for the LOB tests. */
export function createDocs(db: SimulatedOracle): SimTable {
  return db.createTable(
    'SHOP',
    'DOCS',
    [
      { ...oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }), nullable: false },
      oracleColumn('TITLE', 'VARCHAR2', { length: 100 }),
      oracleColumn('BODY', 'CLOB'),
    ],
    ['ID'],
  );
}

export async function schemaOf(db: SimulatedOracle, table: SimTable): Promise<TableSchema> {
  const session = await simulatedConnector(db)(CAPTURE);
  try {
    return await describeTable(session, { schema: table.owner, name: table.name });
  } finally {
    await session.close();
  }
}

/** The position now: everything committed so far is before it. */
export function now(db: SimulatedOracle): OracleOffset {
  return watermarkAt(db.scn, db.oldestOpenStart() ?? db.scn + 1n);
}

/**
 * Reads the log from `from` until the reader reports progress past the database's current SCN,
 * and returns every item but progress (and the last progress offset).
 */
export async function readThrough(
  adapter: SourceAdapter<OracleOffset>,
  db: SimulatedOracle,
  from: OracleOffset,
  tables: readonly TableSchema[],
  onBatch?: (items: readonly LogItem<OracleOffset>[]) => void,
): Promise<{ items: LogItem<OracleOffset>[]; last: OracleOffset | null }> {
  const target = db.scn;
  const reader = await adapter.createLogReader({ from, tables });
  const items: LogItem<OracleOffset>[] = [];
  let last: OracleOffset | null = null;
  try {
    for await (const batch of reader) {
      onBatch?.(batch);
      for (const item of batch) {
        if (item.kind !== 'progress') items.push(item);
        last = item.offset;
      }
      if (last !== null && BigInt(last.commitScn) > target) break;
    }
  } finally {
    await reader.close();
  }
  return { items, last };
}

export function changes(items: readonly LogItem<OracleOffset>[]): RowChange<OracleOffset>[] {
  return items.filter((i): i is RowChange<OracleOffset> => i.kind === 'change');
}
