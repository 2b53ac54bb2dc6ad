import type { Checkpoint, SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type Leadership, leadSource } from '../src/index.js';
import { itemsDb, TABLE } from './cluster-fixtures.js';
import { InMemoryTableSink } from './in-memory-table-sink.js';

const unhandled: unknown[] = [];
const record = (reason: unknown) => unhandled.push(reason);

afterEach(() => {
  process.off('unhandledRejection', record);
  unhandled.length = 0;
});

describe('leadSource', () => {
  it("reports its write loop's failure, and the source's failing close at the leadership's end is no unhandled rejection", async () => {
    process.on('unhandledRejection', record);
    const db = itemsDb();
    const memory = memoryAdapter(db);
    // The introspector's close never settles: the source's close fails (CloseTimeoutError) each time.
    const adapter: SourceAdapter<number> = {
      ...memory,
      createIntrospector: async () => {
        const introspector = await memory.createIntrospector();
        introspector.close = () => new Promise<void>(() => undefined);
        return introspector;
      },
    };
    let endLeadership: () => void = () => undefined;
    const leadership: Leadership<number> = {
      remoteChunks: {
        publishLog: async () => undefined,
        readChunk: async (_split, _table, notBefore) => ({ highWatermark: notBefore, rows: 0 }),
      },
      checkpointStore: { load: async () => null, save: async (_checkpoint: Checkpoint) => undefined },
      ended: new Promise<void>((resolve) => {
        endLeadership = resolve;
      }),
      fence: (sink) => sink,
    };
    const sink = new InMemoryTableSink().open();
    const failure = new Error('the target refused the batch');
    const leading = leadSource(leadership, {
      adapter,
      tables: { include: [TABLE] },
      closeTimeoutMs: 100,
      sink: {
        ...sink,
        write: async () => {
          throw failure;
        },
      },
    });
    await expect(leading).rejects.toBe(failure);
    // The member ends the leadership once its lead function returned: the close that starts is handled.
    endLeadership();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(unhandled).toEqual([]);
  });
});
