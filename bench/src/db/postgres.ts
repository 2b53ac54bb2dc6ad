import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceAdapter } from '@highwater/core';
import { parseLsn, pgOffsets, positionAt, postgresAdapter } from '@highwater/postgres';
import { findPostgresBinaries, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import type { Measurement } from '../core/measure.js';
import {
  adapterChunkReads,
  checkCounts,
  type DbSizes,
  highwaterSnapshot,
  highwaterStream,
  interleave,
  load,
  describeWriteMix,
  medianFirstMs,
  progress,
  rssRuns,
  type Side,
  sleep,
  timeCommand,
  within,
} from './common.js';
import { highwaterReceiver, type LatencySample, latencyComparison, latencyNote, latencyPhase } from './latency.js';
import { type DbReport, emptyDbReport } from './report.js';

const ORDERS = 'public.orders';
const STREAM = 'public.stream_orders';
const LATENCY = 'public.latency_orders';

/** The benchmark's rows: the six columns of an order table (as the core benchmarks use). */
const ORDER_COLUMNS = `id int8 PRIMARY KEY, customer_id int8 NOT NULL, status order_status NOT NULL,
  amount numeric(12,2) NOT NULL, note text, updated_at timestamptz NOT NULL`;

/** `SELECT` list of generated order rows for ids `g`. */
const ORDER_VALUES = `g, (g * 7919) % 100000, (ARRAY['new','paid','shipped','cancelled']::order_status[])[1 + g % 4],
  ((g * 31) % 1000000) / 100.0, substr(md5(g::text), 1, (8 + g % 24)::int),
  timestamptz '2026-01-01 00:00:00+00' + g * interval '1.000001 second'`;

/** `psql` itself (Debian's `/usr/bin/psql` is a Perl wrapper that would add its start-up to the limit). */
export function psqlPath(): string {
  const dirs: string[] = [];
  try {
    dirs.push(findPostgresBinaries().binDir);
  } catch {
    // not found: the Debian directories, then PATH
  }
  try {
    const majors = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d));
    dirs.push(...majors.sort((a, b) => Number(b) - Number(a)).map((m) => `/usr/lib/postgresql/${m}/bin`));
  } catch {
    // no Debian layout
  }
  for (const dir of dirs) {
    const candidate = join(dir, 'psql');
    if (existsSync(candidate)) return candidate;
  }
  return 'psql';
}

/** The `orders` table, grown (or refilled) to the row count a benchmark needs. */
class OrdersTable {
  rows = 0;

  constructor(private readonly db: pg.Client) {}

