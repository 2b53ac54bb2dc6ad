import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickFreePort, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppliedChange, checkExactlyOnce, type ExactlyOnceReport, type SourceWrite } from './exactly-once.js';
import { assertBuilt, highwater, RunningPipeline, sleep, until } from './cli.js';
import {
  connectSource,
  createSourceTables,
  type InitialSize,
  initialKeys,
  RecordingWriter,
  random,
  type SourceConnection,
} from './source-db.js';
import { createAuditedTarget, readAudit, sql, storedPhase } from './target-db.js';

export interface KillScenario {
  readonly name: string;
  readonly source: { readonly dialect: 'postgres' | 'mariadb'; readonly url: string };
  /** Where the pipeline writes, and how the test reads back what it holds. */
  readonly target: KillTarget;
  /** Where the pipeline file goes. */
  readonly dir: string;
  readonly seed: number;
  readonly size: InitialSize;
  /** SIGKILLs planned while the snapshot runs, then while the pipeline streams. */
  readonly kills: { readonly snapshot: number; readonly stream: number };
  readonly log: (line: string) => void;
}

/** A sink of a kill scenario, and how the test reads it back. */
export interface KillTarget {
  /** The pipeline file's `sink:` section, indented, without the `sink:` line. */
  readonly sinkLines: readonly string[];
  /** Runs `highwater verify` on the pipeline at the end (table sinks). */
  readonly verify: boolean;
  /** Prepares the target, and the source tables once created, before the first run. */
  prepare(source: SourceConnection): Promise<void>;
  /** Where the checkpoint stored with the data stands: `snapshot`, `stream`, or null before the first batch. */
  storedPhase(pipeline: string): Promise<'snapshot' | 'stream' | null>;
  /** True once item `id` (the sentinel) is in the target. */
  hasItem(id: number): Promise<boolean>;
  /** Everything the target applied, in order, as audit entries. */
  applied(): Promise<AppliedChange[]>;
}

/** An audited Postgres target (audit trigger on each table, see target-db.ts). */
export function auditedPostgresTarget(url: string, sourceDialect: 'postgres' | 'mariadb'): KillTarget {
  return {
    sinkLines: ['  type: postgres', `  connection: '${url}'`, '  schema: e2e'],
    verify: true,
    prepare: () =>
      createAuditedTarget(url, { text: sourceDialect === 'postgres' ? 'text' : 'varchar(100)', code: 'varchar(32)' }),
    storedPhase: (pipeline) => storedPhase(url, pipeline),
    hasItem: async (id) => (await sql(url, ['SELECT 1 FROM e2e.items WHERE id = $1'], [id])).length === 1,
    applied: () => readAudit(url),
  };
}

export interface KillRecord {
  readonly run: number;
  readonly planned: 'snapshot' | 'stream';
  /** The pipeline state at the last scrape before the kill. */
  readonly observed: string;
  /** Where the checkpoint stored in the target stood after the kill: what the next run resumes from. */
  readonly stored: string;
  readonly afterMs: number;
  readonly exit: string;
}

export interface ScenarioResult {
  readonly kills: KillRecord[];
  /** `highwater verify`'s result; null when the target does not support it. */
  readonly verify: { code: number | null; stdout: string; stderr: string } | null;
  readonly finalExit: { code: number | null; signal: NodeJS.Signals | null };
  readonly exactlyOnce: ExactlyOnceReport;
  readonly sourceWrites: number;
  /** Every committed source write, in commit order. */
  readonly writes: readonly SourceWrite[];
  /** Every write after this one was committed once the snapshot was stored as done. */
  readonly snapshotDoneSeq: number;
  /** Each run's output (logs), in order. */
  readonly outputs: readonly string[];
}

/**
 * A pipeline into a target (an audited Postgres, a NATS stream) under a concurrent writer, SIGKILLed at random moments
 * during the snapshot and during streaming and restarted each time; then the writer stops, a
 * sentinel row is written and awaited in the target, the last run is stopped with SIGTERM, and
 * `highwater verify` runs (table targets). The caller asserts on the result.
 */
