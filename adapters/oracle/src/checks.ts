import { PermissionError, type TableSchema } from '@highwater/core';
import type { OracleSession } from './session/session.js';
import { SQL } from './sql/statements.js';
import { GRANTS } from './errors.js';

/**
 * What LogMiner capture needs from the database, checked before anything runs, each failure saying
 * the fix: ARCHIVELOG mode (otherwise redo is overwritten before it can be mined), minimal
 * supplemental logging (otherwise SQL_REDO lacks what identifies rows), and the LogMiner grants.
 */
export async function checkDatabase(session: OracleSession): Promise<{ allColumnsLogged: boolean }> {
  const db = (await session.execute(SQL.database)).rows[0] ?? {};
  if (db.LOG_MODE !== 'ARCHIVELOG') {
    throw new PermissionError(
      `oracle: the database is in ${String(db.LOG_MODE)} mode; LogMiner capture needs ARCHIVELOG mode. As SYSDBA: ` +
        'SHUTDOWN IMMEDIATE; STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER DATABASE OPEN; (and size DB_RECOVERY_FILE_DEST_SIZE for the archive).',
    );
  }
  if (db.SUPPLEMENTAL_LOG_DATA_MIN === 'NO') {
    throw new PermissionError(
      'oracle: supplemental logging is off. Run ALTER DATABASE ADD SUPPLEMENTAL LOG DATA; and for each captured table ' +
        'ALTER TABLE <owner>.<table> ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS; (or ALTER DATABASE ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;).',
    );
  }
  const privileges = new Set((await session.execute(SQL.sessionPrivileges)).rows.map((r) => String(r.PRIVILEGE)));
  const missing = ['LOGMINING', 'SELECT ANY TRANSACTION', 'FLASHBACK ANY TABLE'].filter((p) => !privileges.has(p));
  if (missing.length > 0) {
    throw new PermissionError(`oracle: the capture user lacks ${missing.join(', ')}. Grant: ${GRANTS}.`);
  }
  return { allColumnsLogged: db.SUPPLEMENTAL_LOG_DATA_ALL === 'YES' };
}

/** With only minimal database-level logging, every captured table needs ALL COLUMNS logging (full before-images). */
export async function checkTableLogging(session: OracleSession, tables: readonly TableSchema[]): Promise<void> {
  const missing: string[] = [];
  for (const t of tables) {
    const groups = (await session.execute(SQL.logGroups, { owner: t.id.schema ?? '', name: t.id.name })).rows;
    if (!groups.some((g) => g.LOG_GROUP_TYPE === 'ALL COLUMN LOGGING')) missing.push(`"${t.id.schema}"."${t.id.name}"`);
  }
  if (missing.length > 0) {
    throw new PermissionError(
      `oracle: supplemental logging of all columns is off for ${missing.join(', ')}. Run ${missing
        .map((t) => `ALTER TABLE ${t} ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;`)
        .join(' ')}`,
    );
  }
}
