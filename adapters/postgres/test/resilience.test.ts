import { createSource, type SnapshotPhaseHooks } from '@highwater/core';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgOffset, postgresAdapter } from '../src/index.js';
import {
  type Committed,
  catchUp,
  Pump,
  Random,
  streaming,
  VersionedState,
  VersionedWriter,
  withClient,
} from './exactly-once.js';

/**
 * The replication connection killed and the server crashed or restarted at chosen moments, with a
 * write load going on; the pipeline either recovers by itself (the core retries lost connections)
 * or is resumed from its stored checkpoint by a new adapter and source. Either way the stored
 * output must equal the table, with every event checked on arrival (see exactly-once.ts).
 */
describe('kill and restart', () => {
  let server: ThrowawayPostgres;
  beforeAll(async () => {
    server = await startPostgres({ useEnv: false });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  const retry = { attempts: 30, initialDelayMs: 50, maxDelayMs: 500 };

  function newSource(slot: string, table: string, from: Committed | null, hooks?: SnapshotPhaseHooks<PgOffset>) {
    const adapter = postgresAdapter({ connection: server.url, slotName: slot, publicationName: slot });
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

  async function verify(writer: VersionedWriter, committed: Committed, what: string): Promise<void> {
    const { r, c, u, d } = committed.state.counts;
    console.info(`${what}: ${r} reads, ${c} inserts, ${u} updates, ${d} deletes stored; ${writer.writes} writes made`);
    expect(committed.state.problems, what).toEqual([]);
    expect(committed.state.differences(await writer.rows()), what).toEqual([]);
  }

  async function dropSlot(slot: string): Promise<void> {
    await withClient(server.url, (c) =>
      c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]),
    );
  }

  async function walsender(slot: string): Promise<number | null> {
    const result = await withClient(server.url, (c) =>
      c.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ]),
    );
    return result.rows[0]?.pid ?? null;
  }

  it('the replication connection terminated three times mid-stream: the source reconnects, nothing lost or repeated', async () => {
    const table = 'public.res_walsender';
    const writer = await VersionedWriter.create(server.url, table, 300, new Random(11));
    const { adapter, source } = newSource('res_ws', table, null);
    const pump = new Pump(source, { state: new VersionedState(table), checkpoint: null });
    try {
      await pump.until('snapshot', (c) => streaming(c, table));
      const killed: number[] = [];
      for (let round = 0; round < 3; round++) {
        await writer.write(20);
        let pid: number | null = null;
        for (let i = 0; i < 100 && (pid === null || killed.includes(pid)); i++) {
          pid = await walsender('res_ws');
          if (pid === null || killed.includes(pid)) await new Promise((r) => setTimeout(r, 50));
        }
        expect(pid, 'a new walsender serves the slot').not.toBeNull();
        const done = await withClient(server.url, (c) =>
          c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]),
        );
        expect(done.rows[0]?.ok).toBe(true);
        killed.push(pid as number);
        // Written while the reader is down or reconnecting.
        await writer.write(20);
      }
      await catchUp(pump, adapter, table);
      expect(pump.failure).toBeNull();
      await verify(writer, pump.committed, 'after three terminated walsenders');
      expect(pump.committed.state.counts.c + pump.committed.state.counts.u + pump.committed.state.counts.d).toBe(
        writer.writes,
      );
      expect(new Set(killed).size).toBe(3);
    } finally {
      await pump.stop();
      await dropSlot('res_ws');
    }
  }, 90_000);

  it('the server crashes mid-snapshot: resuming from the stored checkpoint loses and repeats nothing', async () => {
    const table = 'public.res_crash_snap';
    const writer = await VersionedWriter.create(server.url, table, 2000, new Random(22));
    const gate = gateAfter(8);
    const first = newSource('res_cs', table, null, gate.hooks);
    const pump = new Pump(first.source, { state: new VersionedState(table), checkpoint: null });
    let committed: Committed;
    try {
      await writer.write(10);
      await gate.reached;
      await writer.write(10);
      await pump.until('some chunks stored', (c) => c.state.counts.r > 0);
      await server.kill();
      gate.open();
    } finally {
      gate.open();
      await pump.stop();
      committed = pump.committed;
    }
    const stored = committed.checkpoint?.tables[table];
    expect(stored?.phase, 'crashed during the snapshot').toBe('snapshot');
    expect(committed.state.counts.r).toBeGreaterThan(0);
    expect(committed.state.counts.r).toBeLessThan(2000);
    await server.restart();
    await writer.write(15); // while the pipeline is down
    const second = newSource('res_cs', table, committed);
    const resumed = new Pump(second.source, committed);
    try {
      await writer.write(10);
      await resumed.until('snapshot after the crash', (c) => streaming(c, table));
      await writer.write(20);
      await catchUp(resumed, second.adapter, table);
      await verify(writer, resumed.committed, 'after a crash mid-snapshot');
    } finally {
      await resumed.stop();
      await dropSlot('res_cs');
    }
  }, 120_000);

  it('the server crashes mid-stream: resuming from the stored checkpoint loses and repeats nothing', async () => {
    const table = 'public.res_crash_stream';
    const writer = await VersionedWriter.create(server.url, table, 300, new Random(33));
    const first = newSource('res_cst', table, null);
    const pump = new Pump(first.source, { state: new VersionedState(table), checkpoint: null });
    let committed: Committed;
    try {
      await pump.until('snapshot', (c) => streaming(c, table));
      await writer.write(20);
      await catchUp(pump, first.adapter, table);
      // Not waited for: the crash comes while these are being streamed.
      await writer.write(40);
      await server.kill();
    } finally {
      await pump.stop();
      committed = pump.committed;
    }
    await server.restart();
    await writer.write(15);
    const second = newSource('res_cst', table, committed);
    const resumed = new Pump(second.source, committed);
    try {
      await writer.write(15);
      await catchUp(resumed, second.adapter, table);
      await verify(writer, resumed.committed, 'after a crash mid-stream');
      const { c, u, d } = resumed.committed.state.counts;
      expect(c + u + d).toBe(writer.writes);
    } finally {
      await resumed.stop();
      await dropSlot('res_cst');
    }
  }, 120_000);

  it('the server restarts mid-snapshot and mid-stream: the running source reconnects by itself', async () => {
    const table = 'public.res_restart';
    const writer = await VersionedWriter.create(server.url, table, 1500, new Random(44));
    const gate = gateAfter(6);
    const { adapter, source } = newSource('res_rs', table, null, gate.hooks);
    const pump = new Pump(source, { state: new VersionedState(table), checkpoint: null });
    try {
      await gate.reached;
      await writer.write(10);
      // Chunk readers, the introspector and the replication connection all lose their connections.
      await server.restart();
      gate.open();
      await writer.write(10);
      await pump.until('snapshot after the restart', (c) => streaming(c, table), 60_000);
      await writer.write(20);
      await server.restart();
      await writer.write(20);
      await catchUp(pump, adapter, table);
      expect(pump.failure).toBeNull();
      await verify(writer, pump.committed, 'after two restarts');
      expect(pump.committed.state.counts.r).toBeGreaterThan(0);
    } finally {
      gate.open();
      await pump.stop();
      await dropSlot('res_rs');
    }
  }, 120_000);
});
