import type { SourceAdapter } from '@highwater/core';
import {
  BINLOG_EVENTS,
  DRIVER_OPTIONS,
  type MysqlOffset,
  mysqlAdapter,
  mysqlOffsets,
  positionAt,
  stopZongji,
} from '@highwater/mysql';
import { startMariadb, type ThrowawayMariadb } from '@highwater/test-servers';
import ZongJi from '@vlasky/zongji';
import mysqlCore from 'mysql2';
import mysql from 'mysql2/promise';
import type { Measurement } from '../core/measure.js';
import {
  adapterChunkReads,
  checkCounts,
  type DbSizes,
  highwaterSnapshot,
  highwaterStream as highwaterStreamFrom,
  interleave,
  load,
  describeWriteMix,
  medianFirstMs,
  progress,
  rssRuns,
  type Side,
  serverId,
  timeCommand,
  within,
} from './common.js';
import { highwaterReceiver, type LatencySample, latencyComparison, latencyNote, latencyPhase } from './latency.js';
import { type DbReport, emptyDbReport } from './report.js';

const ORDERS = 'orders';
const STREAM = 'stream_orders';
const LATENCY = 'latency_orders';

const ORDER_COLUMNS = `id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,
  status ENUM('new', 'paid', 'shipped', 'cancelled') NOT NULL, amount DECIMAL(12,2) NOT NULL, note VARCHAR(64),
  updated_at DATETIME(6) NOT NULL`;

/** `SELECT` list of generated order rows for ids `g`. */
const orderValues = (g: string) =>
  `${g}, (${g} * 7919) % 100000, 1 + ${g} % 4, ((${g} * 31) % 1000000) / 100.0, substr(md5(${g}), 1, 8 + ${g} % 24),
   TIMESTAMP'2026-01-01 00:00:00' + INTERVAL ${g} SECOND + INTERVAL ${g} MICROSECOND`;

type Db = mysql.Connection;

/** `orders`, grown (or refilled) to the row count a benchmark needs; loads are not binlogged. */
class OrdersTable {
  rows = 0;

  constructor(private readonly db: Db) {}

