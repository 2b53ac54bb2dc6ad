import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickFreePort, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, RunningPipeline, until } from './cli.js';
import { createAuditedTarget, readAudit, sql } from './target-db.js';

// A snapshot into a Postgres target goes in with COPY, one chunk's rows and the checkpoint in one
// transaction. This test stops a COPY half-way — a trigger on the target waits on a lock the test
// holds, at one row of one chunk — SIGKILLs the pipeline there, lets the target go on (it then
// finds the client gone and rolls back), restarts, and checks the target ends equal to the source
// with every row written once: the half-written chunk left nothing behind, and written again, it
// doubled nothing.

const ROWS = 12_000;
/** The row whose insert waits: inside a chunk after the first few (chunks of 1000 rows). */
const PAUSE_AT = 7_500;
const LOCK = 4242;

describe('Postgres → Postgres snapshot, SIGKILLed in the middle of a bulk chunk write', () => {
  let source: ThrowawayPostgres | undefined;
  let target: ThrowawayPostgres | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'hw-e2e-bulk-kill-'));
    [source, target] = await Promise.all([startPostgres({ useEnv: false }), startPostgres({ useEnv: false })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('resumes to a target equal to the source, no row written twice', async () => {
    if (source === undefined || target === undefined || dir === undefined) throw new Error('servers not started');
    await sql(source.url, [
      'CREATE SCHEMA e2e',
      'CREATE TABLE e2e.items (id int PRIMARY KEY, ver bigint NOT NULL, note text)',
      `INSERT INTO e2e.items SELECT g, g * 10, 'note ' || g FROM generate_series(1, ${ROWS}) g`,
    ]);
    await createAuditedTarget(target.url, { text: 'text', code: 'varchar(32)' });
    // The first insert of row PAUSE_AT waits for the test's advisory lock (a sequence: not rolled back,
    // so only the first attempt waits).
    await sql(target.url, [
      'CREATE SEQUENCE audit.pause_once',
      `CREATE FUNCTION audit.pause() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.id = ${PAUSE_AT} AND nextval('audit.pause_once') = 1 THEN PERFORM pg_advisory_lock_shared(${LOCK}); END IF;
         RETURN NEW;
       END $$`,
      'CREATE TRIGGER pause BEFORE INSERT ON e2e.items FOR EACH ROW EXECUTE FUNCTION audit.pause()',
    ]);
    const metricsPort = await pickFreePort();
    const file = join(dir, 'bulk-kill.yaml');
    await writeFile(
      file,
      [
        'name: bulk-kill',
        'source:',
        '  adapter: postgres',
        `  connection: '${source.url}'`,
        "  tables: { include: ['e2e.items'] }",
        '  startup: snapshot',
        '  chunkSize: 1000',
        '  parallelism: 2',
        'sink:',
        '  type: postgres',
        `  connection: '${target.url}'`,
        '  schema: e2e',
        `metrics: { port: ${metricsPort} }`,
        'restart: { attempts: 0 }',
        '',
      ].join('\n'),
    );

    const holder = new pg.Client(target.url);
    await holder.connect();
    let first: RunningPipeline | undefined;
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [LOCK]);
      first = new RunningPipeline(file, metricsPort);
      const running = first;
      const waiting = await until(
        'the sink waiting inside a COPY',
        async () => {
          const rows = await sql<{ query: string }>(target!.url, [
            `SELECT query FROM pg_stat_activity WHERE application_name = 'highwater-sink' AND wait_event_type = 'Lock'`,
          ]);
          return rows[0];
        },
        { pipeline: running, timeoutMs: 90_000 },
      );
      expect(waiting.query).toMatch(/^COPY "e2e"\."items"/);
      const committed = await readAudit(target.url);
      expect(committed.length, 'chunks committed before the one cut short').toBeGreaterThan(0);
      expect(committed.length).toBeLessThan(ROWS);
      const exit = await running.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
    } finally {
      if (first?.running) await first.kill('SIGKILL');
      await holder.end();
    }
    // With the lock free, the target's session reads on, finds the client gone and rolls the chunk back.
    await until('the killed pipeline’s target session to end', async () => {
      const rows = await sql(target!.url, [`SELECT 1 FROM pg_stat_activity WHERE application_name = 'highwater-sink'`]);
      return rows.length === 0;
    });

    const second = new RunningPipeline(file, metricsPort);
    const exit = await second.exited;
    expect(exit, second.tail()).toEqual({ code: 0, signal: null });

    const [counts] = await sql<{ n: string; s: string }>(target.url, [
      'SELECT count(*) AS n, sum(ver) AS s FROM e2e.items',
    ]);
    expect(counts).toEqual({ n: String(ROWS), s: String((10 * ROWS * (ROWS + 1)) / 2) });
    const mismatched = await sql(target.url, [
      `SELECT t.id FROM e2e.items t WHERE t.ver <> t.id * 10 OR t.note IS DISTINCT FROM 'note ' || t.id LIMIT 5`,
    ]);
    expect(mismatched).toEqual([]);
    // Every row applied exactly once: one committed INSERT per key, nothing else.
    const audit = await readAudit(target.url);
    expect(audit.filter((a) => a.op !== 'INSERT')).toEqual([]);
    expect(new Set(audit.map((a) => a.key)).size).toBe(ROWS);
    expect(audit).toHaveLength(ROWS);
  }, 180_000);
});