  async ensure(rows: number): Promise<void> {
    if (rows === this.rows) return;
    const started = performance.now();
    if (rows < this.rows) {
      await this.db.query(`TRUNCATE ${ORDERS}`);
      this.rows = 0;
    }
    // In pieces of 1 M rows, so one statement does not hold the whole load in memory.
    for (let from = this.rows + 1; from <= rows; from += 1_000_000) {
      const to = Math.min(rows, from + 999_999);
      await this.db.query(`INSERT INTO ${ORDERS} SELECT ${ORDER_VALUES} FROM generate_series(${from}::int8, ${to}) g`);
    }
    // Hint bits and the visibility map set once, so no reader pays for them.
    await this.db.query(`VACUUM (FREEZE, ANALYZE) ${ORDERS}`);
    this.rows = rows;
    progress(
      `  ${ORDERS}: ${rows.toLocaleString('en-US')} rows (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
}

/** Drops a replication slot, waiting for its walsender to let go of it. */
async function dropSlot(db: pg.Client, slot: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await db.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ]);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`could not drop replication slot ${slot}`);
}

async function createSlot(db: pg.Client, slot: string): Promise<string> {
  const r = await db.query<{ lsn: string }>(
    "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
    [slot],
  );
  return r.rows[0]?.lsn as string;
}

async function currentLsn(db: pg.Client): Promise<string> {
  const r = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return r.rows[0]?.lsn as string;
}

const rawText = (raw: unknown): unknown => raw;

/** The library's pgoutput parser with every value left as the text the server sent (what the adapter does). */
class RawTextPgoutput extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation') for (const column of message.columns) column.parser = rawText;
    return message;
  }
}

/**
 * A bare pg-logical-replication consumer: subscribes to `slot` from `startLsn` and counts insert,
 * update and delete messages until `expected`; no acknowledgements (the slot is thrown away after).
 */
async function bareReplication(
  url: string,
  slot: string,
  publication: string,
  startLsn: string,
  expected: number,
  values: 'parsed' | 'text',
): Promise<Measurement> {
  const service = new LogicalReplicationService(
    { connectionString: url },
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
  );
  const options = { protoVersion: 1 as const, publicationNames: [publication] };
  const plugin = values === 'text' ? new RawTextPgoutput(options) : new PgoutputPlugin(options);
  let n = 0;
  let first = 0;
  const started = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    service.on('data', (_lsn: string, message: Pgoutput.Message) => {
      if (message.tag === 'insert' || message.tag === 'update' || message.tag === 'delete') {
        if (n === 0) first = performance.now();
        if (++n === expected) resolve(performance.now());
      }
    });
    service.on('error', reject);
  });
  service.subscribe(plugin, slot, startLsn).catch(() => undefined);
  try {
    const ended = await within(done, 120_000, `pg-logical-replication on ${slot}`);
    return { seconds: (ended - started) / 1000, count: n, extra: { firstMs: first - started } };
  } finally {
    await service.destroy().catch(() => undefined);
  }
}

export interface PostgresSelection {
  readonly snapshot: boolean;
  readonly stream: boolean;
  readonly latency: boolean;
  readonly rss: boolean;
}

/** The Postgres benchmarks against one throwaway server (started here, removed at the end). */
export async function postgresBenchmarks(select: PostgresSelection, sizes: DbSizes): Promise<DbReport> {
  const report = emptyDbReport();
  const server = await startPostgres({
    useEnv: false,
    settings: { max_replication_slots: 64, max_wal_senders: 64, max_wal_size: '4GB' },
  });
  progress(`  Postgres ${server.url} (${server.dataDir})`);
  const db = new pg.Client(server.url);
  await db.connect();
  try {
    const version = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
    report.notes.push({
      benchmark: 'postgres',
      text: `PostgreSQL ${version}, throwaway server (fsync off), psql ${psqlPath()}`,
    });
    await db.query("CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled')");
    await db.query(`CREATE TABLE ${ORDERS} (${ORDER_COLUMNS})`);
    const orders = new OrdersTable(db);
    if (select.snapshot) await snapshot(server, db, orders, sizes, report);
    if (select.stream) await stream(server, db, sizes, report);
    if (select.latency) await latency(server, db, sizes, report);
    if (select.rss) await rss(server, db, orders, sizes, report);
  } finally {
    await db.end().catch(() => undefined);
    await server.stop();
  }
  return report;
}

async function snapshot(
  server: ThrowawayPostgres,
  db: pg.Client,
  orders: OrdersTable,
  sizes: DbSizes,
  report: DbReport,
): Promise<void> {
  const name = 'postgres snapshot';
  progress(`running ${name}…`);
  const rows = sizes.snapshotRows;
  await orders.ensure(rows);
  const loadBefore = load();
  const psql = psqlPath();
  const slot = 'bench_snapshot';
  const sides: Side[] = [
    {
      name: 'psql COPY',
      run: async () => {
        const seconds = await timeCommand(psql, ['-X', '-q', '-d', server.url, '-c', `COPY ${ORDERS} TO STDOUT`]);
        return { seconds, count: rows, extra: {} };
      },
    },
    {
      name: 'pg-copy-streams COPY',
      run: async () => {
        const started = performance.now();
        const client = new pg.Client(server.url);
        await client.connect();
        let lines = 0;
        try {
          const stream = client.query(copyTo(`COPY ${ORDERS} TO STDOUT`));
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
          }
        } finally {
          await client.end();
        }
        return { seconds: (performance.now() - started) / 1000, count: lines, extra: {} };
      },
    },
    {
      name: 'adapter chunk reads',
      run: () =>
        adapterChunkReads(
          postgresAdapter({ connection: server.url, slotName: slot, publicationName: slot }) as SourceAdapter<unknown>,
          { schema: 'public', name: 'orders' },
          rows,
        ),
    },
    {
      name: 'Highwater',
      run: () =>
        highwaterSnapshot(postgresAdapter({ connection: server.url, slotName: slot, publicationName: slot }), ORDERS),
    },
  ];
  const runs = await interleave(sizes.plan, sides);
  checkCounts(name, runs, rows, new Set(['pg-copy-streams COPY', 'adapter chunk reads', 'Highwater']));
  await dropSlot(db, slot);
  const hw = runs.get('Highwater') ?? [];
  report.comparisons.push(
    {
      benchmark: name,
      size: rows,
      unit: 'rows/s',
      limitName: '`psql -c "COPY … TO STDOUT" > /dev/null`',
      limit: runs.get('psql COPY') ?? [],
      highwater: hw,
      aim: 0.6,
    },
    {
      benchmark: name,
      size: rows,
      unit: 'rows/s',
      limitName: 'pg-copy-streams COPY in Node, lines counted',
      limit: runs.get('pg-copy-streams COPY') ?? [],
      highwater: hw,
    },
    {
      benchmark: name,
      size: rows,
      unit: 'rows/s',
      limitName: "the adapter's chunk reads alone (4 readers, no core)",
      limit: runs.get('adapter chunk reads') ?? [],
      highwater: hw,
    },
  );
  report.notes.push({
    benchmark: name,
    text:
      `${ORDERS}: ${rows.toLocaleString('en-US')} rows of 6 columns (int8 key, int8, enum, numeric(12,2), text of 8–31 chars, timestamptz), ` +
      `${(await tableSize(db, ORDERS)).toFixed(0)} MiB; Highwater: \`snapshot\` mode, default options (parallelism 4, chunks of 8096 rows, ` +
      `each a \`COPY (SELECT … WHERE id >= … AND id < …) TO STDOUT\` between two watermarks), a consumer counting \`r\` events; ` +
      `every run connects afresh (the slot is reused); load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`,
  });
}

