import { nothingStored, TransactionalConsumer } from '@highwater/conformance';
import {
  type Checkpoint,
  createSource,
  type LogItem,
  MemoryCheckpointStore,
  OffsetUnavailableError,
  type SnapshotPhaseHooks,
  type Source,
  type SourceAdapter,
  type TableSchema,
} from '@highwater/core';
import { startPostgres } from '@highwater/test-servers';
import { describe, expect, it } from 'vitest';
import { type PgOffset, parseLsn, postgresAdapter } from '../src/index.js';
import type { PgLogReader } from '../src/log-reader.js';
import { dropSlot as dropSlotAt, LogTap, useServer, withClient } from './helpers.js';

/** Slot lag in metrics, WAL not pinned by an idle captured table, and a lost slot refused on resume. */
describe('replication slot health', () => {
  const server = useServer({ useEnv: false });

  const sql = <R extends Record<string, unknown>>(text: string, values: unknown[] = [], url = server().url) =>
    withClient(url, (c) => c.query<R>(text, values)).then((r) => r.rows);
  const lsnNow = async (url = server().url) =>
    parseLsn((await sql<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l', [], url))[0]?.l ?? '0/0');
  const slotState = async (slot: string) =>
    (
      await sql<{ confirmed: string | null; restart: string | null; wal_status: string | null }>(
        `SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart, wal_status
           FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      )
    )[0];
  const dropSlot = (slot: string, url = server().url) => dropSlotAt(url, slot);
  /** A consumer storing batches of `table` in the background. */
  const consume = (adapter: SourceAdapter<unknown>, source: Source, table: string) =>
    new TransactionalConsumer(source, nothingStored(adapter, [{ name: table, keyColumns: ['id'] }]), {
      background: true,
    });

  async function waitFor(what: string, condition: () => Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('metrics: slotLagBytes is the WAL end minus the confirmed position, and drops when acknowledged', async () => {
    await sql('CREATE TABLE lag_quiet (id int4 PRIMARY KEY); CREATE TABLE lag_busy (id int4, pad text)');
    const adapter = postgresAdapter({ connection: server().url, slotName: 'lag', publicationName: 'lag' });
    const introspector = await adapter.createIntrospector();
    const tables = (await introspector.describeTables([{ schema: 'public', name: 'lag_quiet' }])) as TableSchema[];
    const log = (await adapter.createLogReader({ from: await introspector.lowWatermark(), tables })) as PgLogReader;
    try {
      const confirmedAtOpen = parseLsn((await slotState('lag'))?.confirmed ?? '0/0');
      expect(log.metrics().confirmedFlushLsn).toBe(Number(confirmedAtOpen));
      await sql("INSERT INTO lag_busy SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g");
      const target = await lsnNow();
      const tap = new LogTap<LogItem<PgOffset>>(log);
      const items = await tap.until((i) => i.some((x) => x.kind === 'progress' && x.offset.commitLsn >= target));
      const behind = log.metrics();
      // Nothing acknowledged yet: the whole write (over 1 MB of WAL) is lag.
      expect(behind.slotLagBytes).toBeGreaterThanOrEqual(Number(target - confirmedAtOpen));
      expect(behind.slotLagBytes).toBe((behind.serverWalEndLsn ?? 0) - (behind.confirmedFlushLsn ?? 0));
      expect(behind.serverWalEndLsn).toBeGreaterThanOrEqual(Number(target));
      const progress = items.filter((x) => x.kind === 'progress').at(-1) as LogItem<PgOffset>;
      await log.acknowledge(progress.offset);
      const caughtUp = log.metrics();
      expect(caughtUp.confirmedFlushLsn).toBe(Number(progress.offset.commitLsn));
      expect(caughtUp.slotLagBytes).toBeLessThan(behind.slotLagBytes ?? 0);
      expect(caughtUp.slotLagBytes).toBe((caughtUp.serverWalEndLsn ?? 0) - Number(progress.offset.commitLsn));
      // The gauge and the server agree on the confirmed position.
      await waitFor('the slot confirms the acknowledged position', async () => {
        return parseLsn((await slotState('lag'))?.confirmed ?? '0/0') === progress.offset.commitLsn;
      });
      console.info(`slot lag: ${behind.slotLagBytes} bytes before acknowledging, ${caughtUp.slotLagBytes} after`);
    } finally {
      await log.close();
      await introspector.close();
      await dropSlot('lag');
    }
  });

  it('an idle captured table does not pin WAL written to other tables and databases, through createSource', async () => {
    await sql('CREATE TABLE hb_idle (id int4 PRIMARY KEY); CREATE TABLE hb_busy (id int4, pad text)');
    await sql('CREATE DATABASE hb_other');
    const other = new URL(server().url);
    other.pathname = '/hb_other';
    await sql('CREATE TABLE elsewhere (id int4, pad text)', [], other.toString());
    const adapter = postgresAdapter({ connection: server().url, slotName: 'hb', publicationName: 'hb' });
    const store = new MemoryCheckpointStore();
    const source = createSource({
      adapter,
      tables: { include: ['public.hb_idle'] },
      checkpointStore: store,
      heartbeatIntervalMs: 100,
    });
    const pump = consume(adapter, source, 'public.hb_idle');
    try {
      await pump.until('snapshot of the empty table', () => pump.streaming('public.hb_idle'));
      for (const [what, url, table] of [
        ['another database', other.toString(), 'elsewhere'],
        ['an uncaptured table', server().url, 'hb_busy'],
      ] as const) {
        const before = await slotState('hb');
        await sql(`INSERT INTO ${table} SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g`, [], url);
        const target = await lsnNow();
        expect(parseLsn(before?.confirmed ?? '0/0'), what).toBeLessThan(target);
        await waitFor(`the slot confirms past writes to ${what}`, async () => {
          return parseLsn((await slotState('hb'))?.confirmed ?? '0/0') >= target;
        });
        const saved = (await store.load()) as Checkpoint;
        expect(adapter.offsets.fromJSON(saved.position).commitLsn, what).toBeGreaterThanOrEqual(target);
        expect(source.metrics().log.slotLagBytes, what).toBeLessThan(
          Number(target - parseLsn(before?.confirmed ?? '0/0')),
        );
      }
      // restart_lsn (what decides WAL retention) follows once a running-transactions record is decoded:
      // the bgwriter logs one every 15 s, a checkpoint at once.
      const restartBefore = parseLsn((await slotState('hb'))?.restart ?? '0/0');
      await sql('CHECKPOINT');
      const afterCheckpoint = await lsnNow();
      await sql("INSERT INTO hb_busy VALUES (0, 'x')");
      await waitFor('restart_lsn moves past the checkpoint', async () => {
        return parseLsn((await slotState('hb'))?.restart ?? '0/0') >= afterCheckpoint - 1024n;
      });
      expect(parseLsn((await slotState('hb'))?.restart ?? '0/0')).toBeGreaterThan(restartBefore);
      expect(pump.stored.output.counts('public.hb_idle')).toEqual({ r: 0, c: 0, u: 0, d: 0 });
      expect(pump.failure).toBeNull();
    } finally {
      await pump.crash();
      await dropSlot('hb');
    }
  }, 60_000);

  it("startup 'earliest' streams from the slot's confirmed position: what was stored is not repeated", async () => {
    await sql('CREATE TABLE early (id int4 PRIMARY KEY); INSERT INTO early VALUES (1)');
    const adapter = postgresAdapter({ connection: server().url, slotName: 'early', publicationName: 'early' });
    const first = consume(
      adapter,
      createSource({ adapter, tables: { include: ['public.early'] }, heartbeatIntervalMs: 50 }),
      'public.early',
    );
    try {
      await first.until('snapshot', () => first.streaming('public.early'));
      await sql('INSERT INTO early VALUES (2), (3)');
      await first.until('the inserts stored', (s) => s.output.rows('public.early').size === 3);
      const stored = adapter.offsets.fromJSON(first.stored.checkpoint?.position ?? null).commitLsn;
      await waitFor('the slot confirms what was stored', async () => {
        return parseLsn((await slotState('early'))?.confirmed ?? '0/0') >= stored;
      });
    } finally {
      await first.crash();
    }
    await sql('INSERT INTO early VALUES (4); UPDATE early SET id = 5 WHERE id = 1');
    const source = createSource({
      adapter: postgresAdapter({ connection: server().url, slotName: 'early', publicationName: 'early' }),
      tables: { include: ['public.early'] },
      startup: { mode: 'earliest' },
      heartbeatIntervalMs: 50,
    });
    const seen: string[] = [];
    try {
      const iterator = source[Symbol.asyncIterator]();
      const deadline = Date.now() + 20_000;
      while (seen.length < 2 && Date.now() < deadline) {
        const next = await iterator.next();
        if (next.done === true) break;
        for (const e of next.value.events) {
          if (e.kind === 'change') seen.push(`${e.op} ${JSON.stringify(e.before)} ${JSON.stringify(e.after)}`);
        }
      }
      expect(seen).toEqual(['c null {"id":4}', 'u {"id":1} {"id":5}']);
    } finally {
      await source.close();
      await dropSlot('early');
    }
  });

  /** Runs a source on `table` until it streams (or, with `gate`, until it is mid-snapshot) and returns its checkpoint. */
  async function checkpointOf(slot: string, table: string, url = server().url, mid = false): Promise<Checkpoint> {
    let reads = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hooks: SnapshotPhaseHooks<PgOffset> = {
      afterRead: async () => {
        if (mid && ++reads >= 3) await held;
      },
    };
    const adapter = postgresAdapter({ connection: url, slotName: slot, publicationName: slot });
    const source = createSource({
      adapter,
      tables: { include: [table] },
      chunkSize: 10,
      parallelism: 1,
      heartbeatIntervalMs: 100,
      phaseHooks: hooks,
    });
    const pump = consume(adapter, source, table);
    try {
      if (mid) await pump.until('two chunks stored', (s) => s.output.counts(table).r >= 20);
      else await pump.until('streaming', () => pump.streaming(table));
    } finally {
      release();
      await pump.crash();
    }
    const checkpoint = pump.stored.checkpoint as Checkpoint;
    expect(checkpoint.tables[table]?.phase).toBe(mid ? 'snapshot' : 'stream');
    return checkpoint;
  }

  async function resumeError(
    slot: string,
    table: string,
    checkpoint: Checkpoint,
    url = server().url,
  ): Promise<unknown> {
    const source = createSource({
      adapter: postgresAdapter({ connection: url, slotName: slot, publicationName: slot }),
      tables: { include: [table] },
      resumeFrom: checkpoint,
      retry: { attempts: 0, initialDelayMs: 10, maxDelayMs: 10 },
    });
    try {
      const iterator = source[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return null;
      }
    } catch (error) {
      return error;
    } finally {
      await source.close();
    }
  }

  for (const mid of [false, true]) {
    it(`a slot dropped since the checkpoint (${mid ? 'mid-snapshot' : 'streaming'}) is OffsetUnavailableError, not a silent new slot`, async () => {
      const table = `public.gone_${mid ? 'snap' : 'stream'}`;
      await sql(`CREATE TABLE ${table} (id int4 PRIMARY KEY); INSERT INTO ${table} SELECT generate_series(1, 100)`);
      const slot = `gone_${mid ? 'snap' : 'stream'}`;
      const checkpoint = await checkpointOf(slot, table, server().url, mid);
      await dropSlot(slot);
      await sql(`INSERT INTO ${table} VALUES (1000)`); // lost with the slot
      const error = await resumeError(slot, table, checkpoint);
      expect(error).toBeInstanceOf(OffsetUnavailableError);
      expect(String(error)).toContain(`replication slot ${slot} did not exist and was created just now`);
      expect(String(error)).toContain('delete the stored checkpoint');
      // The slot made for the refused resume is not left behind pinning WAL.
      expect(String(error)).toContain('the new slot was dropped again');
      const left = await sql<{ n: string }>(
        'SELECT count(*)::text AS n FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      expect(left[0]?.n).toBe('0');
    });
  }

  it('a slot advanced past the checkpoint is OffsetUnavailableError', async () => {
    await sql('CREATE TABLE ahead (id int4 PRIMARY KEY); INSERT INTO ahead VALUES (1)');
    const checkpoint = await checkpointOf('ahead', 'public.ahead');
    await sql('INSERT INTO ahead VALUES (2)');
    await sql("SELECT pg_replication_slot_advance('ahead', pg_current_wal_lsn())");
    const error = await resumeError('ahead', 'public.ahead', checkpoint);
    expect(error).toBeInstanceOf(OffsetUnavailableError);
    expect(String(error)).toMatch(
      /replication slot ahead has already confirmed everything before [0-9A-F]+\/[0-9A-F]+/,
    );
    expect(String(error)).toContain('delete the stored checkpoint');
    await dropSlot('ahead');
  });

  it("a slot the server invalidated (wal_status 'lost') is OffsetUnavailableError saying to drop it", async () => {
    const small = await startPostgres({ useEnv: false, settings: { max_slot_wal_keep_size: '1MB' } });
    try {
      const run = (text: string) => sql(text, [], small.url);
      await run('CREATE TABLE kept (id int4 PRIMARY KEY); INSERT INTO kept VALUES (1)');
      const checkpoint = await checkpointOf('kept', 'public.kept', small.url);
      // Move the WAL several segments past the slot, then let a checkpoint remove what it needs.
      for (let i = 0; i < 4; i++) await run(`INSERT INTO kept VALUES (${i + 10}); SELECT pg_switch_wal()`);
      await run('CHECKPOINT');
      const status = await sql<{ s: string }>(
        "SELECT wal_status AS s FROM pg_replication_slots WHERE slot_name = 'kept'",
        [],
        small.url,
      );
      expect(status[0]?.s).toBe('lost');
      const error = await resumeError('kept', 'public.kept', checkpoint, small.url);
      expect(error).toBeInstanceOf(OffsetUnavailableError);
      expect(String(error)).toContain("wal_status 'lost'");
      expect(String(error)).toContain("SELECT pg_drop_replication_slot('kept');");
    } finally {
      await small.stop();
    }
  }, 60_000);
});
