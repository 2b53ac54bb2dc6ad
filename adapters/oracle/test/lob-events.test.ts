import { createSource, type SourceEvent } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { createDocs, simulatedShop } from './helpers.js';

/** End to end through the core (SIMULATOR): a LOB LogMiner did not carry is reported, never a null. */
describe('Oracle LOB columns in events', () => {
  it('an insert whose CLOB was logged separately arrives without it, listed in unknownColumns', async () => {
    const { db, adapter } = simulatedShop();
    const docs = createDocs(db);
    const source = createSource({
      adapter,
      tables: { include: ['SHOP.DOCS'] },
      startup: { mode: 'latest' },
      heartbeatIntervalMs: 5,
    });
    try {
      await source.start();
      db.transaction((tx) => db.insert(tx, docs, { ID: '1', TITLE: 'short', BODY: 'inline' }));
      db.transaction((tx) => db.insert(tx, docs, { ID: '2', TITLE: 'long', BODY: 'x'.repeat(5000) }));
      const events: SourceEvent[] = [];
      for await (const batch of source) {
        events.push(...batch.events.filter((e) => e.kind === 'change'));
        if (events.length >= 2) break;
      }
      const [short, long] = events as [
        Extract<SourceEvent, { kind: 'change' }>,
        Extract<SourceEvent, { kind: 'change' }>,
      ];
      expect(short.after).toEqual({ ID: 1, TITLE: 'short', BODY: 'inline' });
      expect(short.unknownColumns).toEqual([]);
      expect(long.after).toEqual({ ID: 2, TITLE: 'long' });
      expect(long.unknownColumns).toEqual(['BODY']);
    } finally {
      await source.close();
    }
    expect(db.openSessions).toBe(0);
  });
});
