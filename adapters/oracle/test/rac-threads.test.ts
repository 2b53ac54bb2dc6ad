import type { RowChange } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareOracleOffsets, type OracleOffset, oracleOffsets } from '../src/index.js';
import { changes, now, readThrough, schemaOf, simulatedShop } from './helpers.js';

/** SIMULATOR: a two-instance RAC database (two redo threads) with SHOP.ORDERS. */
const rac = (recordsPerLog = 7) => simulatedShop({ threads: 2, recordsPerLog });

const idOf = (c: RowChange<OracleOffset>) => `${c.txId}:${String(c.after?.ID ?? c.before?.ID)}`;

describe('Oracle RAC: several redo threads (simulator)', () => {
  it('mines the logs of every thread and emits their transactions merged in commit order, each whole', async () => {
    const { db, orders, adapter } = rac();
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const a = db.begin(1);
    const b = db.begin(2);
    for (let i = 0; i < 20; i++) {
      db.insert(a, orders, { ID: String(100 + i), NOTE: 'thread 1' });
      db.insert(b, orders, { ID: String(200 + i), NOTE: 'thread 2' });
      db.transaction((tx) => db.insert(tx, orders, { ID: String(i), NOTE: 'short on 1' }));
    }
    db.commit(b);
    const c = db.begin(2);
    db.insert(c, orders, { ID: '300', NOTE: 'after b' });
    db.commit(a);
    db.commit(c);
    // Both threads switched logs several times, each on its own sequence.
    expect(db.logs.filter((l) => l.thread === 2).length).toBeGreaterThan(3);
    const got = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(got).toHaveLength(61);
    expect(got.slice(0, 20).map((x) => x.after?.ID)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(got.slice(20, 40).map((x) => [x.txId, x.offset.thread])).toEqual(Array(20).fill([b.xid, 2]));
    expect(got.slice(40, 60).map((x) => [x.txId, x.offset.thread])).toEqual(Array(20).fill([a.xid, 1]));
    expect(got[60]).toMatchObject({ txId: c.xid, offset: { thread: 2 } });
    for (let i = 1; i < got.length; i++)
      expect(compareOracleOffsets(got[i - 1]!.offset, got[i]!.offset)).toBeLessThan(0);
    // Each offset carries every thread's last commit.
    expect(Object.keys(got[60]!.offset.threads).sort()).toEqual(['1', '2']);
  });

  it('restarts mid-stream between commits of two threads at one SCN, whatever order LogMiner then gives them', async () => {
    const { db, orders, adapter } = rac();
    const schema = await schemaOf(db, orders);
    const from = now(db);
    const open = db.begin(1); // open across the restart: its start is the restart SCN
    db.insert(open, orders, { ID: '1', NOTE: 'open' });
    const t1 = db.begin(1);
    const t2 = db.begin(2);
    const u1 = db.begin(1);
    for (let i = 0; i < 3; i++) {
      db.insert(t1, orders, { ID: String(10 + i), NOTE: 't1' });
      db.insert(t2, orders, { ID: String(20 + i), NOTE: 't2' });
      db.insert(u1, orders, { ID: String(30 + i), NOTE: 'u1' });
    }
    // Three commits at one SCN: t1 and u1 on thread 1 (in that order), t2 on thread 2.
    const scn = db.commitTogether([t1, u1, t2]);
    db.transaction((tx) => db.insert(tx, orders, { ID: '40', NOTE: 'later' }));
    db.commit(open);

    const full = changes((await readThrough(adapter, db, from, [schema])).items);
    expect(full.map((c) => c.txId).slice(0, 9)).toEqual([
      ...Array(3).fill(t1.xid),
      ...Array(3).fill(u1.xid),
      ...Array(3).fill(t2.xid),
    ]);
    expect(full.slice(0, 9).every((c) => c.offset.commitScn === String(scn))).toBe(true);

    // Every cut inside the same-SCN group: after change 0..8, resumed with the threads' records at that SCN reversed.
    for (let cut = 0; cut < 9; cut++) {
      db.sameScnOrder = 'thread-asc';
      const offset = oracleOffsets.fromJSON(JSON.parse(JSON.stringify(oracleOffsets.toJSON(full[cut]!.offset))));
      db.sameScnOrder = 'thread-desc';
      const rest = changes((await readThrough(adapter, db, offset, [schema])).items);
      const delivered = full.slice(0, cut + 1).map(idOf);
      expect([...delivered, ...rest.map(idOf)].sort(), `cut after change ${cut}`).toEqual(full.map(idOf).sort());
      // thread 2's commit now comes first; thread 1's stay in their redo order.
      const restTx = [...new Set(rest.map((c) => c.txId))];
      const expected = [t2.xid, t1.xid, u1.xid].filter((x) => restTx.includes(x));
      expect(restTx.slice(0, expected.length)).toEqual(expected);
    }
  });

  it('fails with OffsetUnavailableError when one thread’s archived logs were purged', async () => {
    const { db, orders, adapter } = rac(5);
    const schema = await schemaOf(db, orders);
    const from = now(db);
    for (let i = 0; i < 30; i++) {
      db.transaction((tx) => db.insert(tx, orders, { ID: String(i), NOTE: null }));
      const tx = db.begin(2);
      db.insert(tx, orders, { ID: String(100 + i), NOTE: null });
      db.commit(tx);
    }
    db.purgeArchivedBefore(db.currentLog(2).sequence, 2);
    await expect(readThrough(adapter, db, from, [schema])).rejects.toMatchObject({
      code: 'HW_OFFSET_UNAVAILABLE',
      message: expect.stringMatching(/on redo thread 2/),
    });
  });
});
