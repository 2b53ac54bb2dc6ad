import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChunkChange, ChunkKeySpace } from '../../src/snapshot/chunk-merge.js';
import { applyChange, mergeChunk } from '../../src/snapshot/chunk-merge.js';
import type { RowChange } from '../../src/spi/log-item.js';
import type { Key, Row } from '../../src/values/value.js';

const space = (lo: number, hi: number): ChunkKeySpace => ({
  keyOf: (row) => [row.id ?? null],
  inChunk: (key: Key) => (key[0] as number) >= lo && (key[0] as number) < hi,
});

function change(
  offset: number,
  op: 'c' | 'u' | 'd',
  before: Row | null,
  after: Row | null,
  unchanged?: string[],
): RowChange<number> {
  return {
    kind: 'change',
    op,
    offset,
    table: 't',
    before,
    after,
    beforeImage: op === 'c' ? 'none' : 'full',
    commitTime: null,
    txId: null,
    ...(unchanged ? { unchanged } : {}),
  };
}

describe('mergeChunk', () => {
  it('applies inserts, updates and deletes in log order', () => {
    const rows = [
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
    ];
    const out = mergeChunk(
      rows,
      [
        change(1, 'u', { id: 1, v: 'a' }, { id: 1, v: 'A' }),
        change(2, 'd', { id: 2, v: 'b' }, null),
        change(3, 'c', null, { id: 3, v: 'c' }),
      ],
      space(0, 10),
    );
    expect(out.sort((a, b) => (a.id as number) - (b.id as number))).toEqual([
      { id: 1, v: 'A' },
      { id: 3, v: 'c' },
    ]);
  });

  it('moves a row out of the chunk and into it on key-changing updates', () => {
    const out = mergeChunk(
      [{ id: 1, v: 'x' }],
      [change(1, 'u', { id: 1, v: 'x' }, { id: 50, v: 'x' }), change(2, 'u', { id: 60, v: 'y' }, { id: 2, v: 'y' })],
      space(0, 10),
    );
    expect(out).toEqual([{ id: 2, v: 'y' }]);
  });

  it('fills columns a partial after-image left out from the buffered row', () => {
    const buffer = new Map<string, Row>();
    applyChange(buffer, change(1, 'c', null, { id: 1, big: 'toast', v: 1 }), space(0, 10));
    applyChange(buffer, { ...change(2, 'u', { id: 1 }, { id: 1, v: 2 }, ['big']), beforeImage: 'key' }, space(0, 10));
    expect([...buffer.values()]).toEqual([{ id: 1, big: 'toast', v: 2 }]);
  });

  it('leaves an unknowable unchanged column absent, never null', () => {
    const out = mergeChunk(
      [],
      [{ ...change(1, 'u', { id: 1 }, { id: 1, v: 2 }, ['big']), beforeImage: 'key' }],
      space(0, 10),
    );
    expect(out).toEqual([{ id: 1, v: 2 }]);
    expect('big' in (out[0] as Row)).toBe(false);
  });

  it('empties the chunk on truncate', () => {
    const truncate: ChunkChange<number> = { kind: 'truncate', table: 't', offset: 2, commitTime: null, txId: null };
    const out = mergeChunk([{ id: 1 }], [truncate, change(3, 'c', null, { id: 4 })], space(0, 10));
    expect(out).toEqual([{ id: 4 }]);
  });

  // The heart of the correctness argument: whatever state between the low watermark and the high
  // watermark the read saw, replaying every change after the low watermark gives the state at the
  // high watermark, restricted to the chunk.
  it('yields the chunk as of the high watermark whichever state the read saw (property)', () => {
    const op = fc.record({
      kind: fc.constantFrom('insert', 'update', 'delete', 'move'),
      id: fc.integer({ min: 0, max: 29 }),
      to: fc.integer({ min: 0, max: 29 }),
      v: fc.integer(),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (ops, lwPick, readPick, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const states: Map<number, Row>[] = [new Map()];
          const log: RowChange<number>[] = [];
          for (const o of ops) {
            const s = new Map(states[states.length - 1]);
            const cur = s.get(o.id);
            if (o.kind === 'insert' && !cur) {
              const row = { id: o.id, v: o.v };
              s.set(o.id, row);
              log.push(change(log.length + 1, 'c', null, row));
            } else if (o.kind === 'update' && cur) {
              const row = { id: o.id, v: o.v };
              s.set(o.id, row);
              log.push(change(log.length + 1, 'u', cur, row));
            } else if (o.kind === 'delete' && cur) {
              s.delete(o.id);
              log.push(change(log.length + 1, 'd', cur, null));
            } else if (o.kind === 'move' && cur && !s.has(o.to)) {
              const row = { id: o.to, v: cur.v ?? null };
              s.delete(o.id);
              s.set(o.to, row);
              log.push(change(log.length + 1, 'u', cur, row));
            } else continue;
            states.push(s);
          }
          const lw = lwPick % states.length;
          const read = lw + (readPick % (states.length - lw));
          const inChunk = (id: number) => id >= lo && id < hi;
          const seen = [...(states[read] as Map<number, Row>).values()].filter((r) => inChunk(r.id as number));
          const merged = mergeChunk(seen, log.slice(lw), space(lo, hi));
          const expected = [...(states[states.length - 1] as Map<number, Row>).values()].filter((r) =>
            inChunk(r.id as number),
          );
          const byId = (x: Row, y: Row) => (x.id as number) - (y.id as number);
          expect(merged.sort(byId)).toEqual(expected.sort(byId));
        },
      ),
      { numRuns: 500 },
    );
  });
});
