import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  liveServerCount,
  MissingBinaryError,
  POSTGRES_URL_VARIABLE,
  ServerStartError,
  startPostgres,
  type ThrowawayPostgres,
} from '../src/index.js';
import { postgresInstalled, psql, psqlOk } from './helpers.js';

// Lifecycle tests need local binaries; they are skipped only when an external server is named instead.
const canStart = postgresInstalled || (process.env[POSTGRES_URL_VARIABLE] ?? '') === '';

describe('startPostgres (throwaway, or the server named by HIGHWATER_POSTGRES_URL)', () => {
  let pg: ThrowawayPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('answers psql on the returned host and port, as a superuser with REPLICATION', async () => {
    if (!pg.external) expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
    const row = await psqlOk(
      pg,
      'select current_user, rolsuper, rolreplication from pg_roles where rolname = current_user',
    );
    expect(row).toBe(`${pg.user}|t|t`);
  });

  it('is set up for logical decoding', async () => {
    expect(await psqlOk(pg, 'show wal_level')).toBe('logical');
    if (!pg.external) {
      expect(await psqlOk(pg, 'show max_replication_slots')).toBe('20');
      expect(await psqlOk(pg, 'show max_wal_senders')).toBe('20');
      expect(await psqlOk(pg, 'show fsync')).toBe('off');
      expect(await psqlOk(pg, 'show listen_addresses')).toBe('127.0.0.1');
    }
    const slot = `highwater_probe_${process.pid}`;
    const created = await psqlOk(pg, `select slot_name from pg_create_logical_replication_slot('${slot}', 'pgoutput')`);
    expect(created).toBe(slot);
    await psqlOk(pg, `select pg_drop_replication_slot('${slot}')`);
  });
});