  async ensure(rows: number): Promise<void> {
    if (rows === this.rows) return;
    const started = performance.now();
    await this.db.query('SET sql_log_bin = 0');
    if (rows < this.rows) {
      await this.db.query(`TRUNCATE ${ORDERS}`);
      this.rows = 0;
    }
    for (let from = this.rows + 1; from <= rows; from += 1_000_000) {
      const n = Math.min(rows - from + 1, 1_000_000);
      await this.db.query(`INSERT INTO ${ORDERS} SELECT ${orderValues(`(seq + ${from - 1})`)} FROM seq_1_to_${n}`);
    }
    await this.db.query('SET sql_log_bin = 1');
    await this.db.query(`ANALYZE TABLE ${ORDERS}`);
    this.rows = rows;
    progress(
      `  ${ORDERS}: ${rows.toLocaleString('en-US')} rows (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
}

function zongjiOptions(server: ThrowawayMariadb) {
  return { host: server.host, port: server.port, user: server.user, password: server.password };
}

async function masterStatus(db: Db): Promise<{ file: string; pos: number }> {
  const [rows] = await db.query('SHOW MASTER STATUS');
  const row = (rows as { File: string; Position: number | string }[])[0];
  if (row === undefined) throw new Error('the binlog is off');
  return { file: row.File, pos: Number(row.Position) };
}

const ROW_EVENTS = new Set(['writerows', 'updaterows', 'deleterows']);

/** Bare @vlasky/zongji from `file:pos`, with the adapter's options and events, counting rows of one table until `expected`. */
async function bareZongji(
  server: ThrowawayMariadb,
  table: string,
  from: { file: string; pos: number },
  expected: number,
): Promise<Measurement> {
  const zongji = new ZongJi({ ...zongjiOptions(server), ...DRIVER_OPTIONS });
  let n = 0;
  let first = 0;
  const started = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    zongji.on('binlog', (event) => {
      if (!ROW_EVENTS.has(event.getEventName())) return;
      if (n === 0) first = performance.now();
      n += (event as unknown as { rows: unknown[] }).rows.length;
      if (n >= expected) resolve(performance.now());
    });
    zongji.on('error', reject);
  });
  zongji.start({
    serverId: serverId(),
    filename: from.file,
    position: from.pos,
    includeEvents: [...BINLOG_EVENTS],
    includeSchema: { [server.database]: [table] },
  });
  try {
    const ended = await within(done, 120_000, 'zongji');
    return { seconds: (ended - started) / 1000, count: n, extra: { firstMs: first - started } };
  } finally {
    await stopZongji(zongji);
  }
}

/** Highwater from the binlog position `from` until `expected` change events were handed out. */
function highwaterStream(
  adapter: SourceAdapter<MysqlOffset>,
  table: string,
  from: { file: string; pos: number },
  expected: number,
): Promise<Measurement> {
  return highwaterStreamFrom(adapter, table, mysqlOffsets.toJSON(positionAt(from.file, from.pos)), expected);
}

/** `mariadb` / `mariadb-binlog` arguments that reach the throwaway server (and no option file). */
export function clientArgs(server: ThrowawayMariadb): string[] {
  return ['--no-defaults', '-h', server.host, '-P', String(server.port), '-u', server.user];
}

export interface MysqlSelection {
  readonly snapshot: boolean;
  readonly stream: boolean;
  readonly latency: boolean;
  readonly rss: boolean;
}

/** The MySQL adapter's benchmarks against one throwaway MariaDB (started here, removed at the end). */
export async function mysqlBenchmarks(select: MysqlSelection, sizes: DbSizes): Promise<DbReport> {
  const report = emptyDbReport();
  const server = await startMariadb({ useEnv: false, args: ['--innodb-buffer-pool-size=1G'] });
  progress(`  MariaDB ${server.url} (${server.dataDir})`);
  const db = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: server.database,
  });
  try {
    const [v] = await db.query('SELECT VERSION() AS v');
    report.notes.push({
      benchmark: 'mysql',
      text: `MariaDB ${(v as { v: string }[])[0]?.v ?? '?'}, throwaway server (binlog ROW/FULL, innodb_flush_log_at_trx_commit=2, buffer pool 1 GiB)`,
    });
    await db.query(`CREATE TABLE ${ORDERS} (${ORDER_COLUMNS})`);
    const orders = new OrdersTable(db);
    if (select.snapshot) await snapshot(server, orders, sizes, report);
    if (select.stream) await stream(server, db, sizes, report);
    if (select.latency) await latency(server, db, sizes, report);
    if (select.rss) await rss(server, orders, sizes, report);
  } finally {
    await db.end().catch(() => undefined);
    await server.stop();
  }
  return report;
}

async function snapshot(server: ThrowawayMariadb, orders: OrdersTable, sizes: DbSizes, report: DbReport) {
  const name = 'mysql snapshot';
  progress(`running ${name}…`);
  const rows = sizes.snapshotRows;
  await orders.ensure(rows);
  const loadBefore = load();
  const query = `SELECT * FROM ${server.database}.${ORDERS}`;
  const sides: Side[] = [
    {
      name: 'mariadb --quick',
      run: async () => {
        const seconds = await timeCommand('mariadb', [...clientArgs(server), '--quick', '-e', query]);
        return { seconds, count: rows, extra: {} };
      },
    },
    {
      name: 'mysql2 stream',
      run: async () => {
        const started = performance.now();
        const connection = mysqlCore.createConnection(zongjiOptions(server));
        let n = 0;
        try {
          for await (const row of connection.query(query).stream() as AsyncIterable<unknown>) if (row !== null) n++;
        } finally {
          await connection.promise().end();
        }
        return { seconds: (performance.now() - started) / 1000, count: n, extra: {} };
      },
    },
    {
      name: 'adapter chunk reads',
      run: () =>
        adapterChunkReads(
          mysqlAdapter({ connection: server.url }) as SourceAdapter<unknown>,
          {
            schema: server.database,
            name: ORDERS,
          },
          rows,
        ),
    },
    {
      name: 'Highwater',
      run: () => highwaterSnapshot(mysqlAdapter({ connection: server.url }), `${server.database}.${ORDERS}`),
    },
  ];
  const runs = await interleave(sizes.plan, sides);
  checkCounts(name, runs, rows, new Set(['mysql2 stream', 'adapter chunk reads', 'Highwater']));
  const hw = runs.get('Highwater') ?? [];
  report.comparisons.push(
    {
      benchmark: name,
      size: rows,
      unit: 'rows/s',
      limitName: 'mysql2 streaming `SELECT *`, default options',
      limit: runs.get('mysql2 stream') ?? [],
      highwater: hw,
      aim: 0.7,
    },
    {
      benchmark: name,
      size: rows,
      unit: 'rows/s',
      limitName: "`mariadb --quick -e 'SELECT *' > /dev/null`",
      limit: runs.get('mariadb --quick') ?? [],
      highwater: hw,
      aim: 0.7,
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
      `${ORDERS}: ${rows.toLocaleString('en-US')} rows of 6 columns (BIGINT key, BIGINT, ENUM, DECIMAL(12,2), VARCHAR of 8–31 chars, DATETIME(6)); ` +
      'Highwater: `snapshot` mode, default options (parallelism 4, chunks of 8096 rows, each a streamed `SELECT … WHERE id >= ? AND id < ?` ' +
      `between two watermarks), a consumer counting \`r\` events; every run connects afresh; load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`,
  });
}

