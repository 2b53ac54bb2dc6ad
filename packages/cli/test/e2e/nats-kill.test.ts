import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNatsSinkCommit } from '@highwater/sink-nats';
import {
  pickFreePort,
  startNats,
  startPostgres,
  type ThrowawayNats,
  type ThrowawayPostgres,
} from '@highwater/test-servers';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, RunningPipeline, sleep, until } from './cli.js';
import { type AppliedChange, checkExactlyOnce, type SourceWrite } from './exactly-once.js';
import { connectSource, createSourceTables, initialKeys, RecordingWriter, random } from './source-db.js';

// Postgres → NATS JetStream through the built `highwater` command, SIGKILLed at random moments during
// the snapshot and while streaming under a concurrent writer, restarted each time. Then a plain
// JetStream consumer, independent of the sink, reads the stream: every source change must be there
// exactly once (the audit rules of exactly-once.ts, with no merging allowed: one message per event),
// each key's messages in the source's order, and the streamed changes in commit order.

const NAME = 'e2e-nats';
const SIZE = { items: 20_000, tags: 10_000, orders: 10_000 };

interface StreamEvent {
  readonly seq: number;
  readonly commit: string;
  readonly table: string;
  readonly key: string;
  readonly op: string;
  readonly ver: number;
  readonly snapshot: boolean;
}

/** Every table event in the stream, read from the start by an ordered consumer of `<prefix>.*.*`. */
async function readEvents(url: string, stream: string): Promise<StreamEvent[]> {
  const connection = await connect({ servers: url });
  try {
    const consumer = await jetstream(connection).consumers.get(stream, {
      filter_subjects: `${NAME}.*.*`,
      deliver_policy: DeliverPolicy.All,
    });
    let pending = (await consumer.info(true)).num_pending;
    const events: StreamEvent[] = [];
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 10_000), expires: 5_000 });
      for await (const m of batch) {
        const event = m.json<{
          op: string;
          key: Record<string, string | number>;
          before: { ver: string } | null;
          after: { ver: string } | null;
          source: { tableId: { name: string }; snapshot: boolean };
        }>();
        const table = event.source.tableId.name;
        const k = event.key;
        const key = table === 'items' ? String(k.id) : table === 'tags' ? String(k.code) : `${k.order_id}/${k.line_no}`;
        events.push({
          seq: m.seq,
          commit: (m.headers?.get('Highwater-Position') ?? '').split('.')[0]!,
          table,
          key,
          op: event.op,
          ver: Number((event.after ?? event.before)!.ver),
          snapshot: event.source.snapshot,
        });
        pending = m.info.pending;
        if (pending === 0) break;
      }
    }
    return events;
  } finally {
    await connection.close();
  }
}

function asApplied(events: readonly StreamEvent[]): AppliedChange[] {
  const op = { r: 'INSERT', c: 'INSERT', u: 'UPDATE', d: 'DELETE' } as const;
  return events.map((e) => ({
    n: e.seq,
    tx: e.commit,
    table: e.table,
    key: e.key,
    op: op[e.op as keyof typeof op],
    ver: e.ver,
  }));
}

/**
 * Changes made after the snapshot was done whose source write comes before that of a change earlier
 * in the stream. (While chunks are open the core holds a chunk's later changes back until the chunk's
 * rows go out — per key in order, not in commit order across keys — so only changes after
 * `afterSeq`, when no chunk is open any more, must follow commit order.)
 */
function outOfCommitOrder(events: readonly StreamEvent[], writes: readonly SourceWrite[], afterSeq: number): string[] {
  const seqOf = new Map(writes.map((w) => [`${w.table}:${w.key}:${w.op === 'delete' ? 'd' : 'u'}:${w.ver}`, w.seq]));
  const problems: string[] = [];
  let last = 0;
  for (const e of events) {
    if (e.snapshot) continue;
    const seq = seqOf.get(`${e.table}:${e.key}:${e.op === 'd' ? 'd' : 'u'}:${e.ver}`);
    if (seq === undefined || seq <= afterSeq) continue; // checkExactlyOnce reports changes no write made
    if (seq <= last)
      problems.push(`${e.table}:${e.key} ${e.op} (write #${seq}) at stream #${e.seq} after write #${last}`);
    last = Math.max(last, seq);
  }
  return problems.slice(0, 20);
}

async function storedPhase(url: string): Promise<'snapshot' | 'stream' | null> {
  const marker = await readNatsSinkCommit({ url, pipeline: NAME });
  const tables = marker?.checkpoint?.tables;
  if (tables === undefined) return null;
  const phases = Object.values(tables).map((t) => t.phase);
  return phases.length > 0 && phases.every((p) => p === 'stream') ? 'stream' : 'snapshot';
}