export async function runKillScenario(s: KillScenario): Promise<ScenarioResult> {
  const rand = random(s.seed);
  const db = await connectSource(s.source.dialect, s.source.url);
  const writer = new RecordingWriter(db, s.size, random(s.seed ^ 0x5bd1e995));
  let pipeline: RunningPipeline | null = null;
  const runs: RunningPipeline[] = [];
  try {
    await createSourceTables(db, s.size);
    await s.target.prepare(db);
    const metricsPort = await pickFreePort();
    const file = join(s.dir, `${s.name}.yaml`);
    await writeFile(
      file,
      [
        `name: ${s.name}`,
        'source:',
        `  adapter: ${s.source.dialect === 'postgres' ? 'postgres' : 'mysql'}`,
        `  connection: '${s.source.url}'`,
        "  tables: { include: ['e2e.*'] }",
        '  chunkSize: 1000',
        '  parallelism: 2',
        'sink:',
        ...s.target.sinkLines,
        `metrics: { port: ${metricsPort} }`,
        'restart: { attempts: 30, initialDelayMs: 200, maxDelayMs: 1000 }',
        '',
      ].join('\n'),
    );

    writer.start();
    // The audit requires every write after the snapshot's end, so that end must be one no later run
    // undoes: the stored checkpoint (in the target, committed with the rows) having no table left in
    // the snapshot phase. The pipeline's own state turns to `stream` when its last chunk is read,
    // before the sink has committed that chunk; a run killed in between re-reads the chunk after a
    // restart, and writes made meanwhile reach the target inside its copy, not one by one.
    // The bound is the writer's issued seq read after the checkpoint was seen: every later write
    // was sent after the snapshot's last read.
    let snapshotDoneSeq = Number.POSITIVE_INFINITY;
    const noteSnapshotDone = async () => {
      if (snapshotDoneSeq !== Number.POSITIVE_INFINITY) return;
      if ((await s.target.storedPhase(s.name)) === 'stream') snapshotDoneSeq = writer.issuedSeq;
    };
    const noteState = async (state: string | undefined) => {
      if (state === 'stream') await noteSnapshotDone();
    };
    const kills: KillRecord[] = [];
    const plan = [
      ...Array.from({ length: s.kills.snapshot }, () => 'snapshot' as const),
      ...Array.from({ length: s.kills.stream }, () => 'stream' as const),
    ];
    for (const [run, planned] of plan.entries()) {
      pipeline = new RunningPipeline(file, metricsPort);
      runs.push(pipeline);
      const current = pipeline;
      // During the snapshot: a random moment after this run's first written batch. While streaming:
      // a random moment after the state turns to stream.
      await until(
        planned === 'snapshot' ? 'a first batch written' : 'streaming',
        async () => {
          const m = await current.state();
          await noteState(m?.state);
          if (m === null) return false;
          return planned === 'snapshot' ? m.batches > 0 || m.state === 'stream' : m.state === 'stream';
        },
        { pipeline: current, timeoutMs: 90_000 },
      );
      const afterMs = planned === 'snapshot' ? rand(700) : 200 + rand(1500);
      await sleep(afterMs);
      const observed = (await current.state())?.state ?? 'no answer';
      await noteState(observed);
      if (writer.failure !== null) throw writer.failure;
      const exit = await current.kill('SIGKILL');
      const stored = (await s.target.storedPhase(s.name)) ?? 'nothing';
      const record = { run, planned, observed, stored, afterMs, exit: exit.signal ?? `code ${exit.code}` };
      kills.push(record);
      s.log(`${s.name}: kill ${run + 1}: ${JSON.stringify(record)}`);
      if (exit.signal !== 'SIGKILL') throw new Error(`run ${run} ended before its kill:\n${current.tail()}`);
    }

    // The last run: stream a moment (past the stored end of the snapshot, so writes after that end
    // are audited in full), stop the writer, then the sentinel shows the stream caught up.
    pipeline = new RunningPipeline(file, metricsPort);
    runs.push(pipeline);
    const last = pipeline;
    await until(
      'streaming after the last restart, with the snapshot stored as done',
      async () => {
        const m = await last.state();
        await noteState(m?.state);
        return m?.state === 'stream' && snapshotDoneSeq !== Number.POSITIVE_INFINITY;
      },
      { pipeline: last, timeoutMs: 90_000 },
    );
    await sleep(1_000);
    await writer.stop();
    const sentinel = await writer.sentinel();
    await until('the sentinel row in the target', () => s.target.hasItem(sentinel), {
      pipeline: last,
      timeoutMs: 60_000,
    });
    const finalExit = await last.kill('SIGTERM');
    if (finalExit.code !== 0) s.log(`${s.name}: last run output:\n${last.tail(60)}`);

    const verify = s.target.verify ? await highwater(['verify', file]) : null;
    const report = checkExactlyOnce(initialKeys(s.size), writer.writes, await s.target.applied(), snapshotDoneSeq);
    s.log(
      `${s.name}: ${writer.writes.length} source writes, ${report.applied} applied rows audited, ` +
        `${report.merged} merged into a later write of the same key in the same batch, ${report.beforeSnapshot} before their snapshot copy; ` +
        `snapshot done by write #${snapshotDoneSeq}`,
    );
    return {
      kills,
      verify,
      finalExit,
      exactlyOnce: report,
      sourceWrites: writer.writes.length,
      writes: writer.writes,
      snapshotDoneSeq,
      outputs: runs.map((run) => run.output),
    };
  } finally {
    if (pipeline?.running) await pipeline.kill('SIGKILL');
    await writer.stop().catch(() => undefined);
    await db.close();
  }
}

