/**
 * `npm run bench [-- [--quick] [name filters…]]`: the core benchmarks (memory adapter) and the
 * Postgres and MySQL/MariaDB adapter benchmarks (against throwaway servers), each side by side with
 * its limit in the same run, printed as Markdown tables (results are recorded in docs/benchmarks.md).
 *
 * - `--quick`: small sizes, one measured run, for a smoke test;
 * - `--rows=N`, `--changes=N`: the snapshot's rows and the stream's changes of the database and
 *   end-to-end benchmarks (over `--quick` and the `BENCH_*` variables);
 * - name filters run only the benchmarks whose full name contains one of them: `core`, `postgres`,
 *   `mysql`, `oracle`, `mongodb`, `nats` (the NATS JetStream sink against bare publishes), `e2e` (`highwater run` end to end: `e2e pg-pg`, `e2e my-my`, `e2e my-pg`, `e2e pg-file`),
 *   or `stream`, `snapshot`, `latency`, `rss`, `writes`, `2x`, or e.g. `"postgres stream"`.
 *
 * Sizes of the database benchmarks: environment variables, see `db/common.ts` (`BENCH_*`).
 */
import { cpus, loadavg } from 'node:os';
import type { RunPlan } from './core/measure.js';
import { type BenchmarkReport, emptyReport, formatReport } from './core/report.js';
import { snapshotBenchmark } from './core/snapshot.js';
import { snapshotUnderWritesBenchmark } from './core/snapshot-under-writes.js';
import { streamBenchmark } from './core/stream.js';
import { commandOutput, dbSizes, progress } from './db/common.js';
import { mysqlBenchmarks } from './db/mysql.js';
import { postgresBenchmarks } from './db/postgres.js';
import { findNatsServer } from '@highwater/test-servers';
import { natsBenchmark } from './nats/nats.js';
import { mongodbBenchmarks } from './mongodb/mongodb.js';
import { oracleBenchmarks } from './oracle/oracle.js';
import { formatDbReport } from './db/report.js';
import { E2E_BENCHMARKS, e2eBenchmarks } from './e2e/e2e.js';
import { coordinatorBenchmark } from './cluster/coordinator.js';
import { clusterScalingBenchmark } from './cluster/scaling.js';

interface Benchmark {
  readonly name: string;
  readonly run: (plan: RunPlan) => Promise<BenchmarkReport>;
}

function coreBenchmarks(quick: boolean): Benchmark[] {
  const size = (full: number, small: number) => (quick ? small : full);
  const list: Benchmark[] = [
    { name: 'core stream', run: (plan) => streamBenchmark(size(2_000_000, 100_000), plan) },
    { name: 'core snapshot', run: (plan) => snapshotBenchmark('snapshot', size(1_000_000, 100_000), plan) },
  ];
  if (!quick) list.push({ name: 'core snapshot 2x', run: (plan) => snapshotBenchmark('snapshot 2x', 2_000_000, plan) });
  list.push({
    name: 'core snapshot under writes',
    run: (plan) => snapshotUnderWritesBenchmark(size(1_000_000, 100_000), plan),
  });
  return list;
}

