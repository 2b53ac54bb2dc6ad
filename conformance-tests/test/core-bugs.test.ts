import { createSource } from '@highwater/core';
import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';

/**
 * Core behaviour the conformance suite depends on, reduced to the smallest reproduction: both
 * failed when the suite was written (start() deadlocked on a setup error; next() after close()
 * threw), which made every error-* case and graceful-close fail on every adapter. Kept as
 * regression tests.
 */

function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | 'pending'> {
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);
}

function ordersDb(): MemoryDatabase {
  const db = new MemoryDatabase();
  db.createTable({ name: 'shop.orders', columns: [{ name: 'id', type: { kind: 'int64' } }], primaryKey: ['id'] });
  db.insert('shop.orders', { id: 1 });
  return db;
}

describe('core: failures and close', () => {
  it('start() rejects (and closes its connection) when setup fails, instead of never settling', async () => {
    const db = ordersDb();
    const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['shop.missing'] } });
    const outcome = await settledWithin(source.start(), 1000);
    expect(outcome).not.toBe('pending');
    expect(outcome).toMatchObject({ error: { code: 'HW_TABLE_NOT_FOUND' } });
    expect(db.openConnections()).toEqual([]);
  });

  it('next() after close() ends iteration instead of throwing SourceClosedError', async () => {
    const db = ordersDb();
    const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['shop.orders'] } });
    const iterator = source[Symbol.asyncIterator]();
    await iterator.next(); // the snapshot of row 1
    await source.close();
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });
});
