import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowChange } from '@highwater/core';
import { compareOracleOffsets, type OracleOffset, oracleColumn, watermarkAt } from '../src/index.js';
import { describe, expect, it } from 'vitest';
import { changes, createDocs, now, readThrough, schemaOf, simulatedShop } from './helpers.js';

/** The LogMiner reader against the SIMULATOR: transactions buffered in the adapter, emitted at COMMIT. */
describe('Oracle log reader (simulator)', () => {
  it('emits interleaved transactions in commit order, each whole, with strictly increasing offsets', async () => {
    const { db, orders, adapter } = simulatedShop();
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const t1 = db.begin();
    const t2 = db.begin();
    db.insert(t1, orders, { ID: '1', NOTE: 'a' });
    db.insert(t2, orders, { ID: '2', NOTE: 'b' });
    db.insert(t1, orders, { ID: '3', NOTE: 'c' });
    db.commit(t2);
    db.update(t1, orders, { ID: '1' }, { NOTE: 'a2' });
    db.commit(t1);
    const got = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(got.map((c) => [c.op, c.after?.ID ?? c.before?.ID, c.txId])).toEqual([
      ['c', 2, t2.xid],
      ['c', 1, t1.xid],
      ['c', 3, t1.xid],
      ['u', 1, t1.xid],
    ]);
    expect(got[3]).toMatchObject({ before: { ID: 1, NOTE: 'a' }, after: { ID: 1, NOTE: 'a2' }, beforeImage: 'full' });
    for (let i = 1; i < got.length; i++)
      expect(compareOracleOffsets(got[i - 1]!.offset, got[i]!.offset)).toBeLessThan(0);
  });

  it('reads a window in batches of fetchRows: a window holding a bulk transaction is never fetched whole', async () => {
    const { db, orders, adapter } = simulatedShop(
      { recordsPerLog: 100_000 },
      { windowScns: 100_000, maxWindowScns: 100_000, targetRowsPerWindow: 1_000_000, fetchRows: 50 },
    );
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const bulk = db.begin();
    for (let i = 0; i < 600; i++) db.insert(bulk, orders, { ID: String(i), NOTE: `bulk ${i}` });
    db.commit(bulk);
    db.largestFetch = 0;
    const got = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(got.map((c) => c.after?.ID)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    // 602 rows (START, 600 inserts, COMMIT) in one window, fetched 50 at a time.
    expect(db.largestFetch).toBe(50);
  });

  it('keeps a long transaction open across many mining windows and log switches, and emits it at its commit', async () => {
    const { db, orders, adapter } = simulatedShop({ recordsPerLog: 7 });
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const long = db.begin();
    for (let i = 0; i < 60; i++) {
      db.insert(long, orders, { ID: String(1000 + i), NOTE: `long ${i}` });
      db.transaction((tx) => db.insert(tx, orders, { ID: String(i), NOTE: `short ${i}` }));
    }
    db.commit(long);
    const result = await readThrough(adapter, db, from, [schema]);
    const got = changes(result.items);
    expect(got).toHaveLength(120);
    expect(got.slice(0, 60).map((c) => c.after?.ID)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(got.slice(60).map((c) => c.after?.ID)).toEqual(Array.from({ length: 60 }, (_, i) => 1000 + i));
    expect(new Set(got.slice(60).map((c) => c.txId))).toEqual(new Set([long.xid]));
    // The window is 16 SCNs at most 64: the transaction spanned many windows and logs.
    expect(db.logs.length).toBeGreaterThan(10);
  });

  it('spills a large transaction to disk, undoes spilled changes on a partial rollback, and removes the files', async () => {
    const spillDirectory = mkdtempSync(join(tmpdir(), 'hw-oracle-spill-test-'));
    try {
      const { db, orders, adapter } = simulatedShop({}, { spillThresholdChars: 2000, spillDirectory });
      const schema = await schemaOf(db, orders);
      const from = now(db);
      const big = db.begin();
      for (let i = 0; i < 100; i++) db.insert(big, orders, { ID: String(i), NOTE: `row ${i} ${'x'.repeat(100)}` });
      db.savepoint(big, 'half');
      for (let i = 100; i < 150; i++) db.insert(big, orders, { ID: String(i), NOTE: 'undone' });
      db.rollbackTo(big, 'half');
      db.update(big, orders, { ID: '0' }, { NOTE: 'changed' });
      db.commit(big);
      let spilled = 0;
      let files = 0;
      const reader = await adapter.createLogReader({ from, tables: [schema] });
      const got: RowChange<OracleOffset>[] = [];
      const target = db.scn;
      for await (const batch of reader) {
        spilled = Math.max(spilled, reader.metrics?.().spilledChanges ?? 0);
        files = Math.max(
          files,
          readdirSync(spillDirectory).flatMap((d) => readdirSync(join(spillDirectory, d))).length,
        );
        got.push(...changes(batch));
        const last = batch[batch.length - 1];
        if (last?.kind === 'progress' && BigInt(last.offset.commitScn) > target) break;
      }
      await reader.close();
      expect(spilled).toBeGreaterThan(50);
      expect(files).toBe(1);
      expect(got.map((c) => c.after?.ID)).toEqual([...Array.from({ length: 100 }, (_, i) => i), 0]);
      expect(got[100]!.after).toEqual({ ID: 0, NOTE: 'changed' });
      expect(got.map((c) => c.offset.index)).toEqual(Array.from({ length: 101 }, (_, i) => i));
      expect(readdirSync(spillDirectory)).toEqual([]);
    } finally {
      rmSync(spillDirectory, { recursive: true, force: true });
    }
  });

  it('drops rolled-back transactions and honours rollbacks to a savepoint', async () => {
    const { db, orders, adapter } = simulatedShop();
    const schema = await schemaOf(db, orders);
    db.transaction((tx) => db.insert(tx, orders, { ID: '9', NOTE: 'kept' }));
    const from = now(db);
    const gone = db.begin();
    db.insert(gone, orders, { ID: '1', NOTE: 'never' });
    db.update(gone, orders, { ID: '9' }, { NOTE: 'never' });
    db.rollback(gone);
    const partial = db.begin();
    db.insert(partial, orders, { ID: '2', NOTE: 'first' });
    db.savepoint(partial, 's1');
    db.insert(partial, orders, { ID: '3', NOTE: 'undone' });
    db.update(partial, orders, { ID: '2' }, { NOTE: 'undone' });
    db.delete(partial, orders, { ID: '9' });
    db.rollbackTo(partial, 's1');
    db.insert(partial, orders, { ID: '4', NOTE: 'second' });
    db.commit(partial);
    const got = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(got.map((c) => [c.op, c.after])).toEqual([
      ['c', { ID: 2, NOTE: 'first' }],
      ['c', { ID: 4, NOTE: 'second' }],
    ]);
  });

  it('restarts inside an open transaction: from a progress offset, and from an event inside a transaction, nothing lost or repeated', async () => {
    const { db, orders, adapter } = simulatedShop();
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const open = db.begin();
    db.insert(open, orders, { ID: '1', NOTE: 'open 1' });
    db.transaction((tx) => db.insert(tx, orders, { ID: '2', NOTE: 'other' }));
    db.insert(open, orders, { ID: '3', NOTE: 'open 2' });
    const first = await readThrough(adapter, db, from, [schema]);
    expect(changes(first.items).map((c) => c.after?.ID)).toEqual([2]);
    // The checkpoint: past the committed transaction, restart SCN at the open transaction's start.
    const checkpoint = first.last!;
    expect(BigInt(checkpoint.restartScn)).toBeLessThanOrEqual(open.startScn!);
    db.insert(open, orders, { ID: '4', NOTE: 'open 3' });
    db.commit(open);
    const second = await readThrough(adapter, db, checkpoint, [schema]);
    const resumed = changes(second.items);
    expect(resumed.map((c) => c.after?.ID)).toEqual([1, 3, 4]);
    // From the second change of that transaction: only the third.
    const third = await readThrough(adapter, db, resumed[1]!.offset, [schema]);
    expect(changes(third.items).map((c) => c.after?.ID)).toEqual([4]);
  });

  it('decodes rows after a DDL with the new definition, with a schema item between', async () => {
    const { db, orders, adapter } = simulatedShop();
    const schema = await schemaOf(db, orders);
    const from = now(db);
    db.transaction((tx) => db.insert(tx, orders, { ID: '1', NOTE: 'before' }));
    db.addColumn(orders, oracleColumn('PRICE', 'NUMBER', { precision: 12, scale: 2 }));
    db.transaction((tx) => db.insert(tx, orders, { ID: '2', NOTE: 'after', PRICE: '12.5' }));
    const { items } = await readThrough(adapter, db, from, [schema]);
    expect(items.map((i) => i.kind)).toEqual(['change', 'schema', 'change']);
    const ddl = items[1]!;
    expect(ddl.kind === 'schema' && ddl.schema?.columns.map((c) => c.name)).toEqual(['ID', 'NOTE', 'PRICE']);
    expect(ddl.kind === 'schema' && ddl.ddl).toMatch(/^alter table "SHOP"."ORDERS" add/);
    expect(changes(items)[1]!.after).toEqual({ ID: 2, NOTE: 'after', PRICE: '12.5' });
  });

  it('joins SQL_REDO continued over several rows (CSF)', async () => {
    const { db, orders, adapter } = simulatedShop({ csfBytes: 100 });
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const note = `${"it's ".repeat(300)}日本語`;
    db.transaction((tx) => db.insert(tx, orders, { ID: '1', NOTE: note }));
    expect(db.redo.filter((r) => r.csf === 1).length).toBeGreaterThan(10);
    const got = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(got[0]!.after).toEqual({ ID: 1, NOTE: note });
  });

  it('says when a LOB was not logged instead of emitting a null', async () => {
    const { db, adapter } = simulatedShop();
    const docs = createDocs(db);
    const schema = await schemaOf(db, docs);
    const from = now(db);
    db.transaction((tx) => db.insert(tx, docs, { ID: '1', TITLE: 'short', BODY: 'inline text' }));
    db.transaction((tx) => db.insert(tx, docs, { ID: '2', TITLE: 'long', BODY: 'x'.repeat(5000) }));
    db.transaction((tx) => db.update(tx, docs, { ID: '1' }, { TITLE: 'renamed' }));
    const got = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(got[0]).toMatchObject({ after: { ID: 1, TITLE: 'short', BODY: 'inline text' } });
    expect(got[0]!.unchanged).toBeUndefined();
    expect(got[1]!.after).toEqual({ ID: 2, TITLE: 'long' });
    expect(got[1]!.unchanged).toEqual(['BODY']);
    expect(got[2]!.after).toEqual({ ID: 1, TITLE: 'renamed' });
    expect(got[2]!.unchanged).toEqual(['BODY']);
  });

  it('fails with OffsetUnavailableError when the logs of the offset were purged', async () => {
    const { db, orders, adapter } = simulatedShop({ recordsPerLog: 5 });
    const schema = await schemaOf(db, orders);
    const from = now(db);
    for (let i = 0; i < 40; i++) db.transaction((tx) => db.insert(tx, orders, { ID: String(i), NOTE: null }));
    db.purgeArchivedBefore(db.logs[db.logs.length - 1]!.sequence);
    await expect(readThrough(adapter, db, from, [schema])).rejects.toMatchObject({
      code: 'HW_OFFSET_UNAVAILABLE',
      message: expect.stringMatching(/no redo or archived log holds SCN/),
    });
  });

  it('addTables: captures the new table from transactions already open, and repeats nothing', async () => {
    const { db, orders, adapter } = simulatedShop();
    const docs = createDocs(db);
    const [ordersSchema, docsSchema] = [await schemaOf(db, orders), await schemaOf(db, docs)];
    db.transaction((tx) => db.insert(tx, orders, { ID: '1', NOTE: 'before' }));
    const open = db.begin();
    db.insert(open, docs, { ID: '7', TITLE: 'early', BODY: null }); // before the table is added
    db.insert(open, orders, { ID: '2', NOTE: 'open' });
    const reader = await adapter.createLogReader({ from: watermarkAt(1000n, 1000n), tables: [ordersSchema] });
    const batches = reader[Symbol.asyncIterator]();
    const seen: RowChange<OracleOffset>[] = [];
    const readUntil = async (done: () => boolean) => {
      while (!done()) {
        const next = await batches.next();
        if (next.done === true) throw new Error('reader ended');
        for (const item of next.value) if (item.kind === 'change') seen.push(item);
      }
    };
    try {
      await readUntil(() => seen.length >= 1);
      await reader.addTables?.([docsSchema]);
      db.insert(open, docs, { ID: '8', TITLE: 'late', BODY: null });
      db.commit(open);
      await readUntil(() => seen.length >= 4);
      expect(seen.map((c) => [c.table, c.op, c.after?.ID])).toEqual([
        ['SHOP.ORDERS', 'c', 1],
        ['SHOP.DOCS', 'c', 7],
        ['SHOP.ORDERS', 'c', 2],
        ['SHOP.DOCS', 'c', 8],
      ]);
    } finally {
      await reader.close();
    }
  });

  it('closes its session', async () => {
    const { db, orders, adapter } = simulatedShop();
    const schema = await schemaOf(db, orders);
    await readThrough(adapter, db, now(db), [schema]);
    expect(db.openSessions).toBe(0);
  });
});