async function stream(server: ThrowawayMariadb, db: Db, sizes: DbSizes, report: DbReport) {
  const name = 'mysql stream';
  progress(`running ${name}…`);
  await db.query(`CREATE TABLE ${STREAM} (${ORDER_COLUMNS})`);
  const tx = Math.max(2, Math.round(sizes.streamTxSize / 2) * 2);
  const h = tx / 2;
  const u = Math.ceil(h / 2);
  const transactions = Math.ceil((sizes.streamChanges + h) / tx);
  const expected = (2 * transactions - 1) * h;
  // Transactions of `tx` changes, as on Postgres: `h` inserts, then updates and deletes of the rows
  // the previous transaction inserted; written by a stored procedure on the server.
  await db.query(`CREATE PROCEDURE bench_stream_write(transactions INT)
    BEGIN
      DECLARE t BIGINT DEFAULT 0;
      WHILE t < transactions DO
        START TRANSACTION;
        INSERT INTO ${STREAM} SELECT ${orderValues(`(t * ${h} + seq)`)} FROM seq_1_to_${h};
        IF t > 0 THEN
          UPDATE ${STREAM} SET amount = amount + 1, status = 'paid', updated_at = updated_at + INTERVAL 1 MINUTE
           WHERE id BETWEEN (t - 1) * ${h} + 1 AND (t - 1) * ${h} + ${u};
          DELETE FROM ${STREAM} WHERE id BETWEEN (t - 1) * ${h} + ${u + 1} AND t * ${h};
        END IF;
        COMMIT;
        SET t = t + 1;
      END WHILE;
    END`);
  await db.query('FLUSH BINARY LOGS');
  const from = await masterStatus(db);
  const written = performance.now();
  await db.query('CALL bench_stream_write(?)', [transactions]);
  const end = await masterStatus(db);
  const writeSeconds = (performance.now() - written) / 1000;
  if (end.file !== from.file) {
    throw new Error(
      `${name}: the changes span binlog files ${from.file}–${end.file}; use fewer (BENCH_STREAM_CHANGES)`,
    );
  }
  progress(
    `  wrote ${expected.toLocaleString('en-US')} changes in ${transactions} transactions (${writeSeconds.toFixed(1)} s)`,
  );
  const loadBefore = load();
  const table = `${server.database}.${STREAM}`;
  const sides: Side[] = [
    { name: 'zongji', run: () => bareZongji(server, STREAM, from, expected) },
    {
      name: 'mariadb-binlog',
      run: async () => {
        const seconds = await timeCommand('mariadb-binlog', [
          ...clientArgs(server),
          '--read-from-remote-server',
          '-v',
          `--start-position=${from.pos}`,
          `--stop-position=${end.pos}`,
          from.file,
        ]);
        return { seconds, count: expected, extra: {} };
      },
    },
    {
      name: 'Highwater',
      run: () => highwaterStream(mysqlAdapter({ connection: server.url }), table, from, expected),
    },
  ];
  const runs = await interleave(sizes.plan, sides);
  checkCounts(name, runs, expected, new Set(['zongji', 'Highwater']));
  const hw = runs.get('Highwater') ?? [];
  report.comparisons.push(
    {
      benchmark: name,
      size: expected,
      unit: 'events/s',
      limitName: "@vlasky/zongji with the adapter's options and events, counting rows",
      limit: runs.get('zongji') ?? [],
      highwater: hw,
      aim: 0.8,
    },
    {
      benchmark: name,
      size: expected,
      unit: 'events/s',
      limitName: '`mariadb-binlog --read-from-remote-server -v > /dev/null`',
      limit: runs.get('mariadb-binlog') ?? [],
      highwater: hw,
    },
  );
  report.notes.push({
    benchmark: name,
    text:
      `${describeWriteMix(expected, transactions, h, u, tx)} in ${((end.pos - from.pos) / 2 ** 20).toFixed(0)} MiB of binlog ` +
      `(${from.file} ${from.pos}–${end.pos}), read until the last change arrived; timed from connecting (time to the first change, ` +
      `median: zongji ${medianFirstMs(runs, 'zongji')} ms, Highwater ${medianFirstMs(runs, 'Highwater')} ms); load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`,
  });
  await db.query('DROP PROCEDURE bench_stream_write');
}

