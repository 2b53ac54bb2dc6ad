import { needsColumnTypes } from '../capabilities.js';
import type { ConformanceCase } from '../case.js';
import { changesOf, Consumer } from '../support/consumer.js';
import { check, fail } from '../support/failure.js';
import { intKeyShape } from '../support/shapes.js';
import { createTable } from './common.js';
import { expectSourceError, sibling } from './expect-error.js';

/** The next `take()` after `close()` must end iteration: no batch, no error. */
async function expectEnded(consumer: Consumer, what: string): Promise<void> {
  let result: Awaited<ReturnType<Consumer['take']>>;
  try {
    result = await consumer.take(2000);
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    fail(`${what}: next() threw ${e.name} (${e.code}): ${e.message} — after close(), iteration must end (done)`);
  }
  if (result === 'idle') fail(`${what}: next() did not settle within 2 s of close()`);
  if (result !== 'done') {
    fail(
      `${what}: next() delivered a batch of ${result.events.length} events after close(); queued batches must be dropped`,
    );
  }
}

export const gracefulCloseCase: ConformanceCase = {
  id: 'graceful-close',
  title: 'close() ends iteration and closes every connection, mid-snapshot, mid-stream and after a failed start',
  purpose:
    'Closes a source in the middle of a chunked parallel snapshot, one waiting for changes while streaming (with a ' +
    '`next()` pending), and one whose start failed; counts open connections where the harness can.',
  passCondition:
    'After each close the next `next()` ends iteration (`done`: no error, no queued batch), a pending `next()` ' +
    'settles, closing twice is harmless, and the number of open connections is back to what it was before each source.',
  requires: needsColumnTypes('int64', 'int32', 'string'),
  async run(ctx) {
    const count = () => ctx.harness.capabilities.openConnections?.();
    const connectionsBack = async (what: string, baseline: number | undefined) => {
      const open = await count();
      check(open === baseline, () => `${what}: ${open} connections are open, ${baseline} were before`);
    };
    const writer = await createTable(ctx, 'close', intKeyShape({ min: 0, max: 200 }), 80);

    let baseline = await count();
    const adapter = await ctx.createAdapter();
    const snapshotting = new Consumer(
      ctx,
      ctx.createSource({ adapter, tables: { include: [writer.table] }, chunkSize: 5, parallelism: 3 }),
      adapter,
    );
    const first = await snapshotting.take(5000);
    check(first !== 'done' && first !== 'idle', 'no batch came from the snapshot');
    check(
      first.checkpoint.tables[writer.table]?.phase === 'snapshot',
      'the first batch already finished the snapshot; the case needs to close in the middle of it',
    );
    await snapshotting.source.close();
    await snapshotting.source.close();
    await expectEnded(snapshotting, 'after close() during the snapshot');
    await connectionsBack('after closing during the snapshot', baseline);

    baseline = await count();
    const streaming = new Consumer(
      ctx,
      ctx.createSource({ adapter, tables: { include: [writer.table] }, startup: { mode: 'latest' } }),
      adapter,
    );
    await streaming.source.start();
    await writer.random(ctx.random, 3);
    await streaming.catchUp([writer.table]);
    // A batch sealed before close() (a heartbeat) may still answer the pending next(); the one after must end.
    const pending = streaming.take(3000);
    await streaming.source.close();
    const answer = await pending;
    check(answer !== 'idle', 'a pending next() did not settle when the source closed');
    if (answer !== 'done') await expectEnded(streaming, 'after close() while streaming');
    await connectionsBack('after closing while streaming', baseline);
    check(
      changesOf(streaming.events).every((e) => e.op !== 'r'),
      'a latest-mode source emitted snapshot reads',
    );

    baseline = await count();
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [sibling(writer.table, 'hw_no_such_table')] } },
      { codes: ['HW_TABLE_NOT_FOUND'] },
      'a source whose start fails',
    );
    await connectionsBack('after a failed start', baseline);
  },
};
