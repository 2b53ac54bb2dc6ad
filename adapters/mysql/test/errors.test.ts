import {
  createSource,
  type HighwaterError,
  MissingKeyError,
  PermissionError,
  TableNotFoundError,
} from '@highwater/core';
import { startMariadb } from '@highwater/test-servers';
import { describe, expect, it } from 'vitest';
import { mysqlAdapter } from '../src/index.js';
import { useMariadb } from './helpers.js';

const db = useMariadb();

async function failure(run: () => Promise<unknown>): Promise<HighwaterError> {
  try {
    await run();
  } catch (error) {
    return error as HighwaterError;
  }
  throw new Error('expected a failure');
}

/** A user with exactly these grants (and no others), as a connection URL. */
async function userWith(name: string, grants: readonly string[]): Promise<string> {
  const sql = db.sql();
  await sql.query(`CREATE USER IF NOT EXISTS '${name}'@'%'`);
  for (const g of grants) await sql.query(`GRANT ${g} TO '${name}'@'%'`);
  const url = new URL(db.server().url);
  url.username = name;
  url.password = '';
  return url.toString();
}

async function withGlobal(name: string, value: string, body: () => Promise<void>): Promise<void> {
  const sql = db.sql();
  const [rows] = await sql.query(`SELECT @@GLOBAL.${name} AS v`);
  const old = String((rows as { v: string }[])[0]?.v);
  await sql.query(`SET GLOBAL ${name} = ?`, [value]);
  try {
    await body();
  } finally {
    await sql.query(`SET GLOBAL ${name} = ?`, [old]);
  }
}

describe('errors say what to run', () => {
  it('binlog off', async () => {
    const server = await startMariadb({ useEnv: false, args: ['--skip-log-bin'] });
    try {
      const error = await failure(() => mysqlAdapter({ connection: server.url }).createIntrospector());
      expect(error).toBeInstanceOf(PermissionError);
      expect(error.message).toMatch(/log_bin is OFF.*--log-bin/);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('binlog_format not ROW', async () => {
    await withGlobal('binlog_format', 'STATEMENT', async () => {
      const error = await failure(() => mysqlAdapter({ connection: db.server().url }).createIntrospector());
      expect(error).toBeInstanceOf(PermissionError);
      expect(error.message).toContain("SET GLOBAL binlog_format = 'ROW'");
    });
  });

  it('binlog_row_image not FULL', async () => {
    await withGlobal('binlog_row_image', 'MINIMAL', async () => {
      const adapter = mysqlAdapter({ connection: db.server().url });
      const error = await failure(() => adapter.createIntrospector());
      expect(error).toBeInstanceOf(PermissionError);
      expect(error.message).toContain("SET GLOBAL binlog_row_image = 'FULL'");
    });
  });

  it('a user lacking several privileges learns of all of them in one error, with one GRANT', async () => {
    const url = await userWith('several', ['SELECT ON highwater.*']);
    const error = await failure(() => mysqlAdapter({ connection: url }).createIntrospector());
    expect(error).toBeInstanceOf(PermissionError);
    for (const privilege of ['REPLICATION SLAVE, to read the binlog', 'REPLICATION CLIENT, to', 'PROCESS, to']) {
      expect(error.message).toContain(privilege);
    }
    expect(error.message).toContain("GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'several'@'%';");
  });

  it('names only what is missing: PROCESS alone', async () => {
    const url = await userWith('no_process', ['SELECT ON highwater.*', 'REPLICATION SLAVE, REPLICATION CLIENT ON *.*']);
    const error = await failure(() => mysqlAdapter({ connection: url }).createIntrospector());
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.message).toContain("GRANT PROCESS ON *.* TO 'no_process'@'%';");
    expect(error.message).not.toContain('REPLICATION SLAVE');
  });

  it('counts privileges granted through a default role', async () => {
    const sql = db.sql();
    await sql.query('CREATE ROLE IF NOT EXISTS cdc_role');
    await sql.query('GRANT REPLICATION SLAVE, BINLOG MONITOR, PROCESS ON *.* TO cdc_role');
    const url = await userWith('through_role', ['SELECT ON highwater.*', 'cdc_role']);
    await sql.query("SET DEFAULT ROLE cdc_role FOR 'through_role'@'%'");
    const introspector = await mysqlAdapter({ connection: url }).createIntrospector();
    await introspector.close();
  });

  it('reports every binlog setting that is wrong at once', async () => {
    await withGlobal('binlog_format', 'STATEMENT', () =>
      withGlobal('binlog_row_image', 'MINIMAL', async () => {
        const error = await failure(() => mysqlAdapter({ connection: db.server().url }).createIntrospector());
        expect(error).toBeInstanceOf(PermissionError);
        expect(error.message).toContain("SET GLOBAL binlog_format = 'ROW';");
        expect(error.message).toContain("SET GLOBAL binlog_row_image = 'FULL';");
      }),
    );
  });

  it('missing SELECT: the table is not visible, and the message says to grant it', async () => {
    const url = new URL(await userWith('no_select', ['REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.*']));
    url.pathname = '/'; // with the database in the URL, connecting is refused already (also with the GRANT in the message)
    const introspector = await mysqlAdapter({ connection: url.toString() }).createIntrospector();
    try {
      const error = await failure(() => introspector.describeTables([{ schema: 'highwater', name: 'err_t' }]));
      expect(error).toBeInstanceOf(TableNotFoundError);
      expect(error.message).toContain('GRANT SELECT ON `highwater`.`err_t`');
    } finally {
      await introspector.close();
    }
    const refused = await failure(() =>
      mysqlAdapter({ connection: url.toString().replace(/\/$/, '/highwater') }).createIntrospector(),
    );
    expect(refused).toBeInstanceOf(PermissionError);
    expect(refused.message).toContain('GRANT SELECT ON `highwater`.*');
  });

  it('a table without a key', async () => {
    await db.sql().query('CREATE TABLE err_nokey (a int, b int)');
    const source = createSource({
      adapter: mysqlAdapter({ connection: db.server().url }),
      tables: { include: ['highwater.err_nokey'] },
    });
    const error = await failure(async () => {
      for await (const _ of source) break;
    });
    await source.close();
    expect(error).toBeInstanceOf(MissingKeyError);
    expect(error.message).toMatch(/chunkKeys|primary key/i);
  });
});
