import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNatsSinkCommit } from '@highwater/sink-nats';
import { startNats, startPostgres, type ThrowawayNats, type ThrowawayPostgres } from '@highwater/test-servers';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from './cli.js';
import type { AppliedChange, SourceWrite } from './exactly-once.js';
import { expectKilledAndExact, type KillTarget, runKillScenario } from './scenario.js';

// Postgres → NATS JetStream through the built `highwater` command, SIGKILLed at random moments during
// the snapshot and while streaming under a concurrent writer, restarted each time (scenario.ts). Then a plain
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

/** The NATS sink as a kill scenario's target: `applied()` is what a plain consumer reads from the stream. */
function natsTarget(url: string): KillTarget & { readonly events: () => StreamEvent[] } {
  let events: StreamEvent[] = [];
  const read = async () => {
    events = await readEvents(url, `highwater-${NAME}`);
    return events;
  };
  return {
    sinkLines: ['  type: nats', `  url: '${url}'`],
    verify: false,
    // Deletes carry the whole old row (with its `ver`), not the key alone: a consumer has no table to look it up in.
    prepare: async (db) => {
      for (const table of ['items', 'tags', 'lines']) await db.run(`ALTER TABLE e2e.${table} REPLICA IDENTITY FULL`);
    },
    storedPhase: async (pipeline) => {
      const tables = (await readNatsSinkCommit({ url, pipeline }))?.checkpoint?.tables;
      if (tables === undefined) return null;
      const phases = Object.values(tables).map((t) => t.phase);
      return phases.length > 0 && phases.every((p) => p === 'stream') ? 'stream' : 'snapshot';
    },
    hasItem: async (id) => (await read()).some((e) => e.table === 'items' && e.key === String(id)),
    applied: async () => asApplied(await read()),
    events: () => events,
  };
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
    const target = natsTarget(nats.url);
    const result = await runKillScenario({
      name: NAME,
      source: { dialect: 'postgres', url: source.url },
      target,
      dir,
      seed,
      size: SIZE,
      kills: { snapshot: 2, stream: 2 },
      log: (line) => console.log(line),
    });
    // How many restarts found a batch cut short by the kill (and removed its messages): timing decides.
    const removed = result.outputs.filter((output) => output.includes('removed the messages of a batch')).length;
    console.log(`${NAME}: ${target.events().length} messages; ${removed} restarts removed a batch cut short`);
    const context = `seed ${seed}`;
    expectKilledAndExact(result, context);
    // One message per event: no write may be missing as "merged into a later write of the same batch".
    expect(result.exactlyOnce.merged, context).toBe(0);
    expect(outOfCommitOrder(target.events(), result.writes, result.snapshotDoneSeq), context).toEqual([]);
    const afterSnapshot = result.writes.filter((w) => w.seq > result.snapshotDoneSeq).length;
    expect(afterSnapshot, 'changes after the snapshot').toBeGreaterThan(50);
  }, 240_000);
});
