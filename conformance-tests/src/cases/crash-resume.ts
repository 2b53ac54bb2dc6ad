import type { Checkpoint } from '@highwater/core';
import { needsColumnTypes } from '../capabilities.js';
import type { ConformanceCase } from '../case.js';
import { Consumer, offsetOrder, snapshotDoneIn } from '../support/consumer.js';
import { check, fail } from '../support/failure.js';
import { Materialised } from '../support/materialised.js';
import { intKeyShape } from '../support/shapes.js';
import { createTable, intRows, randomWriteHooks, range, verifyOutput } from './common.js';

/** What a transactional sink has stored: the rows and the checkpoint, always together. */
interface Committed {
  readonly state: Materialised;
  readonly checkpoint: Checkpoint | null;
}

const MIN_CRASHES_PER_PHASE = 3;
const MAX_RUNS = 30;

export const crashResumeCase: ConformanceCase = {
  id: 'crash-resume',
  title: 'crashing at random points of the snapshot and the stream and resuming loses and repeats nothing',
  purpose:
    'A sink stores its rows and the batch checkpoint in one transaction. The case consumes batches while writing, and ' +
    '"crashes" after a random number of batches: it closes the source and drops the uncommitted batch (sometimes after ' +
    'storing it but before telling the source), keeps writing while down, and resumes from the stored checkpoint (a JSON ' +
    `round-trip) with a new adapter and source — at least ${MIN_CRASHES_PER_PHASE} times during the snapshot and ` +
    `${MIN_CRASHES_PER_PHASE} times while streaming — then runs to the end.`,
  passCondition:
    'Across all restarts, every key is read at most once and no change is emitted twice or lost (the same checks as ' +
    'snapshot-concurrent-writes, on the committed state), the committed rows equal the table, and no connection is left open.',
  requires: needsColumnTypes('int64', 'int32', 'string'),
  async run(ctx) {
    const writer = await createTable(ctx, 'crash', intKeyShape({ min: -20, max: 400 }), intRows(range(0, 300)));
    const table = writer.table;
    const random = ctx.random.fork('crashes');
    const { hooks } = randomWriteHooks(ctx, [writer], { maxPerPhase: 1 });
    const baseline = await ctx.harness.capabilities.openConnections?.();
    let committed: Committed | null = null;
    let snapshotCrashes = 0;
    let streamCrashes = 0;

    for (let run = 1; ; run++) {
      const adapter = await ctx.createAdapter();
      const order = offsetOrder(adapter);
      const source = ctx.createSource({
        adapter,
        tables: { include: [table] },
        resumeFrom: committed?.checkpoint ?? null,
        chunkSize: 13,
        parallelism: 3,
        batchSize: 16,
        maxQueuedBatches: 2,
        phaseHooks: hooks,
      });
      let current: Committed = committed ?? {
        state: new Materialised([{ name: table, keyColumns: writer.keyColumns }], order),
        checkpoint: null,
      };
      const finalRun =
        run >= MAX_RUNS || (snapshotCrashes >= MIN_CRASHES_PER_PHASE && streamCrashes >= MIN_CRASHES_PER_PHASE);
      if (finalRun) {
        const consumer = new Consumer(ctx, source, adapter, (batch) => {
          current.state.apply(batch.events);
          current = { state: current.state, checkpoint: batch.checkpoint };
        });
        await consumer.snapshotDone([table], `finishing after ${run - 1} crashes`);
        await writer.random(random, 20);
        await consumer.catchUp([table], `catching up after ${run - 1} crashes`);
        await source.close();
        committed = current;
        break;
      }

      const consumer = new Consumer(ctx, source, adapter);
      const crashAfter = random.between(1, 12);
      for (let taken = 0; ; ) {
        ctx.checkTime(
          () => `in run ${run} (crashes: ${snapshotCrashes} in the snapshot, ${streamCrashes} in the stream)`,
        );
        const batch = await consumer.take();
        if (batch === 'done') fail(`run ${run}: the source ended by itself`);
        if (batch === 'idle') {
          // Keep batches coming: write while streaming, move the log otherwise.
          if (current.checkpoint !== null && snapshotDoneIn(current.checkpoint, [table]))
            await writer.random(random, 2);
          else await ctx.poke();
          continue;
        }
        taken++;
        const staged = current.state.clone();
        staged.apply(batch.events);
        const stored = JSON.parse(JSON.stringify(batch.checkpoint)) as Checkpoint;
        const streaming = snapshotDoneIn(batch.checkpoint, [table]);
        // A phase with its crashes done is run through, so a slow snapshot cannot use up every run.
        const phaseDone = streaming ? streamCrashes >= MIN_CRASHES_PER_PHASE : snapshotCrashes >= MIN_CRASHES_PER_PHASE;
        if (taken >= crashAfter && !phaseDone) {
          // Crash: the batch is lost unless the sink committed it before the crash.
          if (random.chance(0.3)) current = { state: staged, checkpoint: stored };
          if (streaming) streamCrashes++;
          else snapshotCrashes++;
          await source.close();
          break;
        }
        current = { state: staged, checkpoint: stored };
        await source.commit(batch.checkpoint);
        if (snapshotDoneIn(batch.checkpoint, [table])) await writer.random(random, random.between(1, 3));
      }
      committed = current;
      // Writes while the pipeline is down.
      await writer.random(random, random.between(0, 3));
    }

    if (committed === null) fail('no run committed anything');
    const what = `after ${snapshotCrashes + streamCrashes} crashes (${snapshotCrashes} during the snapshot, ${streamCrashes} while streaming)`;
    await verifyOutput(ctx, committed.state, [writer], what);
    check(
      snapshotCrashes >= 1 && streamCrashes >= 1,
      `${what}: the case could not crash in both phases (a larger table or smaller batches would help)`,
    );
    const open = await ctx.harness.capabilities.openConnections?.();
    check(open === baseline, () => `${what}: ${open} connections are open, ${baseline} were before the case`);
  },
};
