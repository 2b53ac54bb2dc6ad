import { needsColumnTypes } from '../capabilities.js';
import type { ConformanceCase } from '../case.js';
import { changesOf } from '../support/consumer.js';
import { check } from '../support/failure.js';
import { intKeyShape } from '../support/shapes.js';
import { checkChanges, checkMetadata, createTable, intRows, openSource, range, verifyOutput } from './common.js';

export const snapshotEqualsTableCase: ConformanceCase = {
  id: 'snapshot-equals-table',
  title: 'the snapshot equals the table, whatever the chunk size and parallelism',
  purpose:
    'Snapshots two quiet tables at once — one with dense integer keys (arithmetic split), one sparse (boundary walk) — ' +
    'with chunk sizes 1, 7 and larger than the table, and parallelism 1 to 4. This checks keyRange, nextChunkBoundary, ' +
    'readChunk and the watermarks on their own, without concurrent writes.',
  passCondition:
    'Each run emits only snapshot reads, each row once, and they materialise to exactly the tables; every event names the adapter and its table.',
  requires: needsColumnTypes('int64', 'int32', 'string'),
  async run(ctx) {
    const shape = intKeyShape({ min: 0, max: 400 });
    const dense = await createTable(ctx, 'dense', shape, intRows(range(0, 60)));
    const sparse = await createTable(ctx, 'sparse', shape, 45);
    const total = dense.rows.size + sparse.rows.size;
    for (const [chunkSize, parallelism] of [
      [1, 1],
      [1, 4],
      [7, 3],
      [total + 10, 2],
    ] as const) {
      const what = `chunkSize ${chunkSize}, parallelism ${parallelism}`;
      const { consumer, materialised, adapter } = await openSource(ctx, [dense, sparse], { chunkSize, parallelism });
      await consumer.catchUp([dense.table, sparse.table], `snapshotting with ${what}`);
      await consumer.source.close();
      const changes = changesOf(consumer.events);
      check(
        changes.every((e) => e.op === 'r'),
        () => `${what}: a quiet table produced change events: ${changes.filter((e) => e.op !== 'r').length}`,
      );
      check(changes.length === total, () => `${what}: ${changes.length} snapshot reads for ${total} rows`);
      checkMetadata(consumer.events, adapter, what);
      await verifyOutput(ctx, materialised, [dense, sparse], what);
    }
  },
};

export const snapshotEmptyTableCase: ConformanceCase = {
  id: 'snapshot-empty-table',
  title: 'an empty table snapshots to nothing, then streams its first rows',
  purpose:
    'Snapshots a table without rows (keyRange is null: one unbounded chunk), then inserts into it. ' +
    'A chunk covering no rows must still be released (the log reader must report progress past its high watermark with nothing written).',
  passCondition:
    'The snapshot finishes with no events; the rows inserted afterwards arrive as inserts, in order, exactly once.',
  requires: needsColumnTypes('int64', 'int32', 'string'),
  async run(ctx) {
    const writer = await createTable(ctx, 'empty', intKeyShape({ min: 0, max: 100 }));
    const { consumer, materialised } = await openSource(ctx, [writer]);
    await consumer.catchUp([writer.table], 'snapshotting an empty table');
    check(changesOf(consumer.events).length === 0, 'an empty table produced events during its snapshot');
    await writer.random(ctx.random, 5, { kinds: ['insert'] });
    await consumer.catchUp([writer.table], 'streaming the first rows');
    checkChanges(changesOf(consumer.events), writer.changes, writer.keyColumns, 'after the empty snapshot');
    await verifyOutput(ctx, materialised, [writer], 'after the empty snapshot');
  },
};
