import { MemoryDatabase, MemoryDatabaseError, memoryAdapter } from '@highwater/memory';
import fc from 'fast-check';
import type { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import type { ChangeEvent } from '../../src/events/source-event.js';
import type { Source } from '../../src/source/source.js';
import type { SnapshotPhaseHooks, SourceOptions } from '../../src/source/source-options.js';
import type { Row } from '../../src/values/value.js';

/** One write (or fault) the scenario makes at some moment. */
export type Op =
  | { readonly kind: 'insert' | 'update' | 'delete'; readonly key: number; readonly v: number }
  | { readonly kind: 'move'; readonly key: number; readonly to: number }
  | { readonly kind: 'hold' | 'release' | 'failChunkRead' | 'dropLog' };

export type Phase = keyof SnapshotPhaseHooks<number>;
const PHASES: Phase[] = [
  'beforeLowWatermark',
  'afterLowWatermark',
  'afterRead',
  'beforeHighWatermark',
  'afterHighWatermark',
];

export interface Scenario {
  readonly initialKeys: readonly number[];
  readonly chunkSize: number;
  readonly parallelism: number;
  readonly batchSize: number;
  /** Writes at the n-th call of a phase hook (counted over the whole run, across restarts). */
  readonly atPhase: readonly { readonly phase: Phase; readonly nth: number; readonly ops: readonly Op[] }[];
  /** Writes once the snapshot is over. */
  readonly streamOps: readonly Op[];
  /** Crashes after the n-th batch taken; `committed` says whether that batch's checkpoint was stored first. */
  readonly crashes: readonly { readonly afterBatch: number; readonly committed: boolean }[];
}

const KEYS = 80;

export function opArbitrary(withFaults: boolean): fc.Arbitrary<Op> {
  const key = fc.integer({ min: 0, max: KEYS - 1 });
  const writes: fc.Arbitrary<Op>[] = [
    fc.record({ kind: fc.constantFrom('insert', 'update', 'delete'), key, v: fc.integer({ min: 0, max: 999 }) }),
    fc.record({ kind: fc.constant('move'), key, to: key }),
  ];
  if (withFaults) {
    writes.push(fc.record({ kind: fc.constantFrom('hold', 'release', 'failChunkRead', 'dropLog') }));
  }
  return fc.oneof(...writes) as fc.Arbitrary<Op>;
}

export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  initialKeys: fc.uniqueArray(fc.integer({ min: 0, max: KEYS - 1 }), { maxLength: 60, size: 'medium' }),
  chunkSize: fc.integer({ min: 1, max: 12 }),
  parallelism: fc.integer({ min: 1, max: 4 }),
  batchSize: fc.integer({ min: 1, max: 40 }),
  atPhase: fc.array(
    fc.record({
      phase: fc.constantFrom(...PHASES),
      nth: fc.integer({ min: 0, max: 12 }),
      ops: fc.array(opArbitrary(true), { minLength: 1, maxLength: 4 }),
    }),
    { maxLength: 16, size: 'medium' },
  ),
  streamOps: fc.array(opArbitrary(false), { maxLength: 12, size: 'medium' }),
  crashes: fc.array(fc.record({ afterBatch: fc.integer({ min: 0, max: 25 }), committed: fc.boolean() }), {
    maxLength: 3,
  }),
});

/** Applies one op; writes the database refuses (a key already there, a row not there) are skipped. */
export function applyOp(db: MemoryDatabase, op: Op): void {
  const faults = db.faults;
  try {
    switch (op.kind) {
      case 'insert':
        if (db.get(TABLE, [op.key]) === undefined) db.insert(TABLE, { id: op.key, v: op.v });
        return;
      case 'update':
        if (db.get(TABLE, [op.key]) !== undefined) db.update(TABLE, [op.key], { v: op.v });
        return;
      case 'delete':
        if (db.get(TABLE, [op.key]) !== undefined) db.delete(TABLE, [op.key]);
        return;
      case 'move':
        if (db.get(TABLE, [op.key]) !== undefined && db.get(TABLE, [op.to]) === undefined) {
          db.update(TABLE, [op.key], { id: op.to });
        }
        return;
      case 'hold':
        faults.visibilityLag = { holdCommits: true };
        return;
      case 'release':
        faults.visibilityLag = null;
        faults.releaseHeldCommits();
        return;
      case 'failChunkRead':
        faults.failChunkReads(1);
        return;
      case 'dropLog':
        faults.dropLogConnections({ afterItems: 1 });
        return;
    }
  } catch (error) {
    // Under held commits the visible state lags the log, so a write can meet a key it did not expect.
    if (!(error instanceof MemoryDatabaseError)) throw error;
  }
}

export const TABLE = 'sim.items';

/** What a transactional sink has stored: the rows and the checkpoint, always together. */
interface Committed {
  rows: Map<number, Row>;
  /** Per key: the high watermark of its snapshot read, and whether a change on it came before that read. */
  readAt: Map<number, number>;
  changed: Set<number>;
  offsetsSeen: Map<number, Set<number>>;
  checkpoint: Checkpoint | null;
}

export interface Outcome {
  readonly problems: string[];
  readonly restarts: number;
  readonly events: number;
}

export type SourceFactory = (options: SourceOptions<number>) => Source;

