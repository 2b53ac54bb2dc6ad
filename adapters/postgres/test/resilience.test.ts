import { createRandom, nothingStored, type Stored, TransactionalConsumer } from '@highwater/conformance';
import { createSource, type SnapshotPhaseHooks } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { type PgOffset, postgresAdapter } from '../src/index.js';
import { dropSlot, useServer, withClient } from './helpers.js';
import { VersionedWriter, versionCheck } from './versioned-writer.js';

/**
 * The replication connection killed and the server crashed or restarted at chosen moments, with a
 * write load going on; the pipeline either recovers by itself (the core retries lost connections)
 * or is resumed from its stored checkpoint by a new adapter and source. Either way the stored
 * output must equal the table, with every event checked on arrival (by the conformance suite's
 * Materialised, plus the versioned table's own rules: see versioned-writer.ts).
 */
describe('kill and restart', () => {
  const server = useServer({ useEnv: false });

  const retry = { attempts: 30, initialDelayMs: 50, maxDelayMs: 500 };

  function newSource(slot: string, table: string, from: Stored | null, hooks?: SnapshotPhaseHooks<PgOffset>) {
    const adapter = postgresAdapter({ connection: server().url, slotName: slot, publicationName: slot });
    const source = createSource({
      adapter,
      tables: { include: [table] },
      resumeFrom: from?.checkpoint ?? null,
      chunkSize: 50,
      parallelism: 2,
      batchSize: 64,
      maxQueuedBatches: 2,
      heartbeatIntervalMs: 100,
      retry,
      ...(hooks === undefined ? {} : { phaseHooks: hooks }),
    });
    return { adapter, source };
  }

  /** A consumer taking batches in the background from a new source, checking the versioned table's rules too. */
  function startConsumer(slot: string, table: string, hooks?: SnapshotPhaseHooks<PgOffset>) {
    const { adapter, source } = newSource(slot, table, null, hooks);
    const stored = nothingStored(adapter, [{ name: table, keyColumns: ['id'] }]);
    const consumer = new TransactionalConsumer(source, stored, { check: versionCheck(table), background: true });
    return { adapter, consumer };
  }

  /** A hook that holds chunk reads after `n` of them have read their rows, until opened. */
  function gateAfter(n: number) {
    let reads = 0;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    let reached!: () => void;
    const hit = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const hooks: SnapshotPhaseHooks<PgOffset> = {
      afterRead: async () => {
        if (++reads < n) return;
        reached();
        await opened;
      },
    };
    return { hooks, reached: hit, open: () => open() };
  }

  /** No event broke a rule, the stored rows equal the table, and (with `allWrites`) every write was stored once. */
  async function verify(writer: VersionedWriter, stored: Stored, what: string, allWrites = false): Promise<void> {
    const { r, c, u, d } = stored.output.counts(writer.table);
    console.info(`${what}: ${r} reads, ${c} inserts, ${u} updates, ${d} deletes stored; ${writer.writes} writes made`);
    expect(stored.output.problemReport(), what).toBeNull();
    expect(stored.output.differenceReport(writer.table, await writer.rows()), what).toBeNull();
    if (allWrites) expect(c + u + d, `${what}: changes stored vs writes made`).toBe(writer.writes);
  }

  async function walsender(slot: string): Promise<number | null> {
    const result = await withClient(server().url, (c) =>
      c.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ]),
    );
    return result.rows[0]?.pid ?? null;
  }

  it('the replication connection terminated three times mid-stream: the source reconnects, nothing lost or repeated', async () => {
    const table = 'public.res_walsender';
    const writer = await VersionedWriter.create(server().url, table, 300, createRandom(11));
    const { adapter, consumer } = startConsumer('res_ws', table);
    try {
      await consumer.until('snapshot', () => consumer.streaming(table));
      const killed: number[] = [];
      for (let round = 0; round < 3; round++) {
        await writer.write(20);
        let pid: number | null = null;
        for (let i = 0; i < 100 && (pid === null || killed.includes(pid)); i++) {
          pid = await walsender('res_ws');
          if (pid === null || killed.includes(pid)) await new Promise((r) => setTimeout(r, 50));
        }
        expect(pid, 'a new walsender serves the slot').not.toBeNull();
        const done = await withClient(server().url, (c) =>
          c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]),
        );
        expect(done.rows[0]?.ok).toBe(true);
        killed.push(pid as number);
        // Written while the reader is down or reconnecting.
        await writer.write(20);
      }
      await consumer.catchUp(adapter, [table]);
      expect(consumer.failure).toBeNull();
      await verify(writer, consumer.stored, 'after three terminated walsenders', true);
      expect(new Set(killed).size).toBe(3);
    } finally {
      await consumer.crash();
      await dropSlot(server().url, 'res_ws');
    }
  }, 90_000);

  it('the server crashes mid-snapshot: resuming from the stored checkpoint loses and repeats nothing', async () => {
    const table = 'public.res_crash_snap';
    const writer = await VersionedWriter.create(server().url, table, 2000, createRandom(22));
    const gate = gateAfter(8);
    const { consumer } = startConsumer('res_cs', table, gate.hooks);
    try {
      await writer.write(10);
      await gate.reached;
      await writer.write(10);
      await consumer.until('some chunks stored', (s) => s.output.counts(table).r > 0);
      await server().kill();
      gate.open();
    } finally {
      gate.open();
      await consumer.crash();
    }
    const stored = consumer.stored;
    expect(stored.checkpoint?.tables[table]?.phase, 'crashed during the snapshot').toBe('snapshot');
    expect(stored.output.counts(table).r).toBeGreaterThan(0);
    expect(stored.output.counts(table).r).toBeLessThan(2000);
    await server().restart();
    await writer.write(15); // while the pipeline is down
    const second = newSource('res_cs', table, stored);
    consumer.resume(second.source);
    try {
      await writer.write(10);
      await consumer.until('snapshot after the crash', () => consumer.streaming(table));
      await writer.write(20);
      await consumer.catchUp(second.adapter, [table]);
      await verify(writer, consumer.stored, 'after a crash mid-snapshot');
    } finally {
      await consumer.crash();
      await dropSlot(server().url, 'res_cs');
    }
  }, 120_000);

  it('the server crashes mid-stream: resuming from the stored checkpoint loses and repeats nothing', async () => {
    const table = 'public.res_crash_stream';
    const writer = await VersionedWriter.create(server().url, table, 300, createRandom(33));
    const { adapter, consumer } = startConsumer('res_cst', table);
    try {
      await consumer.until('snapshot', () => consumer.streaming(table));
      await writer.write(20);
      await consumer.catchUp(adapter, [table]);
      // Not waited for: the crash comes while these are being streamed.
      await writer.write(40);
      await server().kill();
    } finally {
      await consumer.crash();
    }
    await server().restart();
    await writer.write(15);
    const second = newSource('res_cst', table, consumer.stored);
    consumer.resume(second.source);
    try {
      await writer.write(15);
      await consumer.catchUp(second.adapter, [table]);
      await verify(writer, consumer.stored, 'after a crash mid-stream', true);
    } finally {
      await consumer.crash();
      await dropSlot(server().url, 'res_cst');
    }
  }, 120_000);

  it('the server restarts mid-snapshot and mid-stream: the running source reconnects by itself', async () => {
    const table = 'public.res_restart';
    const writer = await VersionedWriter.create(server().url, table, 1500, createRandom(44));
    const gate = gateAfter(6);
    const { adapter, consumer } = startConsumer('res_rs', table, gate.hooks);
    try {
      await gate.reached;
      await writer.write(10);
      // Chunk readers, the introspector and the replication connection all lose their connections.
      await server().restart();
      gate.open();
      await writer.write(10);
      await consumer.until('snapshot after the restart', () => consumer.streaming(table), 60_000);
      await writer.write(20);
      await server().restart();
      await writer.write(20);
      await consumer.catchUp(adapter, [table]);
      expect(consumer.failure).toBeNull();
      await verify(writer, consumer.stored, 'after two restarts');
      expect(consumer.stored.output.counts(table).r).toBeGreaterThan(0);
    } finally {
      gate.open();
      await consumer.crash();
      await dropSlot(server().url, 'res_rs');
    }
  }, 120_000);
});