async function latency(server: ThrowawayMariadb, db: Db, sizes: DbSizes, report: DbReport) {
  const name = 'mysql latency';
  progress(`running ${name}…`);
  await db.query(
    `CREATE TABLE ${LATENCY} (id BIGINT AUTO_INCREMENT PRIMARY KEY, written_us BIGINT NOT NULL, customer_id BIGINT, amount DECIMAL(12,2), note VARCHAR(64))`,
  );
  const loadBefore = load();
  const library = async (): Promise<LatencySample> =>
    latencyPhase('mysql', server.url, LATENCY, sizes, async (onRow) => {
      const zongji = new ZongJi(zongjiOptions(server));
      zongji.on('binlog', (event) => {
        if (event.getEventName() !== 'writerows') return;
        for (const row of (event as unknown as { rows: { written_us: number | string }[] }).rows) {
          onRow(Number(row.written_us));
        }
      });
      const ready = new Promise<void>((resolve, reject) => {
        zongji.once('ready', () => resolve());
        zongji.once('error', reject);
      });
      zongji.start({
        serverId: serverId(),
        startAtEnd: true,
        includeEvents: ['tablemap', 'writerows'],
        includeSchema: { [server.database]: [LATENCY] },
      });
      await within(ready, 30_000, 'zongji start');
      return () => stopZongji(zongji);
    });
  const highwater = async (): Promise<LatencySample> =>
    latencyPhase(
      'mysql',
      server.url,
      LATENCY,
      sizes,
      highwaterReceiver(() => mysqlAdapter({ connection: server.url }), `${server.database}.${LATENCY}`),
    );
  await latencyComparison(name, sizes, library, highwater, report, '@vlasky/zongji (bare)');
  report.notes.push({ benchmark: name, text: latencyNote(sizes, 'SYSDATE(6)', loadBefore) });
}

async function rss(server: ThrowawayMariadb, orders: OrdersTable, sizes: DbSizes, report: DbReport) {
  const name = 'mysql peak RSS';
  progress(`running ${name}…`);
  const child = { kind: 'mysql', url: server.url, table: `${server.database}.${ORDERS}` } as const;
  await rssRuns(name, child, (rows) => orders.ensure(rows), sizes, report);
}
