import type { EventBatch, Sink, TableSchema } from '@highwater/core';
import type { Random } from '../support/random.js';
import { differences } from './expected.js';
import type { SinkHarness, StoredState } from './harness.js';
import { ITEMS, itemRow, ORDERS, orderRow, positionOf, Workload } from './workload.js';

/** What a sink case gets: the harness, a destination of its own and a seeded random source. */
export interface SinkCaseContext {
  readonly harness: SinkHarness;
  readonly target: string;
  readonly random: Random;
  readonly log: (message: string) => void;
}

export interface SinkCase {
  readonly id: string;
  readonly title: string;
  /** What the case needs of the harness; it is skipped with the reason otherwise. */
  readonly needs?: readonly ('tables' | 'checkpoints' | 'abandon')[];
  run(context: SinkCaseContext): Promise<void>;
}

/** A failed sink case: what was checked, after which batch, and how the stored data differs. */
export class SinkConformanceFailure extends Error {
  override readonly name = 'SinkConformanceFailure';
}

/** Opens a sink on the case's destination and checks it says what the harness declared. */
async function openSink(c: SinkCaseContext, tables: readonly TableSchema[]): Promise<{ sink: Sink; position: number }> {
  const sink = await c.harness.createSink(c.target, tables);
  if (sink.storesCheckpoints !== c.harness.storesCheckpoints) {
    throw new SinkConformanceFailure(
      `the harness declares storesCheckpoints: ${c.harness.storesCheckpoints} but the sink says ${sink.storesCheckpoints}`,
    );
  }
  const checkpoint = await sink.open();
  if (!sink.storesCheckpoints && checkpoint !== null) {
    throw new SinkConformanceFailure('open() returned a checkpoint from a sink that does not store checkpoints');
  }
  return { sink, position: positionOf(checkpoint) };
}

/** Reads the destination back and fails unless it holds exactly `batches` (and, with checkpoints, their last checkpoint). */
async function expectStored(
  c: SinkCaseContext,
  batches: readonly EventBatch[],
  tables: readonly TableSchema[],
  when: string,
): Promise<StoredState> {
  const state = await c.harness.readBack(c.target, tables);
  const found: string[] = [];
  if (state.data.kind !== c.harness.stores) {
    found.push(`readBack gave ${state.data.kind}, the harness declares ${c.harness.stores}`);
  } else {
    found.push(...differences(state.data, batches, tables));
  }
  if (c.harness.storesCheckpoints && positionOf(state.checkpoint) !== batches.length) {
    found.push(`stored checkpoint is at batch ${positionOf(state.checkpoint)}, expected ${batches.length}`);
  }
  if (found.length > 0) throw new SinkConformanceFailure(`${when}:\n  ${found.join('\n  ')}`);
  return state;
}

/** Writes `work`'s batches one by one, checking the destination after each. */
async function writeChecked(c: SinkCaseContext, work: Workload): Promise<void> {
  const { sink } = await openSink(c, work.tablesAfter(0));
  try {
    for (let i = 0; i < work.batches.length; i++) {
      await sink.write(work.batches[i] as EventBatch);
      await expectStored(c, work.batches.slice(0, i + 1), work.tablesAfter(i + 1), `after batch ${i + 1}`);
    }
  } finally {
    await sink.close();
  }
}

const storesCheckpoint: SinkCase = {
  id: 'stores-checkpoint',
  title:
    'open() gives null on a fresh destination, then the checkpoint stored with the last write, also of an empty batch',
  needs: ['checkpoints'],
  async run(c) {
    const work = new Workload();
    for (let id = 1; id <= 10; id++) work.insert(ITEMS, itemRow(id, c.random));
    work.commit();
    work.update(ITEMS, itemRow(3, c.random), itemRow(3, c.random)).commit();
    work.commit(); // no events: a heartbeat or a finished chunk still moves the checkpoint
    const first = await openSink(c, work.tables);
    try {
      if (first.position !== 0)
        throw new SinkConformanceFailure(`a fresh destination gave checkpoint ${first.position}`);
      for (const batch of work.batches) await first.sink.write(batch);
    } finally {
      await first.sink.close();
    }
    const again = await openSink(c, work.tables);
    try {
      if (again.position !== 3) {
        throw new SinkConformanceFailure(`reopened after 3 writes, open() gave checkpoint ${again.position}`);
      }
      await expectStored(c, work.batches, work.tables, 'after 3 writes and a reopen');
    } finally {
      await again.sink.close();
    }
  },
};

