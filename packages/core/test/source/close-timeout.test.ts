import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import { CloseTimeoutError } from '../../src/errors/errors.js';
import { createSource } from '../../src/source/create-source.js';
import type { EventBatch } from '../../src/source/event-batch.js';
import type { LogReader, SourceAdapter } from '../../src/spi/source-adapter.js';

// An adapter call that never settles must not hold `close()` for ever: each wait is bounded by
// closeTimeoutMs, the rest is closed, and close() rejects naming what was left waiting.

function database(): MemoryDatabase {
  const db = new MemoryDatabase();
  db.createTable({ name: 'app.t', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
  db.insertMany(
    'app.t',
    Array.from({ length: 20 }, (_, id) => ({ id })),
  );
  return db;
}

const never = () => new Promise<void>(() => undefined);

/** The memory adapter, with the log reader's and/or the introspector's close() never settling. */
function hangingAdapter(db: MemoryDatabase, hang: { logReader?: boolean; introspector?: boolean }) {
  const base = memoryAdapter(db);
  let introspectorClosed = false;
  const adapter: SourceAdapter<unknown> = {
    ...(base as SourceAdapter<unknown>),
    createIntrospector: async () => {
      const introspector = await base.createIntrospector();
      return Object.assign(Object.create(introspector) as typeof introspector, {
        close: () => {
          introspectorClosed = true;
          return hang.introspector === true ? never() : introspector.close();
        },
      });
    },
    createLogReader: async (request) => {
      const reader = (await base.createLogReader(request as never)) as LogReader<unknown>;
      return Object.assign(Object.create(reader) as LogReader<unknown>, {
        close: () => (hang.logReader === true ? never() : reader.close()),
      });
    },
  };
  return { adapter, introspectorClosed: () => introspectorClosed };
}

async function streaming(adapter: SourceAdapter<unknown>) {
  const source = createSource({ adapter, tables: { include: ['app.t'] }, closeTimeoutMs: 200 });
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    const next: IteratorResult<EventBatch> = await iterator.next();
    if (next.done) throw new Error('the source ended before streaming');
    if (Object.values(next.value.checkpoint.tables).every((t) => t.phase === 'stream')) break;
  }
  return source;
}

describe('close() with an adapter call that never settles', () => {
  it('a log reader whose close() never settles: close() rejects with CloseTimeoutError naming it, and still closes the introspector', async () => {
    const { adapter, introspectorClosed } = hangingAdapter(database(), { logReader: true });
    const source = await streaming(adapter);
    const error = await source.close().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CloseTimeoutError);
    expect(error).toMatchObject({ code: 'HW_CLOSE_TIMEOUT' });
    expect(String(error)).toContain("the log reader's close()");
    expect(String(error)).toContain('200 ms');
    expect(introspectorClosed()).toBe(true);
    expect(source.metrics().state).toBe('closed');
  });

  it('an introspector whose close() never settles is named too', async () => {
    const { adapter } = hangingAdapter(database(), { introspector: true });
    const source = await streaming(adapter);
    await expect(source.close()).rejects.toThrow(/the introspector's close\(\)/);
  });

  it('a close whose adapter calls all settle resolves as before', async () => {
    const { adapter } = hangingAdapter(database(), {});
    const source = await streaming(adapter);
    await expect(source.close()).resolves.toBeUndefined();
  });
});
