import type { EventBatch, Key, Row, Sink, SnapshotSplit, SourceAdapter } from '@highwater/core';
import { MemoryDatabase } from '@highwater/memory';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { afterAll, beforeAll } from 'vitest';
import { type Leadership, leadSource } from '../src/index.js';
import type { InMemoryTableSink } from './in-memory-table-sink.js';

export const TABLE = 'shop.items';
export const ROWS = 400;

export function itemsDb(): MemoryDatabase {
  const db = new MemoryDatabase();
  db.createTable({
    name: TABLE,
    columns: [
      { name: 'id', type: { kind: 'int64' } },
      { name: 'v', type: { kind: 'string' }, nullable: false },
    ],
    primaryKey: ['id'],
  });
  // Keys 10, 20, …: room for inserts inside every chunk.
  db.insertMany(
    TABLE,
    Array.from({ length: ROWS }, (_, i) => ({ id: (i + 1) * 10, v: `v${(i + 1) * 10}` })),
  );
  return db;
}

export function inRange(split: SnapshotSplit, id: number): boolean {
  const { start, end } = split.range;
  return (start === null || id >= Number((start as Key)[0])) && (end === null || id < Number((end as Key)[0]));
}

/**
 * The leader's part: the source into `target` (through `sink`, a handle of it, when given), calling
 * `stored` once the checkpoint says the snapshot is stored.
 */
export function leadUntilStored(
  adapter: SourceAdapter<number>,
  target: InMemoryTableSink,
  chunks: { chunkSize: number; parallelism: number },
  stored: () => void,
  sink: Sink = target.open(),
): (leadership: Leadership<number>) => Promise<void> {
  return (leadership) =>
    leadSource(leadership, {
      adapter,
      tables: { include: [TABLE] },
      ...chunks,
      heartbeatIntervalMs: 100,
      sink,
      onBatch: (batch) => {
        if (Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) stored();
      },
    });
}

/** Set HIGHWATER_TEST_LOG to see what the members do. */
export const consoleLogger = {
  info: (fields: object, message: string) => console.info(message, fields),
  warn: (fields: object, message: string) => console.warn(message, fields),
  debug: (fields: object, message: string) => console.debug(message, fields),
};

export async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The source table's rows in key order: what the target must hold in the end. */
export function sourceRows(db: MemoryDatabase): Row[] {
  return db.snapshotRows(TABLE).sort((a, b) => Number(a.id) - Number(b.id));
}

/** A stalled writer's batch, written late: says whether the target took it (a refusal still reaches the writer). */
export async function writeStale(
  sink: Sink,
  batch: EventBatch,
  outcome: (o: 'landed' | 'refused') => void,
): Promise<void> {
  try {
    await sink.write(batch);
    outcome('landed');
  } catch (error) {
    outcome('refused');
    throw error;
  }
}

/**
 * A chunk sink into `target` whose first write holding row `victim` lands, then fails as if its
 * reader died before recording the chunk done; `meanwhile` runs in between (a change in the source).
 * `crashed()` says whether it happened.
 */
export function crashAfterWriteOf(
  target: InMemoryTableSink,
  victim: number,
  meanwhile: () => void,
): { createChunkSink: () => Promise<Sink>; crashed: () => boolean } {
  let crashed = false;
  return {
    crashed: () => crashed,
    createChunkSink: async () => {
      const sink = target.open();
      return {
        ...sink,
        write: async (batch) => {
          await sink.write(batch);
          if (!crashed && batch.events.some((e) => e.kind === 'change' && e.after?.id === victim)) {
            crashed = true;
            meanwhile();
            throw new Error('simulated crash after the write');
          }
        },
      };
    },
  };
}

/** A throwaway nats-server for the describe block this is called in: started before it, stopped after. */
export function useNats(): { readonly url: string } {
  let server: ThrowawayNats | undefined;
  beforeAll(async () => {
    server = await startNats({ useEnv: false });
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url(): string {
      if (server === undefined) throw new Error('the nats-server of this describe block is not started');
      return server.url;
    },
  };
}