const orderPerKey: SinkCase = {
  id: 'order-per-key',
  title: 'changes of one key, in one batch and across batches, end as the last one left them (key moves, re-inserts)',
  async run(c) {
    const r = c.random;
    const work = new Workload();
    let one = itemRow(1, r);
    work.insert(ITEMS, one);
    for (let i = 0; i < 5; i++) {
      const next = itemRow(1, r);
      work.update(ITEMS, one, next);
      one = next;
    }
    work.delete(ITEMS, one);
    one = itemRow(1, r);
    work.insert(ITEMS, one);
    let two = itemRow(2, r);
    work.insert(ITEMS, two);
    const three = { ...itemRow(3, r), name: 'moved from 2' };
    work.update(ITEMS, two, three); // the key changes: row 2 becomes row 3
    two = itemRow(2, r);
    work.insert(ITEMS, two); // the freed key is used again
    work.commit();
    for (let i = 0; i < 50; i++) {
      const next = itemRow(1, r);
      work.update(ITEMS, one, next);
      one = next;
    }
    work.delete(ITEMS, three).insert(ITEMS, itemRow(4, r)).delete(ITEMS, itemRow(4, r));
    work.commit();
    const back = itemRow(3, r);
    work
      .insert(ITEMS, back)
      .update(ITEMS, back, { ...back, id: 5 })
      .update(ITEMS, { ...back, id: 5 }, back);
    work.commit();
    await writeChecked(c, work);
  },
};

const commitOrder: SinkCase = {
  id: 'commit-order-across-tables',
  title:
    'changes to several tables interleaved in commit order, with a truncate between them, are stored in that order',
  async run(c) {
    const r = c.random;
    const work = new Workload();
    for (let i = 1; i <= 100; i++) {
      work.insert(ITEMS, itemRow(i, r)).insert(ORDERS, orderRow(i % 2 === 0 ? 'north' : 'south', i, r));
    }
    work.commit();
    for (let i = 1; i <= 50; i++) work.update(ITEMS, itemRow(i, r), itemRow(i, r));
    work.truncate(ORDERS);
    for (let i = 1; i <= 30; i++) work.insert(ORDERS, orderRow('east', i, r)).delete(ITEMS, itemRow(i + 50, r));
    work.commit();
    await writeChecked(c, work);
  },
};

const deletes: SinkCase = {
  id: 'deletes',
  title: 'deletes by one- and two-column keys remove exactly their rows; a delete of a row never stored is harmless',
  async run(c) {
    const r = c.random;
    const work = new Workload();
    for (let i = 1; i <= 2000; i++) work.insert(ITEMS, itemRow(i, r));
    for (let i = 1; i <= 300; i++) work.insert(ORDERS, orderRow(i % 3 === 0 ? 'west' : 'north', i, r));
    work.commit();
    for (let i = 2; i <= 2000; i += 2) work.delete(ITEMS, itemRow(i, r));
    // Rows the destination never had: a delete of one must neither fail nor store anything.
    for (let i = 5001; i <= 5010; i++) work.delete(ITEMS, itemRow(i, r));
    work.commit();
    for (let i = 1; i <= 300; i++) if (i % 3 === 0) work.delete(ORDERS, orderRow('west', i, r));
    work.commit();
    await writeChecked(c, work);
  },
};

const addColumn: SinkCase = {
  id: 'schema-add-column',
  title: 'a schema change adding a column: later rows carry it, earlier rows read it as null',
  async run(c) {
    const r = c.random;
    const work = new Workload();
    for (let i = 1; i <= 100; i++) work.insert(ITEMS, itemRow(i, r));
    work.commit();
    work.addColumn(ITEMS, 'note', { kind: 'string', length: 50 });
    for (let i = 1; i <= 20; i++) work.update(ITEMS, itemRow(i, r), { ...itemRow(i, r), note: `note ${i}` });
    for (let i = 101; i <= 120; i++) work.insert(ITEMS, { ...itemRow(i, r), note: i % 2 === 0 ? null : `new ${i}` });
    work.commit();
    for (let i = 21; i <= 40; i++) work.update(ITEMS, itemRow(i, r), { ...itemRow(i, r), note: null });
    work.commit();
    await writeChecked(c, work);
  },
};

