import { describe, expect, it } from 'vitest';
import { postgresAdapter } from '../src/index.js';
import { dropSlot, usePostgres } from './helpers.js';

const pgs = usePostgres();

/**
 * Processes of one clustered pipeline start together, and each one's first introspector makes sure
 * the publication and the slot exist: when several find neither, all but one lose the race to create
 * them ("already exists"). That must read as found, not fail the process.
 */
describe('postgres: several processes set up one publication and slot at once', () => {
  it('opens every first introspector when they create the same publication and slot together', async () => {
    const url = pgs.server().url;
    for (let round = 0; round < 5; round++) {
      const name = `together_${round}`;
      const adapters = Array.from({ length: 6 }, () =>
        postgresAdapter({ connection: url, slotName: name, publicationName: name }),
      );
      const opened = await Promise.allSettled(adapters.map((a) => a.createIntrospector()));
      for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
      const failures = opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      expect(failures).toEqual([]);
      await dropSlot(url, name);
    }
  }, 120_000);
});
