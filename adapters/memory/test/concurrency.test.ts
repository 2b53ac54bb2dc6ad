import type { Row } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { MemoryDatabaseError } from '../src/index.js';
import { ORDERS, order, ordersDb, seeded } from './helpers.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('concurrent writers', () => {
  it('never loses an increment from read-modify-write transactions that interleave', async () => {
    const db = ordersDb();
    db.insert(ORDERS, { ...order(1), total: '0' });
    const increment = () =>
      db.transaction(async (tx) => {
        await tick();
        tx.update(ORDERS, [1], (row) => ({ total: String(Number(row.total) + 1) }));
        await tick();
      });
    await Promise.all(Array.from({ length: 50 }, increment));
    expect(db.get(ORDERS, [1])?.total).toBe('50');
  });

  it('lets exactly one of two racing inserts of the same key commit', async () => {
    const db = ordersDb();
    const insert = (customer: string) =>
      db.transaction(async (tx) => {
        tx.insert(ORDERS, order(7, customer));
        await tick();
      });
    const results = await Promise.allSettled([insert('a'), insert('b')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(MemoryDatabaseError);
    expect((failure.reason as MemoryDatabaseError).code).toBe('duplicate_key');
    expect(db.rowCount(ORDERS)).toBe(1);
  });

  it('ends, under a random concurrent load, with the state the log replays to', async () => {
    const random = seeded(42);
    const db = ordersDb();
    const pick = () => Math.floor(random() * 200);
    const worker = async () => {
      for (let i = 0; i < 60; i++) {
        await db
          .transaction(async (tx) => {
            for (let j = 0; j < 3; j++) {
              const r = random();
              const id = pick();
              if (r < 0.4) tx.insert(ORDERS, order(id));
              else if (r < 0.7) tx.update(ORDERS, [id], { note: `w${i}` });
              else if (r < 0.85) tx.update(ORDERS, [id], { id: pick() });
              else tx.delete(ORDERS, [id]);
              if (random() < 0.5) await tick();
            }
          })
          .catch((error: unknown) => {
            // Constraint errors are expected under this load; anything else is a bug.
            if (!(error instanceof MemoryDatabaseError)) throw error;
          });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    // Replaying the log, in order, must give exactly the table; and every change must apply cleanly
    // (no insert of an existing key, no update or delete of a missing one).
    const replay = new Map<unknown, Row>();
    let changeCount = 0;
    for (const entry of db.logEntries()) {
      if (entry.kind !== 'change') continue;
      changeCount++;
      if (entry.op === 'c') {
        expect(replay.has(entry.after?.id)).toBe(false);
        replay.set(entry.after?.id, entry.after as Row);
        continue;
      }
      expect(replay.get(entry.before?.id)).toEqual(entry.before);
      replay.delete(entry.before?.id);
      if (entry.op === 'u') {
        expect(replay.has(entry.after?.id)).toBe(false);
        replay.set(entry.after?.id, entry.after as Row);
      }
    }
    expect(changeCount).toBeGreaterThan(100);
    const expected = [...replay.values()].sort((a, b) => (a.id as number) - (b.id as number));
    expect(db.snapshotRows(ORDERS)).toEqual(expected);
  });

  it('re-runs a transaction against a schema changed while it was open', async () => {
    const db = ordersDb();
    await db.transaction(async (tx) => {
      tx.insert(ORDERS, order(1));
      db.alterTable(ORDERS, { addColumn: { name: 'status', type: { kind: 'string' }, default: 'new' } });
      await tick();
    });
    expect(db.get(ORDERS, [1])).toEqual({ ...order(1), status: 'new' });
  });
});