async function tableSize(db: pg.Client, table: string): Promise<number> {
  const r = await db.query<{ b: string }>('SELECT pg_total_relation_size($1::regclass)::text AS b', [table]);
  return Number(r.rows[0]?.b) / 2 ** 20;
}

async function stream(server: ThrowawayPostgres, db: pg.Client, sizes: DbSizes, report: DbReport): Promise<void> {
  const name = 'postgres stream';
  progress(`running ${name}…`);
  const publication = 'bench_stream';
  await db.query(`CREATE TABLE ${STREAM} (${ORDER_COLUMNS})`);
  await db.query(`CREATE PUBLICATION ${publication} FOR TABLE ${STREAM}`);
  const sideNames = ['library', 'library-text', 'Highwater'];
  const perSide = sizes.plan.warmups + sizes.plan.runs;
  const slots = new Map<string, string[]>();
  for (const s of sideNames) {
    const names = Array.from({ length: perSide }, (_, i) => `bench_stream_${s.replace('-', '_').toLowerCase()}_${i}`);
    for (const slot of names) await createSlot(db, slot);
    slots.set(s, names);
  }
  const startLsn = await currentLsn(db);
  // Transactions of `txSize` changes: half inserts of new rows, then updates and deletes of the rows
  // the previous transaction inserted (half of the rest each); written by the server itself.
  const tx = Math.max(2, Math.round(sizes.streamTxSize / 2) * 2);
  const h = tx / 2;
  const u = Math.ceil(h / 2);
  const transactions = Math.ceil((sizes.streamChanges + h) / tx);
  const expected = (2 * transactions - 1) * h;
  const written = performance.now();
  await db.query(`DO $$
    BEGIN
      FOR t IN 0..${transactions - 1} LOOP
        INSERT INTO ${STREAM} SELECT ${ORDER_VALUES} FROM generate_series(t::int8 * ${h} + 1, t::int8 * ${h} + ${h}) g;
        IF t > 0 THEN
          UPDATE ${STREAM} SET amount = amount + 1, status = 'paid', updated_at = updated_at + interval '1 minute'
           WHERE id BETWEEN (t - 1)::int8 * ${h} + 1 AND (t - 1)::int8 * ${h} + ${u};
          DELETE FROM ${STREAM} WHERE id BETWEEN (t - 1)::int8 * ${h} + ${u + 1} AND t::int8 * ${h};
        END IF;
        COMMIT;
      END LOOP;
    END $$`);
  const endLsn = await currentLsn(db);
  const writeSeconds = (performance.now() - written) / 1000;
  const walMiB = Number(parseLsn(endLsn) - parseLsn(startLsn)) / 2 ** 20;
  progress(
    `  wrote ${expected.toLocaleString('en-US')} changes in ${transactions} transactions (${writeSeconds.toFixed(1)} s)`,
  );
  const loadBefore = load();
  const take = (side: string) => {
    const slot = slots.get(side)?.shift();
    if (slot === undefined) throw new Error(`no slot left for ${side}`);
    return slot;
  };
  /** Bare pg-logical-replication on a slot of its own, dropped after the run. */
  const library = (side: string, values: 'parsed' | 'text'): Side => ({
    name: side,
    run: async () => {
      const slot = take(side);
      const m = await bareReplication(server.url, slot, publication, startLsn, expected, values);
      await dropSlot(db, slot);
      return m;
    },
  });
  const sides: Side[] = [
    library('library', 'parsed'),
    library('library-text', 'text'),
    {
      name: 'Highwater',
      run: async () => {
        const slot = take('Highwater');
        const adapter = postgresAdapter({
          connection: server.url,
          slotName: slot,
          publicationName: publication,
          createSlot: false,
          createPublication: false,
          dropSlotOnClose: true,
        });
        return highwaterStream(adapter, STREAM, pgOffsets.toJSON(positionAt(parseLsn(startLsn))), expected);
      },
    },
  ];
  const runs = await interleave(sizes.plan, sides);
  checkCounts(name, runs, expected, new Set(sideNames));
  const hw = runs.get('Highwater') ?? [];
  report.comparisons.push(
    {
      benchmark: name,
      size: expected,
      unit: 'events/s',
      limitName: 'pg-logical-replication, counting messages',
      limit: runs.get('library') ?? [],
      highwater: hw,
      aim: 0.8,
    },
    {
      benchmark: name,
      size: expected,
      unit: 'events/s',
      limitName: 'pg-logical-replication, values left as text',
      limit: runs.get('library-text') ?? [],
      highwater: hw,
    },
  );
  report.notes.push({
    benchmark: name,
    text:
      `${describeWriteMix(expected, transactions, h, u, tx)} in ${walMiB.toFixed(0)} MiB of WAL, read from ${startLsn} ` +
      `through a fresh slot per run until the last change arrived; timed from connecting (time to the first change, median: ` +
      `library ${medianFirstMs(runs, 'library')} ms, Highwater ${medianFirstMs(runs, 'Highwater')} ms); REPLICA IDENTITY DEFAULT; ` +
      `load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`,
  });
  await db.query(`DROP PUBLICATION ${publication}`);
  await db.query(`DROP TABLE ${STREAM}`);
}

