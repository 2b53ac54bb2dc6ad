import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../src/events/source-event.js';
import { createSource } from '../../src/source/create-source.js';
import type { EventBatch } from '../../src/source/event-batch.js';
import type { Source } from '../../src/source/source.js';
import type { Row } from '../../src/values/value.js';

function setup(rows: number) {
  const db = new MemoryDatabase();
  db.createTable({
    name: 'shop.items',
    columns: [
      { name: 'id', type: { kind: 'int64' } },
      { name: 'v', type: { kind: 'string' } },
    ],
    primaryKey: ['id'],
  });
  db.insertMany(
    'shop.items',
    Array.from({ length: rows }, (_, i) => ({ id: i * 2, v: `r${i}` })),
  );
  return db;
}

/** Applies events to a map keyed by id, checking each snapshot read appears once. */
class Materialised {
  readonly rows = new Map<string, Row>();
  readonly reads = new Set<string>();
  duplicates = 0;
  apply(e: ChangeEvent): void {
    const id = JSON.stringify(e.key);
    if (e.op === 'r') {
      if (this.reads.has(id)) this.duplicates++;
      this.reads.add(id);
    }
    // An update may move a row to another key: the old key goes.
    if (e.op === 'u' || e.op === 'd') this.rows.delete(JSON.stringify({ id: e.before?.id }));
    if (e.op !== 'd') this.rows.set(id, e.after as Row);
  }
}

async function drainUntil(source: Source, m: Materialised, done: (batch: EventBatch) => boolean): Promise<void> {
  for await (const batch of source) {
    for (const e of batch.events) if (e.kind === 'change') m.apply(e);
    if (done(batch)) return;
  }
}

describe('createSource on the memory adapter', () => {
  it('snapshots a table in parallel chunks while it is written, then streams: output equals the table', async () => {
    const db = setup(5000);
    let writes = 0;
    let next = 100_000;
    const write = () => {
      for (let i = 0; i < 5; i++) {
        const id = Math.floor(Math.random() * 5000) * 2;
        const r = Math.random();
        if (r < 0.4) db.insert('shop.items', { id: next++, v: 'new' });
        else if (db.get('shop.items', [id]) === undefined) continue;
        else if (r < 0.7) db.update('shop.items', [id], { v: `u${writes}` });
        else if (r < 0.85) db.delete('shop.items', [id]);
        else if (db.get('shop.items', [id + 1]) === undefined) db.update('shop.items', [id], { id: id + 1 });
        writes++;
      }
    };
    const source = createSource({
      adapter: memoryAdapter(db),
      tables: { include: ['shop.items'] },
      chunkSize: 100,
      parallelism: 4,
      heartbeatIntervalMs: 0,
      phaseHooks: { afterLowWatermark: write, afterRead: write, beforeHighWatermark: write, afterHighWatermark: write },
    });
    const writer = setInterval(write, 1);
    const m = new Materialised();
    let stopAt: number | null = null;
    await drainUntil(source, m, (batch) => {
      const snapshotDone = Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream');
      if (snapshotDone && stopAt === null) {
        clearInterval(writer);
        stopAt = db.logEnd();
      }
      return stopAt !== null && Number(batch.checkpoint.position) >= stopAt;
    });
    clearInterval(writer);
    await source.close();
    const expected = new Map(db.snapshotRows('shop.items').map((r) => [JSON.stringify({ id: r.id }), r]));
    expect(writes).toBeGreaterThan(0);
    expect(m.duplicates).toBe(0);
    expect(m.rows.size).toBe(expected.size);
    expect(new Map([...m.rows].sort())).toEqual(new Map([...expected].sort()));
    expect(db.openConnections()).toEqual([]);
  });
});
