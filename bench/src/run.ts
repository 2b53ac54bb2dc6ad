/**
 * `npm run bench [-- [--quick] [name filter]]`: the core benchmarks, each side by side with its
 * limit in this process, printed as Markdown tables (results are recorded in docs/benchmarks.md).
 *
 * - `--quick`: small sizes, one measured run, for a smoke test;
 * - a name filter runs only the benchmarks whose name contains it (`stream`, `snapshot`, `writes`).
 */
import { cpus, loadavg } from 'node:os';
import type { RunPlan } from './core/measure.js';
import { type BenchmarkReport, emptyReport, formatReport } from './core/report.js';
import { snapshotBenchmark } from './core/snapshot.js';
import { snapshotUnderWritesBenchmark } from './core/snapshot-under-writes.js';
import { streamBenchmark } from './core/stream.js';

interface Benchmark {
  readonly name: string;
  readonly run: (plan: RunPlan) => Promise<BenchmarkReport>;
}

function benchmarks(quick: boolean): Benchmark[] {
  const size = (full: number, small: number) => (quick ? small : full);
  const list: Benchmark[] = [
    { name: 'stream', run: (plan) => streamBenchmark(size(2_000_000, 100_000), plan) },
    { name: 'snapshot', run: (plan) => snapshotBenchmark('snapshot', size(1_000_000, 100_000), plan) },
  ];
  if (!quick) list.push({ name: 'snapshot 2x', run: (plan) => snapshotBenchmark('snapshot 2x', 2_000_000, plan) });
  list.push({
    name: 'snapshot under writes',
    run: (plan) => snapshotUnderWritesBenchmark(size(1_000_000, 100_000), plan),
  });
  return list;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const filter = args.find((a) => !a.startsWith('--'))?.toLowerCase();
  const plan: RunPlan = quick ? { warmups: 1, runs: 1 } : { warmups: 1, runs: 5 };
  const selected = benchmarks(quick).filter((b) => filter === undefined || b.name.includes(filter));
  if (selected.length === 0) {
    const names = benchmarks(quick).map((b) => b.name);
    throw new Error(`no benchmark matches "${filter}"; they are: ${names.join(', ')}`);
  }
  const report = emptyReport();
  // Other work on the machine shows here: a 2-core machine with a load near 2 halves the figures.
  const loadBefore = loadavg()[0] as number;
  const started = performance.now();
  for (const b of selected) {
    process.stderr.write(`running ${b.name}…\n`);
    const r = await b.run(plan);
    report.throughput.push(...r.throughput);
    report.memory.push(...r.memory);
    report.notes.push(...r.notes);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `Highwater core benchmarks${quick ? ' (--quick)' : ''}: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; ` +
      `warm-up ${plan.warmups}, median of ${plan.runs} run${plan.runs === 1 ? '' : 's'} per side; ${seconds.toFixed(0)} s in all; ` +
      `1-minute load average ${loadBefore.toFixed(2)} before, ${(loadavg()[0] as number).toFixed(2)} after\n`,
  );
  console.log(formatReport(report, plan.runs));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
