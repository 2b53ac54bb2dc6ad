import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSource, MemoryCheckpointStore } from '@highwater/core';
import { type ChangelogMode, mongodbAdapter } from '@highwater/mongodb';
import { MongoClient, Timestamp } from 'mongodb';
import { type Measurement, median, type RunPlan, sideBySide } from '../core/measure.js';

/**
 * `npm run bench -- mongodb`: the MongoDB adapter against the bare `mongodb` driver, both reading
 * the MongoDB wire-protocol SIMULATOR of @highwater/test-servers (no MongoDB server can run here),
 * which runs in a child process of its own so its work is not counted on either side.
 *
 * - snapshot: documents per second, a Highwater `startup: 'snapshot'` source (chunks by `_id`,
 *   watermarks, conversion to rows; the heartbeat collection in the captured database) against one
 *   bare `find` over the collection;
 * - stream: changes per second (half inserts, half updates, with pre- and post-images) from a
 *   position before them, a Highwater source (changelog `preImages`) against a bare change stream
 *   counting events with the same image options;
 * - normalize: the same stream with changelog `normalize` (the disk-backed last-image store, each
 *   change written to it when its checkpoint is stored) against changelog `preImages`: the store's
 *   cost per event is the difference of the two times per event;
 * - store size: the store file's bytes per document after seeding, extrapolated to a million.
 */
