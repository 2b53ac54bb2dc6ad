import type { Key, LogicalType, TableSchema, Value } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareKeys, MemoryDatabase, memoryAdapter } from '../src/index.js';
import { readAll } from './helpers.js';

// Key-range reads `[start, end)` over every kind of key the database orders: each case inserts rows
// in shuffled order and checks that every range read returns exactly the rows whose keys are in the
// range, in key order, across batch boundaries.

interface KeyCase {
  readonly name: string;
  readonly columns: readonly { name: string; type: LogicalType }[];
  readonly keys: readonly Key[]; // ascending
}

const bytes = (...b: number[]) => new Uint8Array(b);

const cases: readonly KeyCase[] = [
  { name: 'int32', columns: [{ name: 'k', type: { kind: 'int32' } }], keys: [[-5], [0], [1], [2], [10], [1000]] },
  {
    name: 'int64 mixing numbers and bigints',
    columns: [{ name: 'k', type: { kind: 'int64' } }],
    keys: [[-(2n ** 63n)], [-1], [0], [2 ** 53 - 1], [2n ** 53n + 1n], [2n ** 63n - 1n]],
  },
  {
    name: 'float64',
    columns: [{ name: 'k', type: { kind: 'float64' } }],
    keys: [[-1.5], [-0.25], [0.5], [3.25], [1e300]],
  },
  {
    name: 'string',
    columns: [{ name: 'k', type: { kind: 'string' } }],
    keys: [[''], ['A'], ['Z'], ['a'], ['aa'], ['é'], ['\u{1F600}'], ['～']],
  },
  {
    name: 'bytes',
    columns: [{ name: 'k', type: { kind: 'bytes' } }],
    keys: [[bytes()], [bytes(0)], [bytes(0, 0)], [bytes(1)], [bytes(255)]],
  },
  {
    name: 'uuid',
    columns: [{ name: 'k', type: { kind: 'uuid' } }],
    keys: [
      ['00000000-0000-0000-0000-000000000000'],
      ['0f000000-0000-0000-0000-000000000000'],
      ['a0000000-0000-0000-0000-000000000000'],
      ['ffffffff-ffff-ffff-ffff-ffffffffffff'],
    ],
  },
  { name: 'boolean', columns: [{ name: 'k', type: { kind: 'boolean' } }], keys: [[false], [true]] },
  {
    name: 'composite (string, int32)',
    columns: [
      { name: 'a', type: { kind: 'string' } },
      { name: 'b', type: { kind: 'int32' } },
    ],
    keys: [
      ['a', 1],
      ['a', 2],
      ['a', 10],
      ['b', -1],
      ['b', 0],
      ['c', 5],
    ],
  },
];

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('readChunk over every key type', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const db = new MemoryDatabase();
      const pk = c.columns.map((col) => col.name);
      db.createTable({ name: 'k.t', columns: [...c.columns, { name: 'v', type: { kind: 'int32' } }], primaryKey: pk });
      for (const [i, key] of shuffle(c.keys.map((k, i) => [i, k] as const))) {
        const row: Record<string, Value> = { v: i };
        pk.forEach((col, j) => {
          row[col] = key[j] as Value;
        });
        db.insert('k.t', row);
      }
      // Batches of 2 force the read to resume by key several times.
      const adapter = memoryAdapter(db, { chunkBatchSize: 2 });
      const introspector = await adapter.createIntrospector();
      const [schema] = (await introspector.describeTables([{ schema: 'k', name: 't' }])) as [TableSchema];
      const reader = await adapter.createChunkReader();
      const bounds: (Key | null)[] = [null, ...c.keys, null];
      for (let s = 0; s < bounds.length - 1; s++) {
        for (let e = s + 1; e < bounds.length; e++) {
          const start = s === 0 ? null : (bounds[s] as Key);
          const end = e === bounds.length - 1 ? null : (bounds[e] as Key);
          const rows = await readAll(reader.readChunk(schema, { start, end }));
          const expected = c.keys
            .map((k, i) => ({ k, i }))
            .filter(
              ({ k }) => (start === null || compareKeys(k, start) >= 0) && (end === null || compareKeys(k, end) < 0),
            )
            .map(({ i }) => i);
          expect(
            rows.map((r) => r.v),
            `[${s}, ${e})`,
          ).toEqual(expected);
        }
      }
      expect(await introspector.keyRange(schema)).toEqual({ min: c.keys[0], max: c.keys[c.keys.length - 1] });
      for (let i = 0; i < c.keys.length; i++) {
        expect(adapter.compareKeys(schema, c.keys[i] as Key, (c.keys[i + 1] ?? c.keys[i]) as Key)).toBeLessThanOrEqual(
          0,
        );
      }
      await reader.close();
      await introspector.close();
      expect(db.openConnections()).toEqual([]);
    });
  }

  it('reads a table chunked on a column other than its primary key', async () => {
    const db = new MemoryDatabase();
    db.createTable({
      name: 'k.t',
      columns: [
        { name: 'id', type: { kind: 'int32' } },
        { name: 'email', type: { kind: 'string' } },
      ],
      primaryKey: ['id'],
    });
    const emails = ['d@x', 'a@x', 'c@x', 'e@x', 'b@x'];
    for (const [id, email] of emails.entries()) db.insert('k.t', { id, email });
    const adapter = memoryAdapter(db);
    const introspector = await adapter.createIntrospector();
    const [base] = (await introspector.describeTables([{ schema: 'k', name: 't' }])) as [TableSchema];
    const byEmail: TableSchema = { ...base, chunkKey: ['email'] };
    const reader = await adapter.createChunkReader();
    const rows = await readAll(reader.readChunk(byEmail, { start: ['b@x'], end: ['d@x'] }));
    expect(rows.map((r) => r.email).sort()).toEqual(['b@x', 'c@x']);
    expect(await introspector.keyRange(byEmail)).toEqual({ min: ['a@x'], max: ['e@x'] });
    expect(await introspector.nextChunkBoundary(byEmail, null, 2)).toEqual(['c@x']);
    expect(await introspector.nextChunkBoundary(byEmail, ['c@x'], 2)).toEqual(['e@x']);
    expect(await introspector.nextChunkBoundary(byEmail, ['c@x'], 3)).toBeNull();
    await reader.close();
    await introspector.close();
  });

  it('reads all rows of a table without a key as one unbounded chunk', async () => {
    const db = new MemoryDatabase();
    db.createTable({ name: 'k.heap', columns: [{ name: 'line', type: { kind: 'string' } }] });
    db.insertMany('k.heap', [{ line: 'x' }, { line: 'x' }, { line: 'y' }]);
    const adapter = memoryAdapter(db);
    const introspector = await adapter.createIntrospector();
    const [schema] = (await introspector.describeTables([{ schema: 'k', name: 'heap' }])) as [TableSchema];
    const reader = await adapter.createChunkReader();
    expect(await readAll(reader.readChunk(schema, { start: null, end: null }))).toEqual([
      { line: 'x' },
      { line: 'x' },
      { line: 'y' },
    ]);
    await reader.close();
    await introspector.close();
  });

  it('streams large chunks in batches and sees writes landing between batches', async () => {
    const db = new MemoryDatabase();
    db.createTable({ name: 'k.t', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
    db.insertMany(
      'k.t',
      Array.from({ length: 5000 }, (_, i) => ({ id: i * 2 })),
    );
    const adapter = memoryAdapter(db, { chunkBatchSize: 1000 });
    const [schema] = (await (await adapter.createIntrospector()).describeTables([{ schema: 'k', name: 't' }])) as [
      TableSchema,
    ];
    const reader = await adapter.createChunkReader();
    const sizes: number[] = [];
    const ids: Value[] = [];
    for await (const batch of reader.readChunk(schema, { start: null, end: null })) {
      sizes.push(batch.length);
      ids.push(...batch.map((r) => r.id as Value));
      if (sizes.length === 1) {
        db.insert('k.t', { id: 1 }); // behind the cursor: not seen
        db.insert('k.t', { id: 5001 }); // ahead of it: seen
        db.delete('k.t', [5000]); // ahead: not seen
      }
    }
    expect(sizes.slice(0, 4)).toEqual([1000, 1000, 1000, 1000]);
    expect(ids).not.toContain(1);
    expect(ids).toContain(5001);
    expect(ids).not.toContain(5000);
    expect(ids.length).toBe(5000);
  });
});
