import { createSource } from '@highwater/core';
import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';

// Once the application closes a source, the next `next()` ends the iteration: batches queued before
// the close, and any a reader seals while it stops (a heartbeat, a commit), are dropped. The
// conformance case `graceful-close` asks the same of every adapter; it failed now and then under
// load when two batches were sealed around the close and the second was handed out afterwards.
describe('closing a source', () => {
  it('drops the batches queued before the close: the next next() is the end', async () => {
    const db = new MemoryDatabase();
    db.createTable({ name: 'app.t', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
    db.insertMany(
      'app.t',
      Array.from({ length: 400 }, (_, id) => ({ id })),
    );
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['app.t'] },
      chunkSize: 10,
      batchSize: 10,
      maxQueuedBatches: 16,
    });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    // Let the readers fill the queue behind the batch the application holds.
    const deadline = Date.now() + 10_000;
    const read = () => source.metrics().snapshot.rowsRead;
    while (Date.now() < deadline && read() < 50) await new Promise((r) => setTimeout(r, 10));
    expect(read()).toBeGreaterThanOrEqual(50);
    expect(source.metrics().eventsEmitted).toBe(10);
    await source.close();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });
});