export async function mongodbBenchmarks(quick: boolean, plan: RunPlan): Promise<string> {
  const docs = quick ? 20_000 : 100_000;
  const changes = quick ? 10_000 : 50_000;
  const sim = await startSimulatorProcess();
  const client = new MongoClient(sim.url, { useBigInt64: true });
  const dirs: string[] = [];
  try {
    await client.connect();
    await load(client, docs);
    const snapshot = await sideBySide(
      plan,
      () => bareFind(client, docs),
      () => highwaterSnapshot(sim.url, docs),
    );
    const from = await writeChanges(client, changes);
    const stream = await sideBySide(
      plan,
      () => bareStream(client, sim, from, changes),
      () => highwaterStream(sim, from, changes, 'preImages', null),
    );
    const storeDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'hw-bench-images-'));
      dirs.push(dir);
      return dir;
    };
    const normalize = await sideBySide(
      plan,
      () => highwaterStream(sim, from, changes, 'preImages', null),
      () => highwaterStream(sim, from, changes, 'normalize', storeDir()),
    );
    const rows = [
      row(
        'snapshot (documents/s)',
        `${fmt(docs)} documents`,
        snapshot.limit,
        snapshot.highwater,
        'bare `find` over the collection',
      ),
      row(
        'stream (changes/s)',
        `${fmt(changes)} changes`,
        stream.limit,
        stream.highwater,
        'bare change stream counting events',
      ),
      row(
        'normalize stream (changes/s)',
        `${fmt(changes)} changes`,
        normalize.limit,
        normalize.highwater,
        'the same source with changelog `preImages`',
      ),
    ];
    const perEvent = (1 / rate(normalize.highwater) - 1 / rate(normalize.limit)) * 1e6;
    const bytesPerDoc = median(normalize.highwater.map((m) => m.extra.storeBytes ?? Number.NaN)) / (docs + changes / 2);
    const seedPerDoc = median(normalize.highwater.map((m) => m.extra.seedSeconds ?? Number.NaN)) / (docs + changes / 2);
    const cpu = (ms: readonly Measurement[], name: string) =>
      median(ms.map((m) => m.extra[name] ?? Number.NaN)).toFixed(1);
    return [
      'MongoDB adapter benchmarks (on the MongoDB wire-protocol SIMULATOR of @highwater/test-servers, in a child process; not a MongoDB server)',
      '',
      '| What | Size | Limit | Highwater | Ratio | Limit is |',
      '| --- | --- | ---: | ---: | ---: | --- |',
      ...rows,
      '',
      `Normalize store: ${perEvent.toFixed(1)} µs more per change than \`preImages\` (the store's lookup, update application and acknowledged write); ` +
        `file ${bytesPerDoc.toFixed(0)} bytes per document (${((bytesPerDoc * 1e6) / 2 ** 20).toFixed(0)} MiB per million, extrapolated from ${fmt(docs + changes / 2)}); ` +
        `seeding ${(seedPerDoc * 1e6).toFixed(0)} s per million documents (extrapolated; includes the simulator's snapshot read).`,
      '',
      `Stream CPU per change (median, from the first change): this process ${cpu(stream.limit, 'cpuUs')} µs bare, ${cpu(stream.highwater, 'cpuUs')} µs Highwater; ` +
        `the simulator's process ${cpu(stream.limit, 'simCpuUs')} µs serving the bare stream, ${cpu(stream.highwater, 'simCpuUs')} µs serving Highwater's.`,
    ].join('\n');
  } finally {
    await client.close();
    sim.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const rate = (ms: readonly Measurement[]) => median(ms.map((m) => m.count / m.seconds));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function row(
  what: string,
  size: string,
  limit: readonly Measurement[],
  hw: readonly Measurement[],
  is: string,
): string {
  const l = rate(limit);
  const h = rate(hw);
  return `| ${what} | ${size} | ${fmt(l)} | ${fmt(h)} | ${(h / l).toFixed(2)} | ${is} |`;
}

interface SimulatorProcess {
  readonly url: string;
  /** CPU seconds the simulator's process has used (NaN where /proc is not there). */
  cpuSeconds(): number;
  stop(): void;
}

/** CPU of both processes from `start` (taken at a run's first change), in µs per change. */
function cpuFrom(
  start: { own: NodeJS.CpuUsage; sim: number },
  sim: SimulatorProcess,
  n: number,
): Record<string, number> {
  const own = process.cpuUsage(start.own);
  return { cpuUs: (own.user + own.system) / n, simCpuUs: ((sim.cpuSeconds() - start.sim) * 1e6) / n };
}

/** The simulator's `highwater-mongo-sim` in a child process; resolves with its connection string. */
function startSimulatorProcess(): Promise<SimulatorProcess> {
  const bin = fileURLToPath(new URL('./bin/mongo-sim.js', import.meta.resolve('@highwater/test-servers')));
  const child: ChildProcess = spawn(process.execPath, [bin], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the MongoDB simulator exited (${code}) before it printed its URL`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        child.removeAllListeners('exit');
        resolve({
          url: line.trim(),
          cpuSeconds: () => processCpuSeconds(child.pid),
          stop: () => child.kill('SIGTERM'),
        });
      }
    });
  });
}

/** utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux). */
function processCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function load(client: MongoClient, docs: number): Promise<void> {
  const coll = client.db('bench').collection('orders');
  for (let i = 0; i < docs; i += 5000) {
    const batch = [];
    for (let k = i; k < Math.min(docs, i + 5000); k++) {
      batch.push({
        _id: k,
        customer: `customer ${k % 977}`,
        amount: (k * 37) % 100000,
        status: 'new',
        tags: ['a', k % 7],
      });
    }
    await coll.insertMany(batch as never);
  }
}

async function bareFind(client: MongoClient, docs: number): Promise<Measurement> {
  const t = performance.now();
  let n = 0;
  for await (const _doc of client.db('bench').collection('orders').find({}, { batchSize: 4096 })) n++;
  if (n !== docs) throw new Error(`bare find read ${n} of ${docs} documents`);
  return { seconds: (performance.now() - t) / 1000, count: n, extra: {} };
}

async function highwaterSnapshot(url: string, docs: number): Promise<Measurement> {
  const t = performance.now();
  const source = createSource({
    // The heartbeat in the captured database, as docs/adapters/mongodb.md ("Watermarks") advises for fast
    // snapshots: the stream then sees each high watermark's marker instead of waiting out maxAwaitTimeMS.
    adapter: mongodbAdapter({
      url,
      databases: ['bench'],
      rows: 'document',
      heartbeat: { database: 'bench', collection: 'highwater_heartbeat' },
    }),
    tables: { include: ['bench.orders'] },
    startup: { mode: 'snapshot' },
  });
  let n = 0;
  for await (const batch of source) for (const e of batch.events) if (e.kind === 'change') n++;
  if (n !== docs) throw new Error(`the Highwater snapshot read ${n} of ${docs} documents`);
  return { seconds: (performance.now() - t) / 1000, count: n, extra: {} };
}

/** Writes half inserts, half updates to `bench.stream`, in a second of their own; returns the second they start in. */
async function writeChanges(client: MongoClient, changes: number): Promise<Timestamp> {
  const db = client.db('bench');
  await db.createCollection('stream', { changeStreamPreAndPostImages: { enabled: true } });
  const coll = db.collection('stream');
  // Start on a fresh second: the stream is read from its start, which cluster time counts in seconds.
  const second = Math.floor(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, second * 1000 - Date.now() + 5));
  const inserts = changes / 2;
  for (let i = 0; i < inserts; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, inserts - i) }, (_, k) => ({ _id: i + k, n: 0, note: 'x' }));
    await coll.insertMany(batch as never);
  }
  for (let i = 0; i < inserts; i++) await coll.updateOne({ _id: i } as never, { $inc: { n: 1 } });
  return new Timestamp({ t: second, i: 0 });
}

/** Timed from the first change, as the Highwater side is: neither counts opening its stream. */
async function bareStream(
  client: MongoClient,
  sim: SimulatorProcess,
  from: Timestamp,
  changes: number,
): Promise<Measurement> {
  let t = 0;
  let cpu = { own: process.cpuUsage(), sim: 0 };
  const stream = client.db('bench').watch([{ $match: { 'ns.coll': 'stream' } }], {
    startAtOperationTime: from,
    fullDocument: 'required',
    fullDocumentBeforeChange: 'required',
  });
  let n = 0;
  try {
    while (n < changes) {
      await stream.next();
      if (n === 0) {
        t = performance.now();
        cpu = { own: process.cpuUsage(), sim: sim.cpuSeconds() };
      }
      n++;
    }
  } finally {
    await stream.close();
  }
  return { seconds: (performance.now() - t) / 1000, count: n, extra: cpuFrom(cpu, sim, n) };
}

async function highwaterStream(
  sim: SimulatorProcess,
  from: Timestamp,
  changes: number,
  changelog: ChangelogMode,
  storeDirectory: string | null,
): Promise<Measurement> {
  const started = performance.now();
  const source = createSource({
    adapter: mongodbAdapter({
      url: sim.url,
      databases: ['bench'],
      rows: 'document',
      changelog,
      ...(storeDirectory === null ? {} : { normalizeStore: { directory: storeDirectory } }),
    }),
    tables: { include: ['bench.stream', 'bench.orders'] },
    startup: { mode: 'timestamp', timestamp: new Date(from.t * 1000) },
    checkpointStore: new MemoryCheckpointStore(),
  });
  // Timed from the first change: a normalize store is seeded before it (measured apart).
  let t = 0;
  let cpu = { own: process.cpuUsage(), sim: 0 };
  let n = 0;
  try {
    for await (const batch of source) {
      for (const e of batch.events) {
        if (e.kind !== 'change' || e.source.table !== 'bench.stream') continue;
        if (n === 0) {
          t = performance.now();
          cpu = { own: process.cpuUsage(), sim: sim.cpuSeconds() };
        }
        n++;
      }
      if (n >= changes) break;
    }
  } finally {
    await source.close();
  }
  const seconds = (performance.now() - t) / 1000;
  const extra: Record<string, number> = { seedSeconds: (t - started) / 1000, ...cpuFrom(cpu, sim, n) };
  if (storeDirectory !== null) {
    extra.storeBytes = readdirSync(storeDirectory).reduce((sum, f) => sum + statSync(join(storeDirectory, f)).size, 0);
  }
  return { seconds, count: n, extra };
}
