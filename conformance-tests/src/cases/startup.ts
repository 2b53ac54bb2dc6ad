import type { ChangeEvent, Checkpoint } from '@highwater/core';
import { allOf, needsAdapter, needsColumnTypes } from '../capabilities.js';
import type { ConformanceCase } from '../case.js';
import { changesOf, offsetOrder } from '../support/consumer.js';
import { check } from '../support/failure.js';
import { sleep } from '../support/random.js';
import { intKeyShape } from '../support/shapes.js';
import {
  checkChanges,
  checkMetadata,
  createTable,
  intRows,
  openSource,
  randomWriteHooks,
  range,
  verifyOutput,
} from './common.js';

const needsInts = needsColumnTypes('int64', 'int32', 'string');
const shape = () => intKeyShape({ min: 0, max: 200 });

export const startupInitialCase: ConformanceCase = {
  id: 'startup-initial',
  title: "startup 'initial': a snapshot of the rows, then every change after it, in order",
  purpose:
    'Snapshots a quiet table, then writes inserts, updates, deletes, key moves and transactions, and compares the ' +
    'stream with the writes one by one — the log path on its own, images included.',
  passCondition:
    "The snapshot reads are exactly the table's rows; then exactly the writes follow, in commit order, each with the " +
    'right op, key and after-image, and a before-image that is the full previous row (`full`) or its key (`key`).',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'initial', shape(), intRows(range(0, 20)));
    const { consumer, materialised, adapter } = await openSource(ctx, [writer], { chunkSize: 8 });
    await consumer.snapshotDone([writer.table]);
    const reads = changesOf(consumer.events);
    check(
      reads.length === 20 && reads.every((e) => e.op === 'r'),
      () => `the snapshot emitted ${reads.length} events for 20 rows`,
    );
    const before = writer.changes.length;
    await writer.random(ctx.random, 12);
    await consumer.catchUp([writer.table]);
    checkChanges(
      changesOf(consumer.events).slice(20),
      writer.changes.slice(before),
      writer.keyColumns,
      'the stream after the snapshot',
    );
    checkMetadata(consumer.events, adapter, "startup 'initial'");
    await verifyOutput(ctx, materialised, [writer], "startup 'initial'");
  },
};

export const startupSnapshotCase: ConformanceCase = {
  id: 'startup-snapshot',
  title: "startup 'snapshot': reads the tables, emits only reads, and ends by itself with a complete checkpoint",
  purpose:
    'Runs a snapshot-only source on a quiet table, and again while phase hooks write to the table; then resumes from ' +
    'the final checkpoint.',
  passCondition:
    'Iteration ends by itself; only snapshot reads are emitted, each key once; on the quiet table they equal the ' +
    'table; the last checkpoint has `complete: true`; a source resumed from it ends at once without events.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'snaponly', shape(), intRows(range(0, 40)));
    let last: Checkpoint | null = null;
    for (const withWrites of [false, true]) {
      const what = withWrites ? "startup 'snapshot' under writes" : "startup 'snapshot'";
      const writes = randomWriteHooks(ctx, [writer]);
      const { consumer, materialised } = await openSource(ctx, [writer], {
        startup: { mode: 'snapshot' },
        chunkSize: 7,
        parallelism: 2,
        ...(withWrites ? { phaseHooks: writes.hooks } : {}),
      });
      await consumer.toEnd(what);
      const events = changesOf(consumer.events);
      check(
        events.every((e) => e.op === 'r'),
        () => `${what}: emitted ${events.filter((e) => e.op !== 'r').length} change events, only reads are allowed`,
      );
      materialised.assertNoProblems(what);
      if (!withWrites) await verifyOutput(ctx, materialised, [writer], what);
      else check(writes.writes() > 0, `${what}: the hooks made no write`);
      last = consumer.lastCheckpoint;
      check(last?.complete === true, () => `${what}: the last checkpoint is not complete: ${JSON.stringify(last)}`);
    }
    await writer.random(ctx.random, 3);
    const { consumer } = await openSource(ctx, [writer], { startup: { mode: 'snapshot' }, resumeFrom: last });
    await consumer.toEnd('resuming a complete snapshot');
    check(
      changesOf(consumer.events).length === 0,
      'a source resumed from a complete snapshot checkpoint emitted events',
    );
  },
};

export const startupLatestCase: ConformanceCase = {
  id: 'startup-latest',
  title: "startup 'latest': only the changes made after the source started",
  purpose:
    'Writes before starting a source, then after `start()` resolves, and compares the stream with the later writes.',
  passCondition:
    'No snapshot read and none of the earlier writes; exactly the later writes, in order, with correct images.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'latest', shape(), 10);
    await writer.random(ctx.random, 5);
    const { consumer } = await openSource(ctx, [writer], { startup: { mode: 'latest' } });
    await consumer.source.start();
    const before = writer.changes.length;
    await writer.random(ctx.random, 12);
    await consumer.catchUp([writer.table]);
    checkChanges(changesOf(consumer.events), writer.changes.slice(before), writer.keyColumns, "startup 'latest'");
  },
};

