import { createSource, MissingKeyError, type SourceEvent } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { oracleAdapter, oracleColumn } from '../src/index.js';
import { nextRowidBoundary } from '../src/rowid/rowid-ranges.js';
import { compareRowids, decodeRowid, encodeRowid } from '../src/rowid/rowid.js';
import { CAPTURE } from './helpers.js';
import { FAST_LGWR, FAST_REDO_FLUSH_MS, SimulatedOracle, type SimTable } from './simulator/database.js';
import { simulatedConnector } from './simulator/session.js';

type Change = Extract<SourceEvent, { kind: 'change' }>;

describe('extended ROWIDs', () => {
  it('encode and decode OOOOOOFFFBBBBBBRRR (the example of Oracle Database Concepts, "Rowid Format")', () => {
    // AAAPec AAF AAAABS AAA: data object 15·64² + 30·64 + 28 = 63388, file 5, block 1·64 + 18 = 82, row 0.
    expect(decodeRowid('AAAPecAAFAAAABSAAA')).toEqual({ objectId: 63388, file: 5, block: 82, row: 0 });
    expect(encodeRowid({ objectId: 63388, file: 5, block: 82, row: 0 })).toBe('AAAPecAAFAAAABSAAA');
    const parts = { objectId: 4_294_967_295, file: 1023, block: 4_194_303, row: 65_535 };
    expect(decodeRowid(encodeRowid(parts))).toEqual(parts);
    expect(() => decodeRowid('AAAPecAAFAAAABSAA')).toThrow(/not an extended ROWID/);
  });

  it('orders by object, file, block, row — not by the text, whose alphabet is not in ASCII order', () => {
    const low = encodeRowid({ objectId: 1, file: 7, block: 26, row: 0 }); // block digit 'a'
    const high = encodeRowid({ objectId: 1, file: 7, block: 52, row: 0 }); // block digit '0'
    expect(compareRowids(low, high)).toBeLessThan(0);
    expect(low < high).toBe(false); // as text, '0' sorts before 'a'
    expect(compareRowids(encodeRowid({ objectId: 2, file: 1, block: 1, row: 0 }), high)).toBeGreaterThan(0);
  });

  it('cuts ROWID ranges from extents: increasing, covering every block once, the last one open', () => {
    const extents = [
      { objectId: 9, file: 7, block: 128, blocks: 8 },
      { objectId: 9, file: 7, block: 200, blocks: 8 },
      { objectId: 10, file: 4, block: 16, blocks: 8 }, // a second partition's segment
    ];
    const bounds: string[] = [];
    for (let b = nextRowidBoundary(extents, null, 5); b !== null; b = nextRowidBoundary(extents, b, 5)) bounds.push(b);
    expect(bounds.map(decodeRowid)).toEqual([
      { objectId: 9, file: 7, block: 133, row: 0 },
      { objectId: 9, file: 7, block: 202, row: 0 },
      { objectId: 9, file: 7, block: 207, row: 0 },
      { objectId: 10, file: 4, block: 20, row: 0 },
    ]);
    for (let i = 1; i < bounds.length; i++) expect(compareRowids(bounds[i - 1]!, bounds[i]!)).toBeLessThan(0);
    // A bigfile tablespace (RELATIVE_FNO 1024): the block number fills FFFBBBBBB.
    const big = nextRowidBoundary([{ objectId: 3, file: 1024, block: 2 ** 30, blocks: 100 }], null, 10);
    expect(decodeRowid(big as string)).toEqual({
      objectId: 3,
      file: Math.floor((2 ** 30 + 10) / 64 ** 6),
      block: (2 ** 30 + 10) % 64 ** 6,
      row: 0,
    });
  });
});

/** SIMULATOR: SHOP.LOG without a primary key, 120 rows in 16-row blocks, some rows identical. */
function keylessShop(rowidKeys: boolean) {
  const db = new SimulatedOracle({ rowsPerBlock: 16, ...FAST_LGWR });
  const log = db.createTable(
    'SHOP',
    'LOG',
    [oracleColumn('MSG', 'VARCHAR2', { length: 100 }), oracleColumn('N', 'NUMBER', { precision: 10, scale: 0 })],
    [],
  );
  const other = db.createTable('SHOP', 'OTHER', [oracleColumn('X', 'NUMBER', { precision: 10, scale: 0 })], []);
  for (let i = 0; i < 120; i++) {
    db.transaction((tx) => {
      db.insert(tx, log, { MSG: i % 10 === 0 ? 'same' : `row ${i}`, N: i % 10 === 0 ? '0' : String(i) });
      if (i % 3 === 0) db.insert(tx, other, { X: String(i) }); // interleaves the two tables' extents
    });
  }
  const adapter = oracleAdapter({
    connection: CAPTURE,
    connect: simulatedConnector(db),
    rowidKeys,
    mining: { pollMs: 2, windowScns: 64, redoFlushMs: FAST_REDO_FLUSH_MS },
  });
  return { db, log, adapter };
}