const DB_PARTS = ['snapshot', 'stream', 'latency', 'rss'] as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const filters = args.filter((a) => !a.startsWith('--')).map((a) => a.toLowerCase());
  const wanted = (name: string) => filters.length === 0 || filters.some((f) => name.includes(f));
  const core = coreBenchmarks(quick).filter((b) => wanted(b.name));
  const pgParts = Object.fromEntries(DB_PARTS.map((p) => [p, wanted(`postgres ${p}`)])) as Record<
    (typeof DB_PARTS)[number],
    boolean
  >;
  const myParts = Object.fromEntries(DB_PARTS.map((p) => [p, wanted(`mysql ${p}`)])) as Record<
    (typeof DB_PARTS)[number],
    boolean
  >;
  const anyPg = Object.values(pgParts).some(Boolean);
  const anyMy = Object.values(myParts).some(Boolean);
  const oracle = wanted('oracle');
  const nats = wanted('nats');
  const mongodb = wanted('mongodb');
  const e2e = E2E_BENCHMARKS.filter((b) => wanted(b));
  // Only when asked for by name: they start their own NATS and Postgres servers and member processes.
  const clusterCoordinator = filters.some((f) => 'cluster coordinator'.includes(f) && f.startsWith('cluster'));
  const clusterScaling = filters.some((f) => 'cluster scaling'.includes(f) && f.startsWith('cluster'));
  if (
    core.length === 0 &&
    !anyPg &&
    !anyMy &&
    !oracle &&
    !nats &&
    !mongodb &&
    e2e.length === 0 &&
    !clusterCoordinator &&
    !clusterScaling
  ) {
    const names = [
      ...coreBenchmarks(quick).map((b) => b.name),
      ...DB_PARTS.map((p) => `postgres ${p}`),
      ...DB_PARTS.map((p) => `mysql ${p}`),
      'oracle',
      'nats',
      'mongodb',
      ...E2E_BENCHMARKS,
      'cluster coordinator',
      'cluster scaling',
    ];
    throw new Error(`no benchmark matches ${filters.join(', ')}; they are: ${names.join(', ')}`);
  }
  const machine = `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`;
  const load = () => (loadavg()[0] as number).toFixed(2);
  const sections: string[] = [];

  if (core.length > 0) {
    const plan: RunPlan = quick ? { warmups: 1, runs: 1 } : { warmups: 1, runs: 5 };
    const report = emptyReport();
    // Other work on the machine shows here: a 2-core machine with a load near 2 halves the figures.
    const loadBefore = load();
    const started = performance.now();
    for (const b of core) {
      progress(`running ${b.name}…`);
      const r = await b.run(plan);
      report.throughput.push(...r.throughput);
      report.memory.push(...r.memory);
      report.notes.push(...r.notes);
    }
    const seconds = (performance.now() - started) / 1000;
    sections.push(
      `Highwater core benchmarks${quick ? ' (--quick)' : ''}: ${machine}; ` +
        `warm-up ${plan.warmups}, median of ${plan.runs} run${plan.runs === 1 ? '' : 's'} per side; ${seconds.toFixed(0)} s in all; ` +
        `1-minute load average ${loadBefore} before, ${load()} after\n\n${formatReport(report, plan.runs)}`,
    );
    console.log(`${sections[sections.length - 1]}\n`);
  }

  const sizes = dbSizes(quick, flagNumber(args, '--rows'), flagNumber(args, '--changes'));
  const dbHeader = (what: string, seconds: number, before: string) =>
    `Highwater ${what} benchmarks${quick ? ' (--quick)' : ''}: ${machine}; warm-up ${sizes.plan.warmups}, ` +
    `median of ${sizes.plan.runs} run${sizes.plan.runs === 1 ? '' : 's'} per side, sides interleaved; ` +
    `${seconds.toFixed(0)} s in all; 1-minute load average ${before} before, ${load()} after`;
  if (anyPg) {
    const before = load();
    const started = performance.now();
    const report = await postgresBenchmarks(pgParts, sizes);
    const text = `${dbHeader('Postgres', (performance.now() - started) / 1000, before)}\n\n${formatDbReport(report)}`;
    console.log(`${text}\n`);
  }
  if (anyMy) {
    const before = load();
    const started = performance.now();
    const report = await mysqlBenchmarks(myParts, sizes);
    const text = `${dbHeader('MySQL (MariaDB)', (performance.now() - started) / 1000, before)}\n\n${formatDbReport(report)}`;
    console.log(`${text}\n`);
  }
  if (oracle) {
    const plan: RunPlan = quick ? { warmups: 1, runs: 1 } : { warmups: 1, runs: 5 };
    const before = load();
    const table = await oracleBenchmarks(quick, plan);
    console.log(
      `${machine}; warm-up ${plan.warmups}, median of ${plan.runs} runs per side; load ${before} before, ${load()} after\n\n${table}\n`,
    );
  }
  if (clusterCoordinator) {
    const before = load();
    const table = await coordinatorBenchmark(quick, progress);
    console.log(
      `Cluster coordinator simulation${quick ? ' (--quick)' : ''}: ${machine}; load ${before} before, ${load()} after\n\n${table}\n`,
    );
  }
  if (clusterScaling) {
    const before = load();
    const table = await clusterScalingBenchmark(quick, progress);
    console.log(
      `Cluster scaling (member processes, throttled chunk reads)${quick ? ' (--quick)' : ''}: ${machine}; load ${before} before, ${load()} after\n\n${table}\n`,
    );
  }
  if (nats) {
    const plan: RunPlan = quick ? { warmups: 1, runs: 1 } : { warmups: 1, runs: 5 };
    const before = load();
    const started = performance.now();
    const table = await natsBenchmark(quick, plan);
    console.log(
      `Highwater NATS sink benchmark${quick ? ' (--quick)' : ''}: ${machine}; nats-server ${await natsVersion()}; ` +
        `warm-up ${plan.warmups}, median of ${plan.runs} runs per side, sides interleaved; ` +
        `${((performance.now() - started) / 1000).toFixed(0)} s in all; 1-minute load average ${before} before, ${load()} after\n\n${table}\n`,
    );
  }
  if (mongodb) {
    const plan: RunPlan = quick ? { warmups: 1, runs: 1 } : { warmups: 1, runs: 3 };
    const before = load();
    const table = await mongodbBenchmarks(quick, plan);
    console.log(
      `${machine}; warm-up ${plan.warmups}, median of ${plan.runs} runs per side, sides interleaved; load ${before} before, ${load()} after\n\n${table}\n`,
    );
  }
  if (e2e.length > 0) {
    const before = load();
    const started = performance.now();
    const report = await e2eBenchmarks(e2e, sizes);
    const text = `${dbHeader('end-to-end', (performance.now() - started) / 1000, before)}\n\n${formatDbReport(report)}`;
    console.log(`${text}\n`);
  }
}

/** `nats-server --version`'s version, or `unknown`. */
async function natsVersion(): Promise<string> {
  try {
    const out = await commandOutput(findNatsServer(), ['--version']);
    return out.trim().replace(/^nats-server: /, '');
  } catch {
    return 'unknown';
  }
}

/** `--rows=N` → N (underscores allowed); undefined when the flag is absent. */
function flagNumber(args: readonly string[], flag: string): number | undefined {
  const arg = args.find((a) => a.startsWith(`${flag}=`));
  if (arg === undefined) return undefined;
  const n = Number(arg.slice(flag.length + 1).replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${arg}: expected a positive whole number`);
  return n;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
