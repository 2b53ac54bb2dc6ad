import {
  AdapterError,
  ConfigError,
  ConnectionLostError,
  HighwaterError,
  OffsetUnavailableError,
  PermissionError,
} from '@highwater/core';

/** The fields node-oracledb (and the simulator) put on an error. */
function codeOf(error: unknown): string {
  const e = error as { code?: unknown; errorNum?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.errorNum === 'number') return `ORA-${String(e.errorNum).padStart(5, '0')}`;
  const m = typeof e?.message === 'string' ? /\b(ORA|NJS|DPI)-\d{3,5}\b/.exec(e.message) : null;
  return m?.[0] ?? '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

/**
 * Log positions LogMiner cannot reach any more: the log files are gone (purged or never archived)
 * or do not cover the SCN asked for. See "ORA-01291: missing logfile" and its neighbours in
 * Oracle Database Error Messages.
 */
const LOGS_GONE = new Set(['ORA-01291', 'ORA-01292', 'ORA-01284', 'ORA-00308', 'ORA-01289', 'ORA-01371']);

/** The listener cannot be reached or the connection broke (node-oracledb's NJS-5xx network errors). */
const NETWORK = new Set([
  'NJS-500',
  'NJS-501',
  'NJS-503',
  'NJS-510',
  'NJS-511',
  'NJS-521',
  'ORA-03113',
  'ORA-03114',
  'ORA-03135',
  'ORA-12170',
  'ORA-12541',
  'ORA-12514',
  'ORA-12537',
]);

const GRANTS =
  'GRANT CREATE SESSION, LOGMINING, SELECT ANY TRANSACTION, SELECT_CATALOG_ROLE, EXECUTE_CATALOG_ROLE, FLASHBACK ANY TABLE TO <user>; ' +
  'GRANT SELECT ON V_$DATABASE, V_$LOG, V_$LOGFILE, V_$ARCHIVED_LOG, V_$LOGMNR_CONTENTS, V_$LOGMNR_LOGS, V_$TRANSACTION, V_$THREAD TO <user>; ' +
  'and SELECT on every captured table';

/**
 * Oracle's and node-oracledb's errors as Highwater errors that say what to do; the original stays
 * as `cause`. `where` names the operation (`connect`, `mine`, `readChunk`). Never includes a password:
 * messages are the server's, which do not echo it.
 */
export function toHighwaterError(error: unknown, where: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const code = codeOf(error);
  const text = messageOf(error);
  if (LOGS_GONE.has(code)) {
    return new OffsetUnavailableError(
      `oracle ${where}: the redo/archive logs for this position are gone (${text}). Resume from a newer checkpoint or take a new snapshot; keep archived logs longer (RMAN retention) so the pipeline can catch up.`,
      { cause: error },
    );
  }
  if (NETWORK.has(code)) {
    return new ConnectionLostError(
      `oracle ${where}: cannot reach the database (${text}). Check the host, port and service name, that the listener runs (lsnrctl status) and that no firewall blocks the port.`,
      { cause: error },
    );
  }
  if (code === 'ORA-01017' || code === 'ORA-28000' || code === 'ORA-28001' || code === 'ORA-01005') {
    return new PermissionError(
      `oracle ${where}: the database refused the credentials (${text}). Check the user name and password (and that the account is not locked or expired).`,
      { cause: error },
    );
  }
  if (
    code === 'ORA-01031' ||
    code === 'ORA-00942' ||
    code === 'ORA-01435' ||
    code === 'ORA-06550' ||
    code === 'ORA-04043'
  ) {
    return new PermissionError(
      `oracle ${where}: missing privilege or view (${text}). The capture user needs: ${GRANTS}.`,
      { cause: error },
    );
  }
  if (code === 'ORA-65040') {
    return new ConfigError(
      `oracle ${where}: LogMiner refused to run inside a pluggable database (${text}). Connect to the CDB root's service ` +
        "as a common user (C##…) and set the adapter's pdb option to the PDB's name, or on Oracle 19c and later set " +
        'pdb and pdbMining: \'pdb\' to use per-PDB LogMiner (docs/adapters/oracle.md, "Pluggable databases").',
      { cause: error },
    );
  }
  if (code === 'NJS-007' || code === 'NJS-004' || code === 'NJS-125') {
    return new ConfigError(`oracle ${where}: invalid connection settings (${text})`, { cause: error });
  }
  return new AdapterError(`oracle ${where}: ${text}`, { cause: error, retriable: false });
}

export { GRANTS };