/**
 * What every kill scenario must show: each run SIGKILLed, one during the snapshot and one while
 * streaming, a clean last run, every source change in the target exactly once, and a real load.
 */
export function expectKilledAndExact(result: ScenarioResult, context: string): void {
  expect(result.kills.map((k) => k.exit)).toEqual(result.kills.map(() => 'SIGKILL'));
  expect(
    result.kills.some((k) => k.observed === 'snapshot'),
    `${context}: a kill during the snapshot`,
  ).toBe(true);
  expect(
    result.kills.some((k) => k.observed === 'stream'),
    `${context}: a kill while streaming`,
  ).toBe(true);
  expect(result.finalExit, context).toEqual({ code: 0, signal: null });
  expect(result.exactlyOnce.problems, context).toEqual([]);
  expect(result.sourceWrites).toBeGreaterThan(100);
}

/** A kill scenario's test file: its source database and what the result must show. */
export interface KillSuite {
  /** The test's title, e.g. `Postgres → Postgres`. */
  readonly title: string;
  /** Names the run in logs and files, e.g. `pg-to-pg`. */
  readonly name: string;
  readonly dialect: KillScenario['source']['dialect'];
  /** Starts a throwaway source server (never one from the environment: the test writes to it). */
  readonly startSource: () => Promise<{ readonly url: string; stop(): Promise<void> }>;
}

/**
 * Registers one kill scenario through the built `highwater` command, with a throwaway source and
 * a throwaway Postgres target, and its checks: every run SIGKILLed, kills during the snapshot and
 * while streaming, a clean last run, `verify` passing and every source change applied exactly
 * once. HIGHWATER_E2E_SEED repeats a run's kill moments and writes (timing still varies).
 */
export function describeKillScenario(suite: KillSuite): void {
  const seed = Number(process.env.HIGHWATER_E2E_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let source: { readonly url: string; stop(): Promise<void> } | undefined;
  let target: ThrowawayPostgres | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), `hw-e2e-${suite.name}-`));
    [source, target] = await Promise.all([suite.startSource(), startPostgres({ useEnv: false })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  describe(`${suite.title}, killed and restarted under load`, () => {
    it('ends equal (verify) with every source change applied exactly once', async () => {
      if (source === undefined || target === undefined || dir === undefined) throw new Error('servers not started');
      console.log(`${suite.name} seed ${seed} (HIGHWATER_E2E_SEED=${seed} repeats it)`);
      const result = await runKillScenario({
        name: `e2e-${suite.name}`,
        source: { dialect: suite.dialect, url: source.url },
        target: auditedPostgresTarget(target.url, suite.dialect),
        dir,
        seed,
        size: { items: 20_000, tags: 10_000, orders: 10_000 },
        kills: { snapshot: 2, stream: 2 },
        log: (line) => console.log(line),
      });
      const context = `seed ${seed}`;
      expectKilledAndExact(result, context);
      expect(result.verify?.code, `${context}\n${result.verify?.stdout}${result.verify?.stderr}`).toBe(0);
    }, 180_000);
  });
}