const largeBatches: SinkCase = {
  id: 'large-batches',
  title: 'snapshot chunks of 20 000 rows and a batch of 10 000 mixed changes',
  async run(c) {
    const r = c.random;
    const work = new Workload();
    for (let i = 1; i <= 20_000; i++) work.read(ITEMS, itemRow(i, r));
    for (let i = 1; i <= 5_000; i++) work.read(ORDERS, orderRow(`r${i % 7}`, i, r));
    work.commit();
    for (let i = 20_001; i <= 40_000; i++) work.read(ITEMS, itemRow(i, r));
    work.commit();
    for (let n = 0; n < 10_000; n++) {
      const id = r.between(1, 45_000);
      const row = itemRow(id, r);
      if (id > 40_000) work.insert(ITEMS, row);
      else if (r.chance(0.3)) work.delete(ITEMS, row);
      else work.update(ITEMS, row, itemRow(id, r));
    }
    work.commit();
    await writeChecked(c, work);
  },
};

const chunkAgain: SinkCase = {
  id: 'snapshot-chunk-written-again',
  title:
    'a snapshot chunk written again (as after a crash before its checkpoint) replaces its rows, never doubles them',
  needs: ['tables'],
  async run(c) {
    const r = c.random;
    const work = new Workload();
    for (let i = 1; i <= 3000; i++) work.read(ITEMS, itemRow(i, r));
    work.commit();
    for (let i = 1001; i <= 4000; i++) work.read(ITEMS, itemRow(i, r));
    work.commit();
    await writeChecked(c, work);
  },
};

/** The batches of the crash case: snapshot chunks, then streaming changes to both tables. */
function crashWorkload(r: Random): Workload {
  const work = new Workload();
  let next = 1;
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let i = 0; i < 3000; i++) work.read(ITEMS, itemRow(next++, r));
    work.commit();
  }
  for (let i = 1; i <= 600; i++) work.read(ORDERS, orderRow(i % 2 === 0 ? 'north' : 'south', i, r));
  work.commit();
  for (let batch = 0; batch < 6; batch++) {
    for (let n = 0; n < 1500; n++) {
      const id = r.between(1, next + 200);
      if (id >= next) work.insert(ITEMS, itemRow(next++, r));
      else if (r.chance(0.2)) work.delete(ITEMS, itemRow(id, r));
      else work.update(ITEMS, itemRow(id, r), itemRow(id, r));
      if (r.chance(0.05))
        work.update(ORDERS, orderRow('north', 2 * r.between(1, 300), r), orderRow('north', 2 * r.between(1, 300), r));
    }
    work.commit();
  }
  return work;
}

const crashMidWrite: SinkCase = {
  id: 'crash-mid-write',
  title:
    'sinks abandoned in the middle of writes, reopened: the stored checkpoint and the stored data agree (nothing lost or doubled)',
  needs: ['checkpoints', 'abandon'],
  async run(c) {
    const work = crashWorkload(c.random.fork('workload'));
    const abandon = c.harness.abandon?.bind(c.harness);
    if (abandon === undefined) throw new Error('unreachable: the case needs abandon');
    const total = work.batches.length;
    const outcomes = { committed: 0, rolledBack: 0 };
    for (let round = 0; ; round++) {
      const { sink, position } = await openSink(c, work.tables);
      await expectStored(c, work.batches.slice(0, position), work.tables, `reopened after crash ${round}`);
      if (position === total) {
        await sink.close();
        break;
      }
      if (round >= 6) {
        // Enough crashes: the rest is written normally, and the end state checked.
        try {
          for (const batch of work.batches.slice(position)) await sink.write(batch);
        } finally {
          await sink.close();
        }
        continue;
      }
      const crashAt = position + c.random.int(Math.min(3, total - position));
      for (const batch of work.batches.slice(position, crashAt)) await sink.write(batch);
      const pending = sink.write(work.batches[crashAt] as EventBatch);
      pending.catch(() => undefined);
      // Anywhere from before the first statement to after the commit: every outcome must be consistent.
      await new Promise((resolve) => setTimeout(resolve, c.random.int(40)));
      await abandon(sink, c.target, pending);
      const after = positionOf((await c.harness.readBack(c.target, work.tables)).checkpoint);
      if (after === crashAt + 1) outcomes.committed++;
      else if (after === crashAt) outcomes.rolledBack++;
      else {
        throw new SinkConformanceFailure(
          `abandoned while writing batch ${crashAt + 1}, the stored checkpoint is at batch ${after}: expected ${crashAt} or ${crashAt + 1}`,
        );
      }
    }
    c.log(
      `crash-mid-write (${c.harness.name}): ${outcomes.committed} abandoned writes had committed, ${outcomes.rolledBack} had not`,
    );
  },
};

/** Every sink case, in the order they run. */
export const sinkCases: readonly SinkCase[] = [
  storesCheckpoint,
  orderPerKey,
  commitOrder,
  deletes,
  addColumn,
  largeBatches,
  chunkAgain,
  crashMidWrite,
];