export const startupEarliestCase: ConformanceCase = {
  id: 'startup-earliest',
  title: "startup 'earliest': every change the log still has, from the oldest",
  purpose:
    'Creates and fills a table and changes it, then starts a source from the earliest offset and writes more. The ' +
    "table's whole history is seconds old, so the log still has it.",
  passCondition:
    'No snapshot read; exactly every write ever made to the table (the initial inserts included), in order.',
  requires: allOf(needsInts, needsAdapter('startFromEarliest', "startup mode 'earliest'")),
  async run(ctx) {
    const writer = await createTable(ctx, 'earliest', shape(), 8);
    await writer.random(ctx.random, 6);
    const { consumer } = await openSource(ctx, [writer], { startup: { mode: 'earliest' } });
    await consumer.source.start();
    await writer.random(ctx.random, 6);
    await consumer.catchUp([writer.table]);
    checkChanges(changesOf(consumer.events), writer.changes, writer.keyColumns, "startup 'earliest'");
  },
};

export const startupOffsetCase: ConformanceCase = {
  id: 'startup-offset',
  title: "startup 'offset': from an event's source.offset, exactly the events after it — even inside a transaction",
  purpose:
    'Records a stream of single writes and a multi-row transaction, then starts new sources from the offset of the ' +
    'first event, of the first event inside the transaction, and of the last event.',
  passCondition:
    'Each source emits exactly the recorded events after the given one (same op, images and source.offset), and ' +
    'nothing after the last; events of one transaction share their txId where the adapter reports one.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'offset', shape(), 5);
    const reference = await openSource(ctx, [writer], { startup: { mode: 'latest' } });
    await reference.consumer.source.start();
    const before = writer.changes.length;
    await writer.random(ctx.random, 3, { transactionChance: 0 });
    const txStart = writer.changes.length - before;
    const txSize = (await ctx.serial.run(() => writer.randomHeld(ctx.random, 1, { transactionChance: 1 }))) ?? 0;
    await writer.random(ctx.random, 2, { transactionChance: 0 });
    await reference.consumer.catchUp([writer.table], 'recording the reference stream');
    const recorded = changesOf(reference.consumer.events);
    // Closed before the other sources open: some logs serve one reader at a time (a Postgres slot).
    await reference.consumer.source.close();
    checkChanges(recorded, writer.changes.slice(before), writer.keyColumns, 'the reference stream');
    check(txSize >= 2, 'the case could not write a transaction');
    const txIds = recorded.slice(txStart, txStart + txSize).map((e) => e.source.txId);
    if (txIds.every((t) => t !== null)) {
      check(
        new Set(txIds).size === 1,
        () => `the events of one transaction carry different txIds: ${txIds.join(', ')}`,
      );
    }
    for (const index of [0, txStart, recorded.length - 1]) {
      const from = recorded[index] as ChangeEvent;
      const what = `starting after event #${index + 1} (offset ${JSON.stringify(from.source.offset)})`;
      const { consumer, adapter } = await openSource(ctx, [writer], {
        startup: { mode: 'offset', offset: from.source.offset },
      });
      await consumer.catchUp([writer.table], what);
      await consumer.source.close();
      const got = changesOf(consumer.events);
      const expected = recorded.slice(index + 1);
      checkChanges(got, writer.changes.slice(before + index + 1), writer.keyColumns, what);
      const order = offsetOrder(adapter);
      got.forEach((e, i) => {
        const x = expected[i] as ChangeEvent;
        check(
          e.source.offset !== null && x.source.offset !== null && order(e.source.offset, x.source.offset) === 0,
          () =>
            `${what}: event #${i + 1} has offset ${JSON.stringify(e.source.offset)}, the first run had ${JSON.stringify(x.source.offset)}`,
        );
      });
    }
  },
};

export const startupTimestampCase: ConformanceCase = {
  id: 'startup-timestamp',
  title: "startup 'timestamp': from the first change committed at or after a time",
  purpose:
    'Writes a first group of changes, waits, writes a second group, and records both with a latest-mode source; then ' +
    "starts a source at the second group's first commit time (`source.opTs`, or the wall clock between the groups when " +
    'the adapter reports none).',
  passCondition: 'The new source emits exactly the second group, in order.',
  requires: allOf(needsInts, needsAdapter('startFromTimestamp', "startup mode 'timestamp'")),
  async run(ctx) {
    const gap = Math.max(30, 2 * ctx.capabilities.harness.commitTimeResolutionMs);
    const writer = await createTable(ctx, 'timestamp', shape(), 5);
    const reference = await openSource(ctx, [writer], { startup: { mode: 'latest' } });
    await reference.consumer.source.start();
    const first = writer.changes.length;
    await writer.random(ctx.random, 4);
    await sleep(gap);
    const between = Date.now();
    await sleep(gap);
    const second = writer.changes.length;
    await writer.random(ctx.random, 5);
    await reference.consumer.catchUp([writer.table], 'recording the reference stream');
    const recorded = changesOf(reference.consumer.events);
    checkChanges(recorded, writer.changes.slice(first), writer.keyColumns, 'the reference stream');
    const firstOfSecond = recorded[second - first] as ChangeEvent;
    const lastOfFirst = recorded[second - first - 1] as ChangeEvent;
    let at = between;
    if (firstOfSecond.source.opTs !== null && lastOfFirst.source.opTs !== null) {
      check(
        lastOfFirst.source.opTs < firstOfSecond.source.opTs,
        () =>
          `writes ${gap * 2} ms apart have commit times ${lastOfFirst.source.opTs} and ${firstOfSecond.source.opTs}`,
      );
      at = firstOfSecond.source.opTs;
    }
    const what = `starting at ${new Date(at).toISOString()}`;
    const { consumer } = await openSource(ctx, [writer], { startup: { mode: 'timestamp', timestamp: at } });
    await consumer.catchUp([writer.table], what);
    checkChanges(changesOf(consumer.events), writer.changes.slice(second), writer.keyColumns, what);
  },
};
