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
import { LogTap, useMariadb } from './helpers.js';

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

  it('missing REPLICATION SLAVE: the binlog dump is refused', async () => {
    await db.sql().query('CREATE TABLE err_t (id int PRIMARY KEY)');
    const url = await userWith('no_slave', ['SELECT ON highwater.*', 'REPLICATION CLIENT, PROCESS ON *.*']);
    const adapter = mysqlAdapter({ connection: url });
    const introspector = await adapter.createIntrospector();
    const [schema] = await introspector.describeTables([{ schema: 'highwater', name: 'err_t' }]);
    const from = await introspector.highWatermark();
    await introspector.close();
    // The server refuses the dump command after the connection is set up: the first read fails.
    const error = await failure(async () => {
      const log = await adapter.createLogReader({ from, tables: schema === undefined ? [] : [schema] });
      try {
        await new LogTap(log).until(() => false, 5000);
      } finally {
        await log.close();
      }
    });
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.message).toContain('GRANT REPLICATION SLAVE ON *.*');
  });

  it('missing REPLICATION CLIENT: the binlog position cannot be read', async () => {
    const url = await userWith('no_client', ['SELECT ON highwater.*', 'REPLICATION SLAVE, PROCESS ON *.*']);
    const introspector = await mysqlAdapter({ connection: url }).createIntrospector();
    try {
      const error = await failure(() => introspector.highWatermark());
      expect(error).toBeInstanceOf(PermissionError);
      expect(error.message).toMatch(/GRANT REPLICATION CLIENT/);
    } finally {
      await introspector.close();
    }
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

  it('missing PROCESS: the low watermark is refused', async () => {
    const url = await userWith('no_process', ['SELECT ON highwater.*', 'REPLICATION SLAVE, REPLICATION CLIENT ON *.*']);
    const introspector = await mysqlAdapter({ connection: url }).createIntrospector();
    try {
      const error = await failure(() => introspector.lowWatermark());
      expect(error).toBeInstanceOf(PermissionError);
      expect(error.message).toContain('GRANT PROCESS ON *.*');
    } finally {
      await introspector.close();
    }
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
