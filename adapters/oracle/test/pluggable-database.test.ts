import { createSource, type SourceEvent } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { type OracleAdapterOptions, oracleAdapter, oracleColumn } from '../src/index.js';
import {
  FAST_LGWR,
  FAST_REDO_FLUSH_MS,
  FULL_PRIVILEGES,
  SimulatedOracle,
  type SimulatorOptions,
} from './simulator/database.js';
import { simulatedConnector } from './simulator/session.js';

type Change = Extract<SourceEvent, { kind: 'change' }>;

/**
 * A multitenant database (SIMULATOR): PDB1 and PDB2 both hold SHOP.ORDERS, so a reader that does not
 * keep to its PDB's redo shows it at once. The common user C##CDC may SET CONTAINER; `cdc` is local.
 */
function cdb(options: SimulatorOptions = {}) {
  const db = new SimulatedOracle({ pdbs: ['PDB1', 'PDB2'], ...FAST_LGWR, ...options });
  db.users.set('C##CDC', { password: 'secret', privileges: new Set([...FULL_PRIVILEGES, 'SET CONTAINER']) });
  const columns = () => [
    { ...oracleColumn('ID', 'NUMBER', { precision: 10, scale: 0 }), nullable: false },
    oracleColumn('NOTE', 'VARCHAR2', { length: 100 }),
  ];
  const pdb1 = db.createTable('SHOP', 'ORDERS', columns(), ['ID'], 'PDB1');
  const pdb2 = db.createTable('SHOP', 'ORDERS', columns(), ['ID'], 'PDB2');
  for (let i = 1; i <= 3; i++) {
    db.transaction((tx) => db.insert(tx, pdb1, { ID: String(i), NOTE: `pdb1 ${i}` }));
    db.transaction((tx) => db.insert(tx, pdb2, { ID: String(100 + i), NOTE: `pdb2 ${i}` }));
  }
  const adapter = (user: string, service: string, options: Partial<OracleAdapterOptions>) =>
    oracleAdapter({
      connection: { user, password: 'secret', connectString: `simulator:1521/${service}` },
      connect: simulatedConnector(db),
      mining: { pollMs: 2, windowScns: 16, redoFlushMs: FAST_REDO_FLUSH_MS },
      ...options,
    });
  return { db, pdb1, pdb2, adapter };
}

/** Snapshot of PDB1's SHOP.ORDERS, then the stream while both PDBs change, until `count` changes arrived. */
async function capture(
  ctx: ReturnType<typeof cdb>,
  options: Partial<OracleAdapterOptions>,
  user: string,
  service: string,
) {
  const { db, pdb1, pdb2 } = ctx;
  const source = createSource({ adapter: ctx.adapter(user, service, options), tables: { include: ['SHOP.ORDERS'] } });
  const events: Change[] = [];
  try {
    await source.start();
    const batches = source[Symbol.asyncIterator]();
    let wrote = false;
    while (events.length < 6) {
      const next = await batches.next();
      if (next.done === true) throw new Error('the source ended');
      for (const e of next.value.events) if (e.kind === 'change') events.push(e);
      if (!wrote && events.length >= 3) {
        wrote = true;
        // Interleaved transactions in both PDBs, one rolled back in PDB1.
        const t1 = db.begin();
        const t2 = db.begin();
        db.insert(t1, pdb1, { ID: '4', NOTE: 'pdb1 stream' });
        db.insert(t2, pdb2, { ID: '104', NOTE: 'pdb2 stream' });
        db.update(t1, pdb1, { ID: '1' }, { NOTE: 'pdb1 changed' });
        db.commit(t2);
        db.commit(t1);
        const gone = db.begin();
        db.insert(gone, pdb1, { ID: '5', NOTE: 'rolled back' });
        db.rollback(gone);
        db.transaction((tx) => db.delete(tx, pdb2, { ID: '101' }));
        db.transaction((tx) => db.delete(tx, pdb1, { ID: '2' }));
      }
    }
  } finally {
    await source.close();
  }
  expect(db.openSessions).toBe(0);
  return events.map((e) => [e.op, e.after?.ID ?? e.before?.ID, e.after?.NOTE ?? null]);
}

