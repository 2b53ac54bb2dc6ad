import type { LogItem, LogReader, RowChange } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import type { OracleOffset } from '../src/index.js';
import { changes, now, schemaOf, simulatedShop } from './helpers.js';

/**
 * Commits whose redo reaches the online log after their SCN is current (SIMULATOR): `COMMIT WRITE
 * NOWAIT`, and on RAC an instance whose LGWR has not written yet. The simulator's LGWR here writes
 * only when told (`lgwrTimeoutMs: Infinity`), and the reader assumes a minute (`redoFlushMs`), so
 * nothing but V$THREAD tells it how far redo is written. Before the reader bounded its windows by
 * V$THREAD it mined past such a commit while the commit was still in a log buffer and never saw it.
 */
const lateLgwr = (threads = 1) =>
  simulatedShop({ threads, lgwrTimeoutMs: Number.POSITIVE_INFINITY }, { redoFlushMs: 60_000 });

/** Reads `count` batches (the reader yields a progress item per poll when it has nothing else). */
async function readBatches(
  it: AsyncIterator<readonly LogItem<OracleOffset>[]>,
  count: number,
  into: LogItem<OracleOffset>[],
) {
  for (let i = 0; i < count; i++) {
    const next = await it.next();
    if (next.done) return;
    into.push(...next.value);
  }
}

async function readUntil(
  it: AsyncIterator<readonly LogItem<OracleOffset>[]>,
  into: LogItem<OracleOffset>[],
  done: (got: RowChange<OracleOffset>[]) => boolean,
) {
  while (!done(changes(into))) {
    const next = await it.next();
    if (next.done) return;
    into.push(...next.value);
  }
}

const ids = (items: readonly LogItem<OracleOffset>[]) => changes(items).map((c) => c.after?.ID);

describe('late redo: windows end where every redo thread has written (simulator)', () => {
  it('a COMMIT WRITE NOWAIT whose redo is written after the reader reached its SCN is still emitted, in commit order', async () => {
    const { db, orders, adapter } = lateLgwr();
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const a = db.begin();
    db.insert(a, orders, { ID: '1', NOTE: 'nowait' });
    const aScn = db.commit(a, { wait: false }) as bigint;
    // Visible at once (a flashback read at its SCN sees it) though no log holds its redo yet.
    expect(db.rowsAsOf(orders, aScn)).toHaveLength(1);
    const reader: LogReader<OracleOffset> = await adapter.createLogReader({ from, tables: [schema] });
    const it = reader[Symbol.asyncIterator]();
    const items: LogItem<OracleOffset>[] = [];
    let progressedPast: bigint[];
    try {
      await readBatches(it, 10, items);
      progressedPast = items
        .filter((i) => i.kind === 'progress' && BigInt(i.offset.commitScn) > aScn)
        .map((i) => BigInt(i.offset.commitScn));
      db.flushRedo(); // LGWR's timed write: A's redo is now in the online log
      db.transaction((tx) => db.insert(tx, orders, { ID: '2', NOTE: 'later' }));
      db.transaction((tx) => db.insert(tx, orders, { ID: '3', NOTE: 'moves the written SCN past 2' }));
      await readUntil(it, items, (got) => got.some((c) => c.after?.ID === 2));
    } finally {
      await reader.close();
    }
    expect(ids(items)).toEqual([1, 2]);
    // Nor did the reader claim progress past the commit while its redo was unwritten.
    expect(progressedPast).toEqual([]);
  });

  it('RAC: one instance’s unwritten commit holds the window back while the other instance commits on; nothing is lost', async () => {
    const { db, orders, adapter } = lateLgwr(2);
    const schema = await schemaOf(db, orders);
    const from = now(db);
    db.transaction((tx) => db.insert(tx, orders, { ID: '1', NOTE: 'thread 1, before' }));
    const late = db.begin(2);
    db.insert(late, orders, { ID: '2', NOTE: 'thread 2, LGWR behind' });
    db.commit(late, { wait: false });
    for (let i = 3; i <= 5; i++)
      db.transaction((tx) => db.insert(tx, orders, { ID: String(i), NOTE: 'thread 1, after' }));
    const reader = await adapter.createLogReader({ from, tables: [schema] });
    const it = reader[Symbol.asyncIterator]();
    const items: LogItem<OracleOffset>[] = [];
    let early: unknown[];
    try {
      await readBatches(it, 10, items);
      early = ids(items);
      db.flushRedo(2);
      const t2 = db.begin(2);
      db.insert(t2, orders, { ID: '6', NOTE: 'thread 2' });
      db.commit(t2);
      db.transaction((tx) => db.insert(tx, orders, { ID: '7', NOTE: 'thread 1' }));
      // One more commit on each thread: each thread's written SCN moves past 6 and 7.
      db.transaction((tx) => db.insert(tx, orders, { ID: '8', NOTE: 'thread 1' }));
      const t2b = db.begin(2);
      db.insert(t2b, orders, { ID: '9', NOTE: 'thread 2' });
      db.commit(t2b);
      await readUntil(it, items, (got) => got.some((c) => c.after?.ID === 7));
    } finally {
      await reader.close();
    }
    expect(ids(items)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Thread 1's commits after the late one waited for it: emitted first, a lower commit SCN would follow them.
    // (Thread 2 has written no redo at all yet, so even 1 may wait.)
    expect([[], [1]]).toContainEqual(early);
  });

  it('an idle open thread holds mining back only until an SCN is redoFlushMs old; a CLOSED thread not at all', async () => {
    // Thread 2 never writes redo: its LAST_REDO_CHANGE# stays at 0. LGWR writes idle buffers after 10 ms here.
    const { db, orders, adapter } = simulatedShop({ threads: 2, lgwrTimeoutMs: 10 }, { redoFlushMs: 40 });
    const schema = await schemaOf(db, orders);
    const from = now(db);
    db.transaction((tx) => db.insert(tx, orders, { ID: '1', NOTE: null }));
    const target = db.scn;
    const reader = await adapter.createLogReader({ from, tables: [schema] });
    const items: LogItem<OracleOffset>[] = [];
    const started = Date.now();
    try {
      for await (const batch of reader) {
        items.push(...batch);
        if (items.some((i) => i.kind === 'progress' && BigInt(i.offset.commitScn) > target)) break;
      }
    } finally {
      await reader.close();
    }
    expect(ids(items)).toEqual([1]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);

    // Closed: thread 2 does not count even when the reader assumes a minute for LGWR.
    const closed = lateLgwr(2);
    const closedSchema = await schemaOf(closed.db, closed.orders);
    const closedFrom = now(closed.db);
    closed.db.closeThread(2);
    closed.db.transaction((tx) => closed.db.insert(tx, closed.orders, { ID: '1', NOTE: null }));
    closed.db.transaction((tx) => closed.db.insert(tx, closed.orders, { ID: '2', NOTE: null }));
    const r2 = await closed.adapter.createLogReader({ from: closedFrom, tables: [closedSchema] });
    const it2 = r2[Symbol.asyncIterator]();
    const got: LogItem<OracleOffset>[] = [];
    try {
      await readUntil(it2, got, (c) => c.length >= 1);
    } finally {
      await r2.close();
    }
    expect(ids(got)).toEqual([1]);
  });
});