describe.runIf(canStart)('throwaway Postgres life cycle', () => {
  const started: ThrowawayPostgres[] = [];
  const start = async (options: Parameters<typeof startPostgres>[0] = {}): Promise<ThrowawayPostgres> => {
    const pg = await startPostgres({ useEnv: false, ...options });
    started.push(pg);
    return pg;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((pg) => pg.stop()));
  });

  it('lives in its own highwater-pg-* directory, with a unix socket there, and reports its start times', async () => {
    const pg = await start();
    expect(pg.external).toBe(false);
    expect(pg.host).toBe('127.0.0.1');
    expect(basename(pg.tempDir!)).toMatch(/^highwater-pg-/);
    expect(dirname(pg.dataDir!)).toBe(pg.tempDir);
    expect(pg.socketDir).toBe(pg.tempDir);
    expect(existsSync(join(pg.socketDir!, `.s.PGSQL.${pg.port}`))).toBe(true);
    expect(pg.running).toBe(true);
    expect(pg.pid).toBeGreaterThan(0);
    expect(pg.timings.initMs).toBeGreaterThan(0);
    expect(pg.timings.startMs).toBeGreaterThan(0);
    const viaSocket = await psql(pg, 'select 1', { host: pg.socketDir! });
    expect(viaSocket).toMatchObject({ ok: true, stdout: '1' });
    expect(await pg.readLog()).toContain('ready to accept connections');
  });

  it('restart() shuts down cleanly and comes back on the same port with the data', async () => {
    const pg = await start();
    await psqlOk(pg, 'create table t (id int primary key, v text); insert into t values (1, $$one$$), (2, $$two$$)');
    const { port, pid } = pg;
    await pg.restart();
    expect(pg.port).toBe(port);
    expect(pg.pid).not.toBe(pid);
    expect(await psqlOk(pg, 'select string_agg(v, $$,$$ order by id) from t')).toBe('one,two');
    expect(await psqlOk(pg, 'show wal_level')).toBe('logical');
    expect(await pg.readLog()).toMatch(/database system was shut down at/);
  });

  it('kill() crashes it (SIGKILL to the whole group); restart() recovers everything committed', async () => {
    const pg = await start();
    await psqlOk(pg, 'create table t (id int primary key); insert into t select generate_series(1, 1000)');
    await pg.kill();
    expect(pg.running).toBe(false);
    expect(pg.pid).toBeUndefined();
    expect((await psql(pg, 'select 1')).ok).toBe(false);
    await pg.restart();
    expect(await psqlOk(pg, 'select count(*) from t')).toBe('1000');
    expect(await pg.readLog()).toMatch(/database system was interrupted|not properly shut down/);
  });

  it('stop() removes the directory; stopping twice is harmless; restart() after stop() rejects', async () => {
    const pg = await start();
    const { tempDir } = pg;
    const live = liveServerCount();
    await Promise.all([pg.stop(), pg.stop()]);
    expect(liveServerCount()).toBe(live - 1);
    await pg.stop();
    expect(existsSync(tempDir!)).toBe(false);
    expect(pg.running).toBe(false);
    expect((await psql(pg, 'select 1')).ok).toBe(false);
    await expect(pg.restart()).rejects.toThrow(/has been stopped/);
    await expect(pg.kill()).rejects.toThrow(/has been stopped/);
  });

  it('stop() after kill() still cleans up (directory and shared memory)', async () => {
    const pg = await start();
    await pg.kill();
    await pg.stop();
    expect(existsSync(pg.tempDir!)).toBe(false);
  });

  it('two servers at once get different ports, directories and data', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a!.port).not.toBe(b!.port);
    expect(a!.tempDir).not.toBe(b!.tempDir);
    await psqlOk(a!, 'create table only_in_a (id int)');
    expect(await psqlOk(a!, "select count(*) from pg_tables where tablename = 'only_in_a'")).toBe('1');
    expect(await psqlOk(b!, "select count(*) from pg_tables where tablename = 'only_in_a'")).toBe('0');
  });

  it('settings override the defaults', async () => {
    const pg = await start({ settings: { max_wal_senders: 7, synchronous_commit: false } });
    expect(await psqlOk(pg, 'show max_wal_senders')).toBe('7');
    expect(await psqlOk(pg, 'show synchronous_commit')).toBe('off');
    expect(await psqlOk(pg, 'show wal_level')).toBe('logical');
  });

  it('with a password, TCP needs it (scram-sha-256) and the URL carries it', async () => {
    const pg = await start({ user: 'hw_admin', password: 's3cret/:@' });
    expect(pg.url).toBe(`postgres://hw_admin:s3cret%2F%3A%40@127.0.0.1:${pg.port}/postgres`);
    expect(await psqlOk(pg, 'select current_user')).toBe('hw_admin');
    const wrong = await psql(pg, 'select 1', { password: 'nope' });
    expect(wrong.ok).toBe(false);
    expect(wrong.stderr).toMatch(/password authentication failed/);
    expect((await psql(pg, 'select 1', { host: pg.socketDir!, password: '' })).ok).toBe(true);
  });

  it('a server that cannot start rejects with its log, and leaves no directory behind', async () => {
    const tmpRoot = mkdtempSync(join(tmpdir(), 'hw-test-root-'));
    chmodSync(tmpRoot, 0o755); // the postgres OS user must reach it when we run as root
    try {
      const error = await startPostgres({ useEnv: false, tmpRoot, settings: { wal_level: 'bogus' } }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as ServerStartError).message).toMatch(/before accepting connections/);
      expect((error as ServerStartError).log).toMatch(/invalid value for parameter "wal_level"/);
      expect(readdirSync(tmpRoot)).toEqual([]);
    } finally {
      rmSync(tmpRoot, { recursive: true, force: true });
    }
  });

  it.runIf(process.getuid?.() === 0)('as root: explains when the postgres OS user cannot reach tmpRoot', async () => {
    const tmpRoot = mkdtempSync(join(tmpdir(), 'hw-test-private-')); // mode 0700, owned by root
    try {
      await expect(startPostgres({ useEnv: false, tmpRoot })).rejects.toThrow(/cannot enter .*hw-test-private-/);
      expect(readdirSync(tmpRoot)).toEqual([]);
    } finally {
      rmSync(tmpRoot, { recursive: true, force: true });
    }
  });

  it('says how to install Postgres or point at a server when the binaries are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hw-test-nobin-'));
    try {
      const error = await startPostgres({ useEnv: false, binDir: empty, tmpRoot: empty }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingBinaryError);
      expect((error as Error).message).toContain('apt-get install postgresql');
      expect((error as Error).message).toContain('HIGHWATER_POSTGRES_URL');
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('uses the server named by HIGHWATER_POSTGRES_URL, never starting or stopping it', async () => {
    const owned = await start();
    const saved = process.env[POSTGRES_URL_VARIABLE];
    process.env[POSTGRES_URL_VARIABLE] = owned.url;
    try {
      const pg = await startPostgres();
      expect(pg).toMatchObject({
        external: true,
        host: '127.0.0.1',
        port: owned.port,
        user: 'postgres',
        database: 'postgres',
        dataDir: undefined,
      });
      expect(pg.url).toBe(owned.url);
      expect(await psqlOk(pg, 'select 1')).toBe('1');
      await pg.stop();
      expect(await psqlOk(owned, 'select 1')).toBe('1');
      await expect(pg.restart()).rejects.toThrow(/HIGHWATER_POSTGRES_URL/);
      await expect(pg.kill()).rejects.toThrow(/HIGHWATER_POSTGRES_URL/);
      expect((await start()).external).toBe(false);
    } finally {
      if (saved === undefined) delete process.env[POSTGRES_URL_VARIABLE];
      else process.env[POSTGRES_URL_VARIABLE] = saved;
    }
  });
});