const EXPECTED = [
  ['r', 1, 'pdb1 1'],
  ['r', 2, 'pdb1 2'],
  ['r', 3, 'pdb1 3'],
  ['c', 4, 'pdb1 stream'],
  ['u', 1, 'pdb1 changed'],
  ['d', 2, null],
];

describe('Oracle multitenant: capturing one pluggable database (simulator)', () => {
  it("pdb: LogMiner in CDB$ROOT as a common user keeps the PDB's records only; tables are read inside the PDB", async () => {
    expect(await capture(cdb(), { pdb: 'pdb1' }, 'C##CDC', 'FREE')).toEqual(EXPECTED);
  });

  it("pdbMining: 'pdb': per-PDB LogMiner on the PDB's own service (no ADD_LOGFILE), the view holding that PDB's redo", async () => {
    expect(await capture(cdb(), { pdb: 'PDB1', pdbMining: 'pdb' }, 'cdc', 'PDB1')).toEqual(EXPECTED);
  });

  it('connected to a PDB without the option: ConfigError saying to mine in CDB$ROOT with pdb, or per PDB', async () => {
    const ctx = cdb({ perPdbMining: false });
    const adapter = ctx.adapter('cdc', 'PDB1', {});
    const introspector = await adapter.createIntrospector();
    const [schema] = await introspector.describeTables([{ schema: 'SHOP', name: 'ORDERS' }]);
    await introspector.close();
    const reader = await adapter.createLogReader({
      from: { commitScn: '1', txSeq: -1, index: -1, restartScn: '1', thread: 1, threads: {} },
      tables: [schema!],
    });
    try {
      await expect(reader[Symbol.asyncIterator]().next()).rejects.toMatchObject({
        code: 'HW_CONFIG',
        message: expect.stringMatching(/ORA-65040.*common user \(C##…\).*pdb option.*pdbMining: 'pdb'/),
      });
    } finally {
      await reader.close();
    }
    // Per-PDB mining on a release without it fails the same way.
    const perPdb = ctx.adapter('cdc', 'PDB1', { pdb: 'PDB1', pdbMining: 'pdb' });
    const r2 = await perPdb.createLogReader({
      from: { commitScn: '1', txSeq: -1, index: -1, restartScn: '1', thread: 1, threads: {} },
      tables: [schema!],
    });
    try {
      await expect(r2[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'HW_CONFIG' });
    } finally {
      await r2.close();
    }
  });

  it('a local user cannot switch containers, an unknown PDB is named, a bad name is refused before connecting', async () => {
    const ctx = cdb();
    ctx.db.users.set('local', { password: 'secret', privileges: FULL_PRIVILEGES });
    await expect(ctx.adapter('local', 'FREE', { pdb: 'PDB1' }).createIntrospector()).rejects.toMatchObject({
      code: 'HW_PERMISSION_DENIED',
      message: expect.stringMatching(/may not switch into PDB1 \(ORA-01031\).*C##HIGHWATER.*SET CONTAINER/),
    });
    await expect(ctx.adapter('C##CDC', 'FREE', { pdb: 'PDB9' }).createIntrospector()).rejects.toMatchObject({
      code: 'HW_CONFIG',
      message: expect.stringMatching(/PDB9.*V\$PDBS/),
    });
    expect(() => ctx.adapter('C##CDC', 'FREE', { pdb: 'PDB1; DROP' })).toThrow(/not a pluggable database name/);
    expect(() => ctx.adapter('C##CDC', 'FREE', { pdbMining: 'pdb' })).toThrow(/needs pdb/);
    expect(ctx.db.openSessions).toBe(0);
  });
});
