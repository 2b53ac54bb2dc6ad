import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickFreePort, startMariadb, type ThrowawayMariadb } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, RunningPipeline, until } from './cli.js';

// A snapshot into a MySQL target goes in with LOAD DATA LOCAL INFILE, one chunk's rows and the
// checkpoint in one transaction. This test stops a load half-way — a trigger on the target waits on
// a user lock the test holds, at one row of one chunk — SIGKILLs the pipeline there, lets the target
// go on (its transaction can only roll back: no COMMIT ever comes), restarts, and checks the target
// ends equal to the source with every row written once: the half-loaded chunk left nothing behind,
// and loaded again, it doubled nothing. (The Postgres twin, with COPY, is bulk-kill.test.ts.)

const ROWS = 12_000;
/** The row whose insert waits: inside a chunk after the first few (chunks of 1000 rows). */
const PAUSE_AT = 7_500;

async function run(url: string, statements: readonly string[]): Promise<Record<string, unknown>[]> {
  const db = await mysql.createConnection({
    uri: url,
    multipleStatements: false,
    bigNumberStrings: true,
    supportBigNumbers: true,
  });
  try {
    let last: unknown = [];
    for (const statement of statements) [last] = await db.query(statement);
    return Array.isArray(last) ? (last as Record<string, unknown>[]) : [];
  } finally {
    await db.end();
  }
}

describe('MariaDB → MariaDB snapshot, SIGKILLed in the middle of a bulk chunk load', () => {
  let source: ThrowawayMariadb | undefined;
  let target: ThrowawayMariadb | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'hw-e2e-mysql-bulk-kill-'));
    [source, target] = await Promise.all([startMariadb({ useEnv: false }), startMariadb({ useEnv: false })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('resumes to a target equal to the source, no row written twice', async () => {
    if (source === undefined || target === undefined || dir === undefined) throw new Error('servers not started');
    await run(source.url, [
      'CREATE DATABASE e2e',
      'CREATE TABLE e2e.items (id INT PRIMARY KEY, ver BIGINT NOT NULL, note TEXT) ENGINE=InnoDB',
      `INSERT INTO e2e.items SELECT seq, seq * 10, CONCAT('note ', seq) FROM seq_1_to_${ROWS}`,
    ]);
    // The target table exists already, with triggers: an audit of every committed row change (in the
    // same transaction, so a rolled-back load leaves no audit rows), and a pause at row PAUSE_AT, taken
    // once (the flag is in a MyISAM table: not rolled back).
    await run(target.url, [
      'CREATE DATABASE e2e',
      'CREATE DATABASE audit',
      'CREATE TABLE audit.applied (seq INT AUTO_INCREMENT PRIMARY KEY, op VARCHAR(8) NOT NULL, k INT NOT NULL) ENGINE=InnoDB',
      'CREATE TABLE audit.pause_once (taken INT) ENGINE=MyISAM',
      'CREATE TABLE e2e.items (id INT NOT NULL PRIMARY KEY, ver BIGINT NOT NULL, note LONGTEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
      `CREATE TRIGGER e2e.pause BEFORE INSERT ON e2e.items FOR EACH ROW
         IF NEW.id = ${PAUSE_AT} AND (SELECT COUNT(*) FROM audit.pause_once) = 0 THEN
           INSERT INTO audit.pause_once VALUES (1);
           SET @hw_lock = GET_LOCK('hw_pause', 600);
         END IF`,
      "CREATE TRIGGER e2e.audit_insert AFTER INSERT ON e2e.items FOR EACH ROW INSERT INTO audit.applied (op, k) VALUES ('INSERT', NEW.id)",
      "CREATE TRIGGER e2e.audit_update AFTER UPDATE ON e2e.items FOR EACH ROW INSERT INTO audit.applied (op, k) VALUES ('UPDATE', NEW.id)",
      "CREATE TRIGGER e2e.audit_delete AFTER DELETE ON e2e.items FOR EACH ROW INSERT INTO audit.applied (op, k) VALUES ('DELETE', OLD.id)",
    ]);
    const metricsPort = await pickFreePort();
    const file = join(dir, 'mysql-bulk-kill.yaml');
    await writeFile(
      file,
      [
        'name: mysql-bulk-kill',
        'source:',
        '  adapter: mysql',
        `  connection: '${source.url}'`,
        "  tables: { include: ['e2e.items'] }",
        '  startup: snapshot',
        '  chunkSize: 1000',
        '  parallelism: 2',
        'sink:',
        '  type: mysql',
        `  connection: '${target.url}'`,
        '  schema: e2e',
        `metrics: { port: ${metricsPort} }`,
        'restart: { attempts: 0 }',
        '',
      ].join('\n'),
    );

    const holder = await mysql.createConnection({ uri: target.url });
    const audit = async () => run(target!.url, ['SELECT op, k FROM audit.applied ORDER BY seq']);
    let first: RunningPipeline | undefined;
    try {
      await holder.query("SELECT GET_LOCK('hw_pause', 10)");
      first = new RunningPipeline(file, metricsPort);
      const running = first;
      const waiting = await until(
        'the sink waiting inside a LOAD DATA',
        async () => {
          const rows = await run(target!.url, [
            "SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE STATE = 'User lock' AND ID <> CONNECTION_ID()",
          ]);
          return rows[0];
        },
        { pipeline: running, timeoutMs: 90_000 },
      );
      // The session shows the trigger's statement (the row insert it is in waits on the lock).
      expect(String(waiting.info)).toMatch(/GET_LOCK\('hw_pause'/);
      const committed = await audit();
      expect(committed.length, 'chunks committed before the one cut short').toBeGreaterThan(0);
      expect(committed.length).toBeLessThan(ROWS);
      // Each committed chunk, and the one waiting, came by LOAD DATA (statements would not count here).
      const [loads] = await run(target!.url, ["SHOW GLOBAL STATUS LIKE 'Com_load'"]);
      expect(Number(loads?.Value)).toBeGreaterThanOrEqual(Math.ceil(committed.length / 1000) + 1);
      const exit = await running.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
    } finally {
      if (first?.running) await first.kill('SIGKILL');
      await holder.end(); // releases the lock: the target's session goes on, finds no COMMIT coming, rolls back
    }
    await until('the killed pipeline’s target sessions to end', async () => {
      const rows = await run(target!.url, [
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump') AND USER NOT IN ('system user', 'event_scheduler')",
      ]);
      return rows.length === 0;
    });

    const second = new RunningPipeline(file, metricsPort);
    const exit = await second.exited;
    expect(exit, second.tail()).toEqual({ code: 0, signal: null });

    const [counts] = await run(target.url, ['SELECT COUNT(*) AS n, SUM(ver) AS s FROM e2e.items']);
    expect(counts).toEqual({ n: String(ROWS), s: String((10 * ROWS * (ROWS + 1)) / 2) });
    const mismatched = await run(target.url, [
      "SELECT id FROM e2e.items WHERE ver <> id * 10 OR NOT (note <=> CONCAT('note ', id)) LIMIT 5",
    ]);
    expect(mismatched).toEqual([]);
    // Every row applied exactly once: one committed INSERT per key, nothing else.
    const applied = await audit();
    expect(applied.filter((a) => a.op !== 'INSERT')).toEqual([]);
    expect(new Set(applied.map((a) => a.k)).size).toBe(ROWS);
    expect(applied).toHaveLength(ROWS);
  }, 180_000);
});