export interface RunOptions {
  readonly createSource: SourceFactory;
  readonly unsafeNaiveLowWatermark?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Runs a scenario: a table, writes at chunk phase boundaries and after the snapshot, crashes and
 * resumes; a consumer that stores rows and checkpoint together. Returns every invariant broken.
 */
export async function runScenario(s: Scenario, options: RunOptions): Promise<Outcome> {
  const db = new MemoryDatabase();
  db.createTable({
    name: TABLE,
    columns: [
      { name: 'id', type: { kind: 'int32' } },
      { name: 'v', type: { kind: 'int32' } },
    ],
    primaryKey: ['id'],
  });
  db.insertMany(
    TABLE,
    s.initialKeys.map((id) => ({ id, v: -1 })),
  );
  const calls = new Map<Phase, number>();
  const hook = (phase: Phase) => () => {
    const n = calls.get(phase) ?? 0;
    calls.set(phase, n + 1);
    for (const at of s.atPhase) if (at.phase === phase && at.nth === n) for (const op of at.ops) applyOp(db, op);
  };
  const phaseHooks: SnapshotPhaseHooks<number> = {};
  for (const p of PHASES) phaseHooks[p] = hook(p);

  const committed: Committed = {
    rows: new Map(),
    readAt: new Map(),
    changed: new Set(),
    offsetsSeen: new Map(),
    checkpoint: null,
  };
  const problems: string[] = [];
  let batchesTaken = 0;
  let restarts = 0;
  let events = 0;
  let streamWritten = false;
  const crashes = [...s.crashes].sort((a, b) => a.afterBatch - b.afterBatch);
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);

  for (;;) {
    const adapter = memoryAdapter(db, { unsafeNaiveLowWatermark: options.unsafeNaiveLowWatermark ?? false });
    const source = options.createSource({
      adapter,
      tables: { include: [TABLE] },
      chunkSize: s.chunkSize,
      parallelism: s.parallelism,
      batchSize: s.batchSize,
      // A heartbeat batch whenever the log moved without output, so the consumer sees the position reach the end.
      heartbeatIntervalMs: 2,
      resumeFrom: committed.checkpoint,
      phaseHooks,
      retry: { attempts: 50, initialDelayMs: 0, maxDelayMs: 1 },
    });
    let crashed = false;
    let finished = false;
    let timedOut = false;
    const watchdog = setTimeout(
      () => {
        timedOut = true;
        void source.close();
      },
      Math.max(0, deadline - Date.now()),
    );
    try {
      for await (const batch of source) {
        batchesTaken++;
        events += batch.events.length;
        const crash = crashes[0] !== undefined && crashes[0].afterBatch <= batchesTaken ? crashes.shift() : undefined;
        if (crash === undefined || crash.committed) {
          const staged = stage(committed, batch.events, problems);
          staged.checkpoint = JSON.parse(JSON.stringify(batch.checkpoint)) as Checkpoint;
          Object.assign(committed, staged);
        }
        if (crash !== undefined) {
          crashed = true;
          break;
        }
        const snapshotDone = Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream');
        if (snapshotDone && !streamWritten) {
          streamWritten = true;
          for (const op of s.streamOps) applyOp(db, op);
          db.faults.reset();
        }
        if (snapshotDone && streamWritten && Number(batch.checkpoint.position) >= db.logEnd()) {
          finished = true;
          break;
        }
      }
    } finally {
      clearTimeout(watchdog);
      await source.close();
    }
    if (timedOut) {
      problems.push(`did not finish in time: ${JSON.stringify(source.metrics())}`);
      return { problems, restarts, events };
    }
    if (finished) break;
    if (!crashed) throw new Error('the source ended by itself in initial mode');
    restarts++;
  }

  const expected = new Map(db.snapshotRows(TABLE).map((r) => [r.id as number, r]));
  for (const [id, row] of expected) {
    const got = committed.rows.get(id);
    if (got === undefined) problems.push(`row ${id} is missing`);
    else if (got.v !== row.v) problems.push(`row ${id} has v=${String(got.v)}, the table has ${String(row.v)}`);
  }
  for (const id of committed.rows.keys()) if (!expected.has(id)) problems.push(`row ${id} should have been deleted`);
  if (db.openConnections().length > 0) problems.push(`${db.openConnections().length} connections left open`);
  return { problems, restarts, events };
}

/** Applies a batch to a copy of the committed state, recording broken invariants. */
function stage(base: Committed, events: readonly unknown[], problems: string[]): Committed {
  const next: Committed = {
    rows: new Map(base.rows),
    readAt: new Map(base.readAt),
    changed: new Set(base.changed),
    offsetsSeen: new Map([...base.offsetsSeen].map(([k, v]) => [k, new Set(v)])),
    checkpoint: base.checkpoint,
  };
  for (const e of events as { kind: string }[]) {
    if (e.kind !== 'change') continue;
    const c = e as ChangeEvent;
    const offset = Number(c.source.offset);
    if (c.op === 'r') {
      const id = c.after?.id as number;
      if (next.readAt.has(id)) problems.push(`row ${id} read twice by the snapshot`);
      if (next.changed.has(id)) problems.push(`row ${id} read by the snapshot after a change on it was emitted`);
      next.readAt.set(id, offset);
      next.rows.set(id, c.after as Row);
      continue;
    }
    const keys = new Set<number>();
    if (c.before !== null) keys.add(c.before.id as number);
    if (c.after !== null) keys.add(c.after.id as number);
    for (const id of keys) {
      const hw = next.readAt.get(id);
      if (hw !== undefined && offset <= hw) {
        problems.push(`change at ${offset} on row ${id} emitted although the snapshot read it as of ${hw}`);
      }
      const seen = next.offsetsSeen.get(id) ?? new Set<number>();
      if (seen.has(offset)) problems.push(`change at ${offset} on row ${id} emitted twice`);
      seen.add(offset);
      next.offsetsSeen.set(id, seen);
      next.changed.add(id);
    }
    if (c.before !== null) next.rows.delete(c.before.id as number);
    if (c.after !== null) next.rows.set(c.after.id as number, c.after);
  }
  return next;
}
