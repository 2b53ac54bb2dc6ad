import { ConfigError, PermissionError } from '@highwater/core';
import type { OracleSession } from '../session/session.js';

/**
 * Where LogMiner runs when the captured tables live in a pluggable database (PDB) of a multitenant
 * container database (CDB):
 *
 * - `root` — the classic way, every release since 12.1: in a CDB, DBMS_LOGMNR and V$LOGMNR_CONTENTS
 *   work only in CDB$ROOT (Oracle Database Utilities, "The V$LOGMNR_CONTENTS View in a CDB"; inside a
 *   PDB they fail with ORA-65040). The adapter connects to the root's service as a common user
 *   (`C##…`), mines there, keeps only the PDB's records (`SRC_CON_NAME`, the PDB that generated the
 *   record), and reads catalog and table rows in the PDB after `ALTER SESSION SET CONTAINER`.
 * - `pdb` — per-PDB LogMiner (Oracle Database Utilities 19c, "Understanding How to Run LogMiner
 *   Sessions"; DBMS_LOGMNR: from 19c, START_LOGMNR's SCN range supports mining one PDB): connected to
 *   the PDB's own service, START_LOGMNR with an SCN range adds the logs itself (no ADD_LOGFILE), and
 *   V$LOGMNR_CONTENTS holds only that PDB's redo. For users without access to CDB$ROOT (e.g. Autonomous
 *   Database).
 */
export type PdbMining = 'root' | 'pdb';

/** What the log reader needs to know about the container it mines in. */
export interface MiningScope {
  /** Add the window's logs with DBMS_LOGMNR.ADD_LOGFILE (false: START_LOGMNR finds them, per-PDB). */
  readonly addLogfiles: boolean;
  /** Keep only records of this PDB (`SRC_CON_NAME = :pdb`): mining in CDB$ROOT for one PDB. */
  readonly sourcePdb: string | null;
}

export const NON_CDB: MiningScope = { addLogfiles: true, sourcePdb: null };

/** An unquoted Oracle identifier: what a PDB name is (upper-cased as Oracle stores it). */
const PDB_NAME = /^[A-Za-z][A-Za-z0-9_$#]{0,127}$/;

export interface ContainerPlan {
  readonly scope: MiningScope;
  /** The PDB catalog and chunk sessions switch into (`root` mining), or null when they are already there. */
  readonly switchTo: string | null;
}

export function containerPlan(pdb: string | undefined, mining: PdbMining | undefined): ContainerPlan {
  if (pdb === undefined) {
    if (mining !== undefined)
      throw new ConfigError(`oracle: pdbMining: '${mining}' needs pdb: the name of the pluggable database to capture`);
    return { scope: NON_CDB, switchTo: null };
  }
  if (!PDB_NAME.test(pdb))
    throw new ConfigError(
      `oracle: pdb ${JSON.stringify(pdb)} is not a pluggable database name (letters, digits, _ $ #, starting with a letter)`,
    );
  const name = pdb.toUpperCase();
  if (mining === 'pdb') return { scope: { addLogfiles: false, sourcePdb: null }, switchTo: null };
  return { scope: { addLogfiles: true, sourcePdb: name }, switchTo: name };
}

/** `ALTER SESSION SET CONTAINER = pdb`, its refusals said as the fix. */
export async function enterPdb(session: OracleSession, pdb: string): Promise<void> {
  try {
    await session.execute(`ALTER SESSION SET CONTAINER = ${pdb}`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ORA-01031')
      throw new PermissionError(
        `oracle: the capture user may not switch into ${pdb} (ORA-01031). Mining in CDB$ROOT needs a common user: ` +
          `CREATE USER C##HIGHWATER … CONTAINER=ALL; GRANT CREATE SESSION, SET CONTAINER, LOGMINING, … TO C##HIGHWATER CONTAINER=ALL ` +
          '(docs/adapters/oracle.md, "Pluggable databases").',
        { cause: error },
      );
    if (code === 'ORA-65011' || code === 'ORA-65090')
      throw new ConfigError(
        `oracle: cannot switch into pluggable database ${pdb}: ${error instanceof Error ? error.message : String(error)}. ` +
          'Check the pdb option (SELECT NAME FROM V$PDBS in CDB$ROOT lists them); leave it out for a non-CDB.',
        { cause: error },
      );
    throw error;
  }
}