async function latency(server: ThrowawayPostgres, db: pg.Client, sizes: DbSizes, report: DbReport): Promise<void> {
  const name = 'postgres latency';
  progress(`running ${name}…`);
  const publication = 'bench_latency';
  await db.query(
    `CREATE TABLE ${LATENCY} (id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY, written_us int8 NOT NULL, customer_id int8, amount numeric(12,2), note text)`,
  );
  await db.query(`CREATE PUBLICATION ${publication} FOR TABLE ${LATENCY}`);
  const loadBefore = load();
  let phase = 0;
  const library = async (): Promise<LatencySample> =>
    latencyPhase('postgres', server.url, LATENCY, sizes, async (onRow) => {
      const slot = `bench_latency_library_${phase++}`;
      const lsn = await createSlot(db, slot);
      const service = new LogicalReplicationService(
        { connectionString: server.url },
        { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
      );
      service.on('data', (_lsn: string, message: Pgoutput.Message) => {
        if (message.tag === 'insert') onRow(Number(message.new.written_us));
      });
      service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
        if (shouldRespond) void service.acknowledge(lsn);
      });
      const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
      service
        .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }), slot, lsn)
        .catch(() => undefined);
      await within(started, 30_000, 'pg-logical-replication start');
      return async () => {
        await service.destroy().catch(() => undefined);
        await dropSlot(db, slot);
      };
    });
  const highwater = async (): Promise<LatencySample> =>
    latencyPhase(
      'postgres',
      server.url,
      LATENCY,
      sizes,
      highwaterReceiver(
        () =>
          postgresAdapter({
            connection: server.url,
            slotName: `bench_latency_highwater_${phase++}`,
            publicationName: publication,
            createPublication: false,
            dropSlotOnClose: true,
          }),
        LATENCY,
      ),
    );
  await latencyComparison(name, sizes, library, highwater, report, 'pg-logical-replication (bare)');
  report.notes.push({ benchmark: name, text: latencyNote(sizes, 'clock_timestamp()', loadBefore) });
  await db.query(`DROP PUBLICATION ${publication}`);
}

async function rss(server: ThrowawayPostgres, db: pg.Client, orders: OrdersTable, sizes: DbSizes, report: DbReport) {
  const name = 'postgres peak RSS';
  progress(`running ${name}…`);
  const slot = 'bench_rss';
  const child = { kind: 'postgres', url: server.url, table: ORDERS, slotName: slot } as const;
  await rssRuns(
    name,
    child,
    (rows) => orders.ensure(rows),
    sizes,
    report,
    () => dropSlot(db, slot),
  );
}