describe('Postgres → NATS JetStream, killed and restarted under load', () => {
  const seed = Number(process.env.HIGHWATER_E2E_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let source: ThrowawayPostgres | undefined;
  let nats: ThrowawayNats | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'hw-e2e-nats-'));
    [source, nats] = await Promise.all([startPostgres({ useEnv: false }), startNats()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), nats?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('holds every source change exactly once, per key in order, changes in commit order', async () => {
    if (source === undefined || nats === undefined || dir === undefined) throw new Error('servers not started');
    console.log(`nats seed ${seed} (HIGHWATER_E2E_SEED=${seed} repeats it)`);
    const rand = random(seed);
    const db = await connectSource('postgres', source.url);
    const writer = new RecordingWriter(db, SIZE, random(seed ^ 0x5bd1e995));
    let pipeline: RunningPipeline | null = null;
    try {
      await createSourceTables(db, SIZE);
      // Deletes carry the whole old row (with its `ver`), not the key alone: the consumer has no table to look it up in.
      for (const table of ['items', 'tags', 'lines']) await db.run(`ALTER TABLE e2e.${table} REPLICA IDENTITY FULL`);
      const metricsPort = await pickFreePort();
      const file = join(dir, `${NAME}.yaml`);
      await writeFile(
        file,
        [
          `name: ${NAME}`,
          'source:',
          '  adapter: postgres',
          `  connection: '${source.url}'`,
          "  tables: { include: ['e2e.*'] }",
          '  chunkSize: 1000',
          '  parallelism: 2',
          'sink:',
          '  type: nats',
          `  url: '${nats.url}'`,
          `metrics: { port: ${metricsPort} }`,
          'restart: { attempts: 30, initialDelayMs: 200, maxDelayMs: 1000 }',
          '',
        ].join('\n'),
      );

      writer.start();
      // As in scenario.ts: writes after the stored checkpoint leaves the snapshot phase must each be there.
      let snapshotDoneSeq = Number.POSITIVE_INFINITY;
      const noteState = async (state: string | undefined) => {
        if (state !== 'stream' || snapshotDoneSeq !== Number.POSITIVE_INFINITY) return;
        if ((await storedPhase(nats!.url)) === 'stream') snapshotDoneSeq = writer.issuedSeq;
      };
      const kills: { planned: string; observed: string; exit: string }[] = [];
      const runs: RunningPipeline[] = [];
      for (const planned of ['snapshot', 'snapshot', 'stream', 'stream'] as const) {
        pipeline = new RunningPipeline(file, metricsPort);
        runs.push(pipeline);
        const current = pipeline;
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
        await sleep(planned === 'snapshot' ? rand(700) : 200 + rand(1500));
        const observed = (await current.state())?.state ?? 'no answer';
        await noteState(observed);
        if (writer.failure !== null) throw writer.failure;
        const exit = await current.kill('SIGKILL');
        kills.push({ planned, observed, exit: exit.signal ?? `code ${exit.code}` });
        console.log(`${NAME}: kill ${kills.length}: ${JSON.stringify(kills.at(-1))}`);
        if (exit.signal !== 'SIGKILL') throw new Error(`a run ended before its kill:\n${current.tail()}`);
      }

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
      const sentinel = String(await writer.sentinel());
      const stream = `highwater-${NAME}`;
      let events: StreamEvent[] = [];
      await until(
        'the sentinel in the stream',
        async () => {
          events = await readEvents(nats!.url, stream);
          return events.some((e) => e.table === 'items' && e.key === sentinel);
        },
        { pipeline: last, timeoutMs: 60_000 },
      );
      const finalExit = await last.kill('SIGTERM');
      // How many restarts found a batch cut short by the kill (and removed its messages): timing decides.
      const removed = runs.filter((run) => run.output.includes('removed the messages of a batch')).length;

      const report = checkExactlyOnce(initialKeys(SIZE), writer.writes, asApplied(events), snapshotDoneSeq);
      console.log(
        `${NAME}: ${writer.writes.length} source writes, ${events.length} messages, ` +
          `${report.beforeSnapshot} writes before their snapshot copy; snapshot done by write #${snapshotDoneSeq}; ` +
          `${removed} restarts removed a batch cut short`,
      );
      const context = `seed ${seed}`;
      expect(kills.map((k) => k.exit)).toEqual(kills.map(() => 'SIGKILL'));
      expect(
        kills.some((k) => k.observed === 'snapshot'),
        `${context}: a kill during the snapshot`,
      ).toBe(true);
      expect(
        kills.some((k) => k.observed === 'stream'),
        `${context}: a kill while streaming`,
      ).toBe(true);
      expect(finalExit, `${context}\n${last.tail()}`).toEqual({ code: 0, signal: null });
      expect(report.problems, context).toEqual([]);
      // One message per event: no write may be missing as "merged into a later upsert".
      expect(report.merged, context).toBe(0);
      expect(outOfCommitOrder(events, writer.writes, snapshotDoneSeq), context).toEqual([]);
      expect(writer.writes.filter((w) => w.seq > snapshotDoneSeq).length, 'changes after the snapshot').toBeGreaterThan(
        50,
      );
      expect(writer.writes.length).toBeGreaterThan(100);
    } finally {
      if (pipeline?.running) await pipeline.kill('SIGKILL');
      await writer.stop().catch(() => undefined);
      await db.close();
    }
  }, 240_000);
});
