import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  liveServerCount,
  MissingBinaryError,
  MYSQL_URL_VARIABLE,
  ServerStartError,
  startMariadb,
  type ThrowawayMariadb,
} from '../src/index.js';
import { mariadb, mariadbInstalled, mariadbOk } from './helpers.js';

// Lifecycle tests need local binaries; they are skipped only when an external server is named instead.
const canStart = mariadbInstalled || (process.env[MYSQL_URL_VARIABLE] ?? '') === '';

/** Binlog file and position (SHOW MASTER STATUS on MariaDB and older MySQL; MySQL 8.4 only has the new name). */
async function binlogPosition(server: ThrowawayMariadb): Promise<[string, number]> {
  let status = await mariadb(server, 'SHOW MASTER STATUS');
  if (!status.ok) status = await mariadb(server, 'SHOW BINARY LOG STATUS');
  if (!status.ok) throw new Error(`cannot read the binlog position: ${status.stderr}`);
  const [file, position] = status.stdout.split('\t');
  return [file ?? '', Number(position)];
}

describe('startMariadb (throwaway, or the server named by HIGHWATER_MYSQL_URL)', () => {
  let db: ThrowawayMariadb;
  beforeAll(async () => {
    db = await startMariadb();
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('answers the mariadb client on the returned host and port', async () => {
    if (!db.external) {
      expect(db.url).toBe(`mysql://root@127.0.0.1:${db.port}/highwater`);
      const row = await mariadbOk(db, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), DATABASE(), @@port");
      expect(row).toBe(`root\thighwater\t${db.port}`);
    }
    expect(await mariadbOk(db, 'SELECT 1 + 1')).toBe('2');
  });

  it('writes a ROW binlog with full row images', async () => {
    const variables = await mariadbOk(
      db,
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image')",
    );
    expect(Object.fromEntries(variables.split('\n').map((line) => line.split('\t')))).toEqual({
      binlog_format: 'ROW',
      binlog_row_image: 'FULL',
      log_bin: 'ON',
    });
    const table = `binlog_probe_${process.pid}`;
    await mariadbOk(db, `CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(10))`);
    const [file, before] = await binlogPosition(db);
    await mariadbOk(db, `INSERT INTO ${table} VALUES (1, 'one')`);
    const [, after] = await binlogPosition(db);
    expect(after).toBeGreaterThan(before);
    const events = await mariadbOk(db, `SHOW BINLOG EVENTS IN '${file}' FROM ${before}`);
    expect(events).toMatch(/Write_rows/);
    await mariadbOk(db, `DROP TABLE ${table}`);
  });

  it('enforces grants and passwords (no --skip-grant-tables)', async ({ skip }) => {
    if (db.external) skip('creates users: only on a throwaway server');
    await mariadbOk(
      db,
      "CREATE USER 'reader'@'%' IDENTIFIED BY 'secret'; GRANT SELECT ON highwater.* TO 'reader'@'%'; " +
        'CREATE TABLE readable (id INT PRIMARY KEY); INSERT INTO readable VALUES (7)',
    );
    const wrong = await mariadb(db, 'SELECT 1', { user: 'reader', password: 'wrong' });
    expect(wrong.ok).toBe(false);
    expect(wrong.stderr).toMatch(/Access denied for user 'reader'/);
    const read = await mariadb(db, 'SELECT id FROM readable', { user: 'reader', password: 'secret' });
    expect(read).toMatchObject({ ok: true, stdout: '7' });
    const write = await mariadb(db, 'INSERT INTO readable VALUES (8)', { user: 'reader', password: 'secret' });
    expect(write.ok).toBe(false);
    expect(write.stderr).toMatch(/INSERT command denied/);
    const binlog = await mariadb(db, 'SHOW MASTER STATUS', { user: 'reader', password: 'secret' });
    expect(binlog.ok).toBe(false);
    expect(binlog.stderr).toMatch(/Access denied; you need .*privilege/);
  });
});

describe.runIf(canStart)('throwaway MariaDB life cycle', () => {
  const started: ThrowawayMariadb[] = [];
  const start = async (options: Parameters<typeof startMariadb>[0] = {}): Promise<ThrowawayMariadb> => {
    const db = await startMariadb({ useEnv: false, ...options });
    started.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((db) => db.stop()));
  });

  it('lives in its own highwater-mariadb-* directory, with a unix socket there, and reports its start times', async () => {
    const db = await start();
    expect(db.external).toBe(false);
    expect(basename(db.tempDir!)).toMatch(/^highwater-mariadb-/);
    expect(dirname(db.dataDir!)).toBe(db.tempDir);
    expect(dirname(db.socket!)).toBe(db.tempDir);
    expect(db.pid).toBeGreaterThan(0);
    expect(db.timings.initMs).toBeGreaterThan(0);
    expect(db.timings.startMs).toBeGreaterThan(0);
    expect(await mariadb(db, 'SELECT 1', { socket: db.socket! })).toMatchObject({ ok: true, stdout: '1' });
    expect(await db.readLog()).toContain('ready for connections');
  });

  it('restart() shuts down cleanly and comes back on the same port with the data and binlog', async () => {
    const db = await start();
    await mariadbOk(db, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two')");
    const { port, pid } = db;
    const [fileBefore] = await binlogPosition(db);
    await db.restart();
    expect(db.port).toBe(port);
    expect(db.pid).not.toBe(pid);
    expect(await mariadbOk(db, 'SELECT GROUP_CONCAT(v ORDER BY id) FROM t')).toBe('one,two');
    const [fileAfter] = await binlogPosition(db);
    expect(fileAfter).not.toBe(fileBefore); // a restart rotates the binlog
    expect(await mariadbOk(db, 'SHOW BINARY LOGS')).toContain(fileBefore);
  });

  it('kill() crashes it (SIGKILL); restart() recovers everything committed', async () => {
    const db = await start();
    await mariadbOk(db, 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t SELECT seq FROM seq_1_to_1000');
    await db.kill();
    expect(db.running).toBe(false);
    expect(db.pid).toBeUndefined();
    expect((await mariadb(db, 'SELECT 1')).ok).toBe(false);
    await db.restart();
    expect(await mariadbOk(db, 'SELECT COUNT(*) FROM t')).toBe('1000');
    expect(await db.readLog()).toMatch(/crash recovery|Recovering after a crash/i);
  });

  it('stop() removes the directory; stopping twice is harmless; restart() after stop() rejects', async () => {
    const db = await start();
    const { tempDir } = db;
    const live = liveServerCount();
    await Promise.all([db.stop(), db.stop()]);
    expect(liveServerCount()).toBe(live - 1);
    await db.stop();
    expect(existsSync(tempDir!)).toBe(false);
    expect(db.running).toBe(false);
    expect((await mariadb(db, 'SELECT 1')).ok).toBe(false);
    await expect(db.restart()).rejects.toThrow(/has been stopped/);
    await expect(db.kill()).rejects.toThrow(/has been stopped/);
  });

  it('two servers at once get different ports, directories and data', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a!.port).not.toBe(b!.port);
    expect(a!.tempDir).not.toBe(b!.tempDir);
    await mariadbOk(a!, 'CREATE TABLE only_in_a (id INT)');
    const count = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'only_in_a'";
    expect(await mariadbOk(a!, count)).toBe('1');
    expect(await mariadbOk(b!, count)).toBe('0');
  });

  it('extra args override the defaults; database names the default schema', async () => {
    const db = await start({ args: ['--binlog-row-image=MINIMAL'], database: 'other_db' });
    expect(db.url).toBe(`mysql://root@127.0.0.1:${db.port}/other_db`);
    expect(await mariadbOk(db, 'SELECT @@binlog_row_image, DATABASE()')).toBe('MINIMAL\tother_db');
  });

  it('a server that cannot start rejects with its log, and leaves no directory behind', async () => {
    const tmpRoot = mkdtempSync(join(tmpdir(), 'hw-test-root-'));
    try {
      const error = await startMariadb({ useEnv: false, tmpRoot, args: ['--binlog-format=BOGUS'] }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as ServerStartError).message).toMatch(/before accepting connections/);
      expect((error as ServerStartError).log).toMatch(/binlog.format/i);
      expect(readdirSync(tmpRoot)).toEqual([]);
    } finally {
      rmSync(tmpRoot, { recursive: true, force: true });
    }
  });

  it('says how to install MariaDB or point at a server when the binaries are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hw-test-nobin-'));
    try {
      const error = await startMariadb({ useEnv: false, binDir: empty, tmpRoot: empty }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingBinaryError);
      expect((error as Error).message).toContain('apt-get install mariadb-server');
      expect((error as Error).message).toContain('HIGHWATER_MYSQL_URL');
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('uses the server named by HIGHWATER_MYSQL_URL, never starting or stopping it', async () => {
    const owned = await start();
    const saved = process.env[MYSQL_URL_VARIABLE];
    process.env[MYSQL_URL_VARIABLE] = owned.url;
    try {
      const db = await startMariadb();
      expect(db).toMatchObject({
        external: true,
        host: '127.0.0.1',
        port: owned.port,
        user: 'root',
        password: '',
        database: 'highwater',
        dataDir: undefined,
      });
      expect(await mariadbOk(db, 'SELECT DATABASE()')).toBe('highwater');
      await db.stop();
      expect(await mariadbOk(owned, 'SELECT 1')).toBe('1');
      await expect(db.restart()).rejects.toThrow(/HIGHWATER_MYSQL_URL/);
      await expect(db.kill()).rejects.toThrow(/HIGHWATER_MYSQL_URL/);
      expect((await start()).external).toBe(false);
    } finally {
      if (saved === undefined) delete process.env[MYSQL_URL_VARIABLE];
      else process.env[MYSQL_URL_VARIABLE] = saved;
    }
  });
});