type Batches = AsyncIterator<{ readonly events: readonly SourceEvent[] }>;

/** Change events from `batches` until `until` holds (the iterator stays open: breaking a for-await would close the source). */
async function collect(batches: Batches, until: (events: Change[]) => boolean) {
  const events: Change[] = [];
  while (!until(events)) {
    const next = await batches.next();
    if (next.done === true) throw new Error('the source ended');
    for (const e of next.value.events) if (e.kind === 'change') events.push(e);
  }
  return events;
}

function rowidOf(db: SimulatedOracle, table: SimTable, n: string): string {
  const found = db.rows(table, null).find(([, r]) => r.N === n);
  if (found === undefined) throw new Error(`no row N = ${n}`);
  return found[0];
}

describe('tables without a primary key keyed by ROWID (rowidKeys, simulator)', () => {
  it('snapshots in ROWID ranges cut from the extents and streams changes keyed by the same ROWIDs', async () => {
    const { db, log, adapter } = keylessShop(true);
    const introspector = await adapter.createIntrospector();
    const [schema] = await introspector.describeTables([{ schema: 'SHOP', name: 'LOG' }]);
    expect(schema?.chunkKey).toEqual(['ROWID']);
    expect(schema?.columns.map((c) => [c.name, c.type.kind])).toEqual([
      ['MSG', 'string'],
      ['N', 'int64'],
      ['ROWID', 'string'],
    ]);
    // 120 rows at 16 per block = 8 blocks in two extents; 32-row chunks = 2 blocks each.
    const bounds: unknown[] = [];
    for (let b = await introspector.nextChunkBoundary(schema!, null, 32); b !== null; ) {
      bounds.push(b[0]);
      b = await introspector.nextChunkBoundary(schema!, b, 32);
    }
    await introspector.close();
    // 120 rows fill 8 blocks (statistics: 15 rows a block), so 3 blocks a chunk: ends at blocks 3
    // and 6 of the one extent, and the last chunk is open-ended.
    expect(bounds).toHaveLength(2);

    const source = createSource({
      adapter,
      tables: { include: ['SHOP.LOG'] },
      chunkSize: 32,
      parallelism: 2,
      heartbeatIntervalMs: 5,
    });
    try {
      await source.start();
      const batches = source[Symbol.asyncIterator]();
      const snapshot = await collect(batches, (e) => e.length >= 120);
      expect(snapshot.every((e) => e.op === 'r')).toBe(true);
      const keys = snapshot.map((e) => e.key.ROWID as string);
      expect(new Set(keys).size).toBe(120); // the twelve identical rows stay twelve rows
      expect(snapshot.filter((e) => e.after?.MSG === 'same')).toHaveLength(12);
      for (const e of snapshot) expect(e.after?.ROWID).toBe(e.key.ROWID);
      expect(keys.sort()).toEqual(
        db
          .rows(log, null)
          .map(([id]) => id)
          .sort(),
      );

      const updated = rowidOf(db, log, '7');
      const deleted = rowidOf(db, log, '8');
      db.transaction((tx) => {
        db.update(tx, log, { N: '7' }, { MSG: 'seven' });
        db.delete(tx, log, { N: '8' });
        db.insert(tx, log, { MSG: 'new', N: '500' });
      });
      const stream = await collect(batches, (e) => e.length >= 3);
      expect(stream.map((e) => [e.op, e.key.ROWID])).toEqual([
        ['u', updated],
        ['d', deleted],
        ['c', rowidOf(db, log, '500')],
      ]);
      expect(stream[0]?.after).toEqual({ MSG: 'seven', N: 7, ROWID: updated });
      expect(stream[0]?.before).toEqual({ MSG: 'row 7', N: 7, ROWID: updated });
      expect(stream[2]?.after).toEqual({ MSG: 'new', N: 500, ROWID: rowidOf(db, log, '500') });
    } finally {
      await source.close();
    }
    expect(db.openSessions).toBe(0);
  });

  it('a snapshot in ROWID ranges under concurrent inserts, updates and deletes materialises to exactly the final table', async () => {
    const { db, log, adapter } = keylessShop(true);
    let n = 0;
    // Before every chunk read (a flashback query), a transaction: a new row, an update, a delete.
    db.beforeStatement = (sql) => {
      if (!sql.includes(' AS OF SCN ')) return;
      n++;
      db.transaction((tx) => {
        db.insert(tx, log, { MSG: `concurrent ${n}`, N: String(1000 + n) });
        const rows = db.rows(log, tx).filter(([, r]) => Number(r.N) < 1000);
        const [, updated] = rows[(n * 7) % rows.length] ?? [];
        if (updated !== undefined) db.update(tx, log, { N: updated.N ?? null }, { MSG: `updated ${n}` });
        const [, deleted] = rows[(n * 13 + 5) % rows.length] ?? [];
        if (deleted !== undefined && deleted !== updated) db.delete(tx, log, { N: deleted.N ?? null });
      });
    };
    const source = createSource({
      adapter,
      tables: { include: ['SHOP.LOG'] },
      chunkSize: 16,
      parallelism: 2,
      heartbeatIntervalMs: 5,
    });
    const table = new Map<string, unknown>();
    const expected = () =>
      new Map<string, Readonly<Record<string, unknown>>>(db.rows(log, null).map(([rowid, r]) => [rowid, r]));
    const same = () => {
      const want = expected();
      if (want.size !== table.size) return false;
      for (const [k, v] of want) {
        const got = table.get(k) as Record<string, unknown> | undefined;
        if (got === undefined || got.MSG !== v.MSG || String(got.N) !== String(v.N)) return false;
      }
      return true;
    };
    try {
      await source.start();
      const batches = source[Symbol.asyncIterator]();
      let snapshotDone = false;
      while (!(snapshotDone && same())) {
        const next = await batches.next();
        if (next.done === true) throw new Error('the source ended');
        for (const e of next.value.events) {
          if (e.kind === 'change') {
            if (e.op === 'd') table.delete(e.key.ROWID as string);
            else table.set(e.key.ROWID as string, e.after);
          }
        }
        snapshotDone = source.metrics().state === 'stream';
        if (snapshotDone) db.beforeStatement = null;
      }
      expect(n).toBeGreaterThan(3); // several chunks, each raced by a transaction
      expect(table.size).toBe(expected().size);
    } finally {
      db.beforeStatement = null;
      await source.close();
    }
  });

  it('ALTER TABLE … MOVE (new ROWIDs, no row changes in the redo) stops the stream with MissingKeyError', async () => {
    const { db, log, adapter } = keylessShop(true);
    const source = createSource({
      adapter,
      tables: { include: ['SHOP.LOG'] },
      startup: { mode: 'latest' },
      heartbeatIntervalMs: 5,
    });
    try {
      await source.start();
      db.transaction((tx) => db.insert(tx, log, { MSG: 'before move', N: '900' }));
      const before = rowidOf(db, log, '900');
      const batches = source[Symbol.asyncIterator]();
      const seen = await collect(batches, (e) => e.length >= 1);
      db.moveTable(log);
      expect(rowidOf(db, log, '900')).not.toBe(before);
      db.transaction((tx) => db.update(tx, log, { N: '900' }, { MSG: 'after move' }));
      const error = await collect(batches, (e) => e.length >= 1).then(
        (more) => new Error(`no error; more events: ${JSON.stringify(more.map((e) => e.op))}`),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MissingKeyError);
      expect(String((error as Error).message)).toMatch(/SHOP\.LOG is keyed by ROWID.*new snapshot/);
      // The insert before the move was delivered; nothing after it was (the update's key would be unknown).
      expect(seen.map((e) => [e.op, e.key.ROWID])).toEqual([['c', before]]);
    } finally {
      await source.close();
    }
  });

  it('a chunkKeys entry wins over ROWID as key; the ROWID column is still carried, filled from ROW_ID', async () => {
    const { db, adapter } = keylessShop(true);
    const other = db.table('SHOP', 'OTHER');
    const source = createSource({
      adapter,
      tables: { include: ['SHOP.OTHER'] },
      chunkKeys: { 'SHOP.OTHER': ['X'] },
      heartbeatIntervalMs: 5,
    });
    try {
      await source.start();
      const batches = source[Symbol.asyncIterator]();
      const snapshot = await collect(batches, (e) => e.length >= 40);
      expect(snapshot.every((e) => Object.keys(e.key).join() === 'X' && typeof e.after?.ROWID === 'string')).toBe(true);
      db.transaction((tx) => db.insert(tx, other, { X: '9999' }));
      const [insert] = await collect(batches, (e) => e.length >= 1);
      const rowid = db.rows(other, null).find(([, r]) => r.X === '9999')?.[0];
      expect(insert).toMatchObject({ op: 'c', key: { X: 9999 }, after: { X: 9999, ROWID: rowid } });
    } finally {
      await source.close();
    }
  });

  it('off by default: a keyless table has no key, so keylessTables skips it and chunkKeys still applies', async () => {
    const { adapter } = keylessShop(false);
    const introspector = await adapter.createIntrospector();
    const [schema] = await introspector.describeTables([{ schema: 'SHOP', name: 'LOG' }]);
    await introspector.close();
    expect(schema?.chunkKey).toEqual([]);
    expect(schema?.columns.map((c) => c.name)).toEqual(['MSG', 'N']);
    const skipped: string[] = [];
    const source = createSource({
      adapter,
      tables: { include: ['SHOP.*'] },
      keylessTables: 'skip',
      onTableSkipped: (table) => skipped.push(table),
      chunkKeys: { 'SHOP.OTHER': ['X'] },
    });
    try {
      await source.start();
      expect(skipped).toEqual(['SHOP.LOG']);
    } finally {
      await source.close();
    }
  });
});
