import { describe, expect, it } from 'vitest';
import { compareOracleOffsets, type OracleSession, oracleOffsets, watermarkAt } from '../src/index.js';
import { WrittenRedo } from '../src/logminer/written-redo.js';
import { now, schemaOf, simulatedShop } from './helpers.js';

describe('Oracle offsets', () => {
  it('order by commit SCN (as numbers, beyond 2^53), then transaction, then change; a watermark sits after its SCN', () => {
    const at = (commitScn: string, txSeq: number, index: number) => ({
      commitScn,
      txSeq,
      index,
      restartScn: '1',
      thread: 1,
      threads: {},
    });
    const sorted = [
      at('9', 0, 0),
      watermarkAt(9n, 1n),
      at('10', 0, 5),
      at('10', 1, 0),
      at('18446744073709551615', -1, -1),
      at('98446744073709551615', 0, 0),
    ];
    for (let i = 1; i < sorted.length; i++) expect(compareOracleOffsets(sorted[i - 1]!, sorted[i]!)).toBeLessThan(0);
    expect(compareOracleOffsets(watermarkAt(9n, 1n), at('10', -1, -1))).toBe(0);
  });

  it('round-trip through JSON and refuse anything else', () => {
    const o = {
      commitScn: '123456789012345678',
      txSeq: 2,
      index: 7,
      restartScn: '123456789012345000',
      thread: 2,
      threads: {
        '1': { commitScn: '123456789012345678', txSeq: 0 },
        '2': { commitScn: '123456789012345678', txSeq: 1 },
      },
    };
    expect(oracleOffsets.fromJSON(JSON.parse(JSON.stringify(oracleOffsets.toJSON(o))))).toEqual(o);
    // An offset written before per-thread positions existed (one thread): its own commit is its thread's last.
    const { threads: _, ...old } = { ...o, thread: 1, txSeq: 0 };
    expect(oracleOffsets.fromJSON(old).threads).toEqual({ '1': { commitScn: o.commitScn, txSeq: 0 } });
    for (const bad of [
      null,
      '123',
      { ...o, commitScn: 123 },
      { ...o, commitScn: '0123' },
      { ...o, restartScn: '999999999999999999' }, // restart after the commit
      { ...o, index: -2 },
      { ...o, extra: 1 },
      { ...o, threads: { '0': { commitScn: '1', txSeq: 0 } } },
      { ...o, threads: { '1': { commitScn: '1', txSeq: -1 } } },
      { ...o, threads: [] },
      { file: 'binlog.000001', pos: 4, eventIndex: 0, rowIndex: 0 },
    ]) {
      expect(() => oracleOffsets.fromJSON(bad as never)).toThrow(/is not an Oracle offset/);
    }
  });
});

describe('Oracle mining windows (simulator)', () => {
  it('halve when a window returns too many rows and grow again when the log is quiet', async () => {
    const { db, orders, adapter } = simulatedShop(
      {},
      { windowScns: 64, minWindowScns: 4, maxWindowScns: 256, targetRowsPerWindow: 28 },
    );
    const schema = await schemaOf(db, orders);
    const from = now(db);
    for (let i = 0; i < 300; i++) db.transaction((tx) => db.insert(tx, orders, { ID: String(i), NOTE: null }));
    const reader = await adapter.createLogReader({ from, tables: [schema] });
    const sizes: number[] = [];
    let seen = 0;
    let extra = 300;
    for await (const batch of reader) {
      sizes.push(reader.metrics?.().windowScns ?? 0);
      seen += batch.filter((i) => i.kind === 'change').length;
      // Caught up: from now on one small transaction at a time, so each window returns few rows.
      if (seen >= 300 && extra < 340)
        db.transaction((tx) => db.insert(tx, orders, { ID: String(extra++), NOTE: null }));
      if (seen >= 340 || (reader.metrics?.().windowScns ?? 0) === 256) break;
    }
    await reader.close();
    // 300 transactions of 3 rows (START, INSERT, COMMIT) over about 900 SCNs: windows of 64 and 32
    // SCNs return as many rows, above the target of 28, so the window shrinks to 16; then windows of
    // one or two small transactions (under a quarter of the target) double it up to the maximum.
    expect(Math.min(...sizes)).toBeLessThan(64);
    expect(sizes[sizes.length - 1]).toBe(256);
  });
});

describe('WrittenRedo: where a window may end', () => {
  /** A session answering V$THREAD with `threads` (status, LAST_REDO_CHANGE#); nothing else is asked. */
  const session = (threads: () => [string, string | null][]): OracleSession => ({
    execute: async () => ({
      rows: threads().map(([status, last], i) => ({
        'THREAD#': String(i + 1),
        STATUS: status,
        'LAST_REDO_CHANGE#': last,
      })),
    }),
    stream: () => {
      throw new Error('not used');
    },
    close: async () => undefined,
  });

  it('is one below the lowest open thread’s last written SCN, never above CURRENT_SCN, and an SCN redoFlushMs old at least', async () => {
    let clock = 0;
    let threads: [string, string | null][] = [
      ['OPEN', '100'],
      ['OPEN', '60'],
      ['CLOSED', '5'],
    ];
    const written = new WrittenRedo(5000, () => clock);
    const s = session(() => threads);
    expect(await written.bound(s, 120n)).toBe(59n); // thread 2 wrote through 60; the closed thread 3 does not count
    expect(await written.bound(s, 90n)).toBe(59n);
    threads = [
      ['OPEN', '200'],
      ['OPEN', '300'],
    ];
    expect(await written.bound(s, 150n)).toBe(150n); // both wrote past CURRENT_SCN
    // Thread 2 goes idle (its LAST_REDO_CHANGE# stays 60) while CURRENT_SCN moves on.
    threads = [
      ['OPEN', '400'],
      ['OPEN', '60'],
    ];
    clock = 10_000;
    // The readings taken at 0 are 10 s old: everything up to the newest of them (150) is written.
    expect(await written.bound(s, 400n)).toBe(150n);
    clock = 14_999;
    expect(await written.bound(s, 410n)).toBe(150n); // the 400 reading is 4999 ms old: not yet
    clock = 15_000;
    expect(await written.bound(s, 420n)).toBe(400n); // 5 s after CURRENT_SCN was 400, LGWR wrote everything up to it
    clock = 15_001;
    expect(await written.bound(s, 430n)).toBe(400n);
    clock = 20_000;
    expect(await written.bound(s, 440n)).toBe(420n);
  });
});
