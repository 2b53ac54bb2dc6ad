/**
 * End-to-end benchmarks: `highwater run` (the built command, in its own process) moving a
 * pgbench_accounts-like table from a source server into a target — Postgres → Postgres, MySQL →
 * MySQL, MySQL → Postgres, Postgres → file — side by side with the databases' own tools on the same
 * data in the same run, for a snapshot and for a stream of changes.
 */
import { existsSync } from 'node:fs';
import type { JsonValue } from '@highwater/core';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mysqlOffsets, positionAt as mysqlPositionAt } from '@highwater/mysql';
import { parseLsn, pgOffsets, positionAt as pgPositionAt, postgresAdapter } from '@highwater/postgres';
import {
  pickFreePort,
  startMariadb,
  startPostgres,
  type ThrowawayMariadb,
  type ThrowawayPostgres,
} from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Measurement } from '../core/measure.js';
import {
  type DbSizes,
  highwaterSnapshot,
  highwaterStream,
  interleave,
  load,
  progress,
  type Side,
  timeCommand,
} from '../db/common.js';
import { clientArgs } from '../db/mysql.js';
import { psqlPath } from '../db/postgres.js';
import { type DbReport, emptyDbReport } from '../db/report.js';
import { ACCOUNT_COLUMNS, accountValues, streamWorkload, workloadSql } from './accounts.js';
import { BARE_BATCH, bareApply } from './bare-apply.js';
import { runPipeline, runReadChild } from './pipeline-process.js';

/** The benchmarks of this file, by the name a filter matches. */
export const E2E_BENCHMARKS = [
  'e2e pg-pg snapshot',
  'e2e my-my snapshot',
  'e2e my-pg snapshot',
  'e2e pg-file snapshot',
  'e2e pg-pg stream',
  'e2e my-my stream',
  'e2e my-pg stream',
  'e2e pg-file stream',
] as const;
export type E2eBenchmark = (typeof E2E_BENCHMARKS)[number];

/**
 * The side name of the Postgres → file benchmarks' second limit: the same read as the first limit
 * (adapter and core, change events counted, no sink) but in a fresh Node process timed from spawning
 * to exit, as `highwater run` is timed. The first limit reads in the warm bench process and so pays
 * no start-up (Node, module loading, connecting) and no JIT warm-up; every separate process pays
 * those. Both are reported, each with its own ratio.
 */
const CHILD_LIMIT = 'limit, own process';
const CHILD_LIMIT_NAME = {
  snapshot: "Highwater's snapshot read in a fresh process (`read-child`, spawn to exit, events counted, no sink)",
  stream: "Highwater's stream read in a fresh process (`read-child`, spawn to exit, events counted, no sink)",
} as const;

const SNAPSHOT_TABLE = 'accounts';
const STREAM_TABLE = 'accounts_stream';
/** The target schema (Postgres) or database (MySQL) of the Highwater sides; the limits write to the default one. */
const HW_SCHEMA = 'hw';

interface Servers {
  pgSource?: ThrowawayPostgres;
  pgTarget?: ThrowawayPostgres;
  mySource?: ThrowawayMariadb;
  myTarget?: ThrowawayMariadb;
}

/** A statement runner on one server, with a fresh connection per call (runs are minutes apart). */
async function pgQuery<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function myQuery<T>(server: ThrowawayMariadb, sql: string, params: unknown[] = []): Promise<T[]> {
  const db = await mysql.createConnection(server.url);
  try {
    const [rows] = await db.query(sql, params);
    return (Array.isArray(rows) ? rows : []) as T[];
  } finally {
    await db.end();
  }
}

/** Row count and `sum(abalance)` of a target table: what must equal the source after a run. */
async function digest(kind: 'postgres' | 'mysql', target: ThrowawayPostgres | ThrowawayMariadb, table: string) {
  const sql = `SELECT COUNT(*) AS n, COALESCE(SUM(abalance), 0) AS s FROM ${table}`;
  const [row] =
    kind === 'postgres'
      ? await pgQuery<{ n: string; s: string }>(target.url, sql)
      : await myQuery<{ n: string; s: string }>(target as ThrowawayMariadb, sql);
  return `${row?.n}/${row?.s}`;
}

let runNumber = 0;

export interface E2eContext {
  readonly sizes: DbSizes;
  readonly report: DbReport;
  readonly servers: Servers;
  readonly dir: string;
}

/** Runs the selected end-to-end benchmarks against throwaway servers started here and removed at the end. */
export async function e2eBenchmarks(selected: readonly E2eBenchmark[], sizes: DbSizes): Promise<DbReport> {
  const report = emptyDbReport();
  const usesPg = selected.some((b) => /pg/.test(b));
  const usesMy = selected.some((b) => /my/.test(b));
  const servers: Servers = {};
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-e2e-'));
  try {
    if (usesPg) {
      const settings = { max_replication_slots: 64, max_wal_senders: 64, max_wal_size: '4GB' };
      [servers.pgSource, servers.pgTarget] = await Promise.all([
        startPostgres({ useEnv: false, settings }),
        startPostgres({ useEnv: false, settings }),
      ]);
      const v = await pgQuery<{ v: string }>(servers.pgSource.url, "SELECT current_setting('server_version') AS v");
      report.notes.push({
        benchmark: 'e2e',
        text: `PostgreSQL ${v[0]?.v ?? '?'}: two throwaway servers (source, target; fsync off), psql ${psqlPath()}`,
      });
    }
    if (usesMy) {
      const args = ['--innodb-buffer-pool-size=512M'];
      [servers.mySource, servers.myTarget] = await Promise.all([
        startMariadb({ useEnv: false, args }),
        startMariadb({ useEnv: false, args }),
      ]);
      const v = await myQuery<{ v: string }>(servers.mySource, 'SELECT VERSION() AS v');
      report.notes.push({
        benchmark: 'e2e',
        text: `MariaDB ${v[0]?.v ?? '?'}: two throwaway servers (source, target; binlog ROW/FULL, innodb_flush_log_at_trx_commit=2, buffer pool 512 MiB)`,
      });
    }
    const context: E2eContext = { sizes, report, servers, dir };
    const snapshots = selected.filter((b) => b.endsWith('snapshot'));
    const streams = selected.filter((b) => b.endsWith('stream'));
    if (snapshots.length > 0) await prepareSnapshotSources(context);
    for (const b of snapshots) await snapshotBenchmark(context, b);
    if (streams.length > 0) await streamBenchmarks(context, streams);
  } finally {
    await Promise.all(Object.values(servers).map((s) => s?.stop()));
    await rm(dir, { recursive: true, force: true });
  }
  return report;
}

async function prepareSnapshotSources({ servers, sizes }: E2eContext): Promise<void> {
  const rows = sizes.snapshotRows;
  const started = performance.now();
  if (servers.pgSource !== undefined && servers.pgTarget !== undefined) {
    await pgQuery(servers.pgSource.url, `CREATE TABLE public.${SNAPSHOT_TABLE} (${ACCOUNT_COLUMNS.postgres})`);
    await pgQuery(
      servers.pgSource.url,
      `INSERT INTO public.${SNAPSHOT_TABLE} SELECT ${accountValues('postgres', 'g')} FROM generate_series(1, ${rows}) g`,
    );
    await pgQuery(servers.pgSource.url, `VACUUM (FREEZE, ANALYZE) public.${SNAPSHOT_TABLE}`);
    await pgQuery(servers.pgTarget.url, `CREATE TABLE public.${SNAPSHOT_TABLE} (${ACCOUNT_COLUMNS.postgres})`);
  }
  if (servers.mySource !== undefined && servers.myTarget !== undefined) {
    const s = servers.mySource;
    await myQuery(s, `CREATE TABLE ${SNAPSHOT_TABLE} (${ACCOUNT_COLUMNS.mysql})`);
    for (let from = 1; from <= rows; from += 1_000_000) {
      const n = Math.min(rows - from + 1, 1_000_000);
      await myQuery(
        s,
        `INSERT INTO ${SNAPSHOT_TABLE} SELECT ${accountValues('mysql', `(seq + ${from - 1})`)} FROM seq_1_to_${n}`,
      );
    }
    await myQuery(s, `ANALYZE TABLE ${SNAPSHOT_TABLE}`);
    await myQuery(servers.myTarget, `CREATE TABLE ${SNAPSHOT_TABLE} (${ACCOUNT_COLUMNS.mysql})`);
  }
  progress(
    `  source tables: ${rows.toLocaleString('en-US')} rows (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}

/** The source server of a path and the qualified name of `table` on it. */
function sourceSide(servers: Servers, source: 'postgres' | 'mysql', table: string) {
  const server = source === 'postgres' ? servers.pgSource! : servers.mySource!;
  return { server, table: source === 'postgres' ? `public.${table}` : `${server.database}.${table}` };
}

/** The target server of a limit (its table in the default schema or database) and the table's name there. */
function limitSide(servers: Servers, target: 'postgres' | 'mysql', table: string) {
  const server = target === 'postgres' ? servers.pgTarget! : servers.myTarget!;
  return { server, table: target === 'postgres' ? `public.${table}` : table };
}

async function truncateTarget(server: ThrowawayPostgres | ThrowawayMariadb, table: string): Promise<void> {
  if (server.kind === 'postgres') await pgQuery(server.url, `TRUNCATE ${table}`);
  else await myQuery(server, `TRUNCATE ${table}`);
}

/** The pipeline file (JSON is YAML) of one Highwater run. */
function pipelineFile(
  name: string,
  source: { kind: 'postgres' | 'mysql'; url: string; table: string; startup: unknown; options?: object },
  sink: object,
  metricsPort: number,
): string {
  return JSON.stringify(
    {
      name,
      source: {
        adapter: source.kind,
        connection: source.url,
        tables: { include: [source.table] },
        startup: source.startup,
        ...(source.options === undefined ? {} : { options: source.options }),
      },
      sink,
      metrics: { port: metricsPort },
      restart: { attempts: 0 },
    },
    null,
    2,
  );
}

/** Empties the Highwater side's target: the schema (Postgres) or database (MySQL), or the file. */
async function clearHighwaterTarget(context: E2eContext, target: 'postgres' | 'mysql' | 'file'): Promise<void> {
  const { servers } = context;
  if (target === 'postgres') await pgQuery(servers.pgTarget!.url, `DROP SCHEMA IF EXISTS ${HW_SCHEMA} CASCADE`);
  else if (target === 'mysql') await myQuery(servers.myTarget!, `DROP DATABASE IF EXISTS ${HW_SCHEMA}`);
  else {
    await rm(join(context.dir, 'out.jsonl'), { force: true });
    await rm(join(context.dir, 'out.jsonl.checkpoint.json'), { force: true });
  }
}

function sinkConfig(context: E2eContext, target: 'postgres' | 'mysql' | 'file'): object {
  const { servers } = context;
  if (target === 'file') return { type: 'file', path: join(context.dir, 'out.jsonl') };
  return {
    type: target,
    connection: target === 'postgres' ? servers.pgTarget!.url : servers.myTarget!.url,
    schema: HW_SCHEMA,
  };
}

/** Lines of the file sink's output that hold a change (the file may also hold a schema line). */
async function fileChangeLines(context: E2eContext): Promise<number> {
  const text = await readFile(join(context.dir, 'out.jsonl'), 'utf8');
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('{"kind":"change"')) n++;
  return n;
}

const parts = (b: E2eBenchmark) => {
  const [, path] = b.split(' ') as [string, string];
  const [from, to] = path.split('-') as ['pg' | 'my', 'pg' | 'my' | 'file'];
  const kind = (x: string) =>
    (x === 'pg' ? 'postgres' : x === 'my' ? 'mysql' : 'file') as 'postgres' | 'mysql' | 'file';
  return { source: kind(from) as 'postgres' | 'mysql', target: kind(to) };
};

async function snapshotBenchmark(context: E2eContext, name: E2eBenchmark): Promise<void> {
  const { servers, sizes, report, dir } = context;
  const rows = sizes.snapshotRows;
  const { source, target } = parts(name);
  progress(`running ${name}…`);
  const loadBefore = load();
  const { server: sourceServer, table: sourceTable } = sourceSide(servers, source, SNAPSHOT_TABLE);
  const psql = psqlPath();
  const pgDump = join(dirname(psql), 'pg_dump');
  let limit: Side;
  let limitName: string;
  // Into a file, a second limit beside the first: the same read in a fresh process (see CHILD_LIMIT).
  let childLimit: Side | null = null;
  if (target === 'file') {
    childLimit = {
      name: CHILD_LIMIT,
      run: () => {
        const slot = `bench_e2e_${++runNumber}`;
        return runReadChild({ url: sourceServer.url, table: sourceTable, slotName: slot, publicationName: slot }, rows);
      },
    };
    limitName = "Highwater's snapshot read in-process (adapter and core, events counted, no sink)";
    limit = {
      name: 'limit',
      run: () => {
        const slot = `bench_e2e_${++runNumber}`;
        return highwaterSnapshot(
          postgresAdapter({
            connection: sourceServer.url,
            slotName: slot,
            publicationName: slot,
            dropSlotOnClose: true,
          }),
          sourceTable,
        );
      },
    };
  } else {
    const { server: targetServer, table: targetTable } = limitSide(servers, target, SNAPSHOT_TABLE);
    const mariadb = (server: ThrowawayMariadb) => clientArgs(server).join(' ');
    const command =
      source === 'postgres'
        ? `${existsSync(pgDump) ? pgDump : 'pg_dump'} --data-only -t ${sourceTable} '${sourceServer.url}' | ${psql} -X -q -v ON_ERROR_STOP=1 -d '${targetServer.url}'`
        : target === 'mysql'
          ? `mariadb-dump ${mariadb(servers.mySource!)} --no-create-info ${sourceServer.database} ${SNAPSHOT_TABLE} | mariadb ${mariadb(servers.myTarget!)} ${targetServer.database}`
          : `mariadb ${mariadb(servers.mySource!)} --batch --skip-column-names --quick -e 'SELECT * FROM ${sourceTable}' | ${psql} -X -q -v ON_ERROR_STOP=1 -d '${targetServer.url}' -c "COPY ${targetTable} FROM STDIN WITH (NULL 'NULL')"`;
    limitName =
      source === 'postgres'
        ? '`pg_dump --data-only | psql`'
        : target === 'mysql'
          ? '`mariadb-dump | mariadb`'
          : "`mariadb --batch -e 'SELECT *' | psql -c 'COPY … FROM STDIN'`";
    limit = {
      name: 'limit',
      run: async () => {
        await truncateTarget(targetServer, targetTable);
        const seconds = await timeCommand('bash', ['-c', `set -o pipefail; ${command}`]);
        const got = await digest(target, targetServer, targetTable);
        const want = await digest(source, sourceServer, sourceTable);
        if (got !== want) throw new Error(`${name}: the limit's target holds ${got} (rows/sum), the source ${want}`);
        return { seconds, count: rows, extra: {} };
      },
    };
  }
  const runHighwater = async () => {
    await clearHighwaterTarget(context, target);
    const n = ++runNumber;
    const metricsPort = await pickFreePort();
    const m = await runPipeline({
      file: join(dir, `e2e-${n}.yaml`),
      count: rows,
      yaml: pipelineFile(
        `e2e_${n}`,
        {
          kind: source,
          url: sourceServer.url,
          table: sourceTable,
          startup: 'snapshot',
          options:
            source === 'postgres'
              ? { slotName: `bench_e2e_${n}`, publicationName: `bench_e2e_${n}`, dropSlotOnClose: true }
              : undefined,
        },
        sinkConfig(context, target),
        metricsPort,
      ),
    });
    await checkHighwaterTarget(context, name, target, sourceServer, source, sourceTable, SNAPSHOT_TABLE, rows);
    return m;
  };
  const highwater: Side = { name: 'Highwater', run: runHighwater };
  // Into MySQL, the same run once more with the target's local_infile off: the sink then writes
  // multi-row statements instead of LOAD DATA, which shows what the bulk path gains in the same run.
  const statements: Side | null =
    target === 'mysql'
      ? {
          name: 'Highwater, statements',
          run: async () => {
            await myQuery(servers.myTarget!, 'SET GLOBAL local_infile = 0');
            try {
              return await runHighwater();
            } finally {
              await myQuery(servers.myTarget!, 'SET GLOBAL local_infile = 1');
            }
          },
        }
      : null;
  const runs = await interleave(sizes.plan, [
    limit,
    highwater,
    ...(statements === null ? [] : [statements]),
    ...(childLimit === null ? [] : [childLimit]),
  ]);
  const hw = runs.get('Highwater') ?? [];
  report.comparisons.push({
    benchmark: name,
    size: rows,
    unit: 'rows/s',
    limitName,
    limit: runs.get('limit') ?? [],
    highwater: hw,
    aim: target === 'file' ? 0.5 : 0.8,
  });
  if (childLimit !== null) {
    report.comparisons.push({
      benchmark: `${name}, vs a fresh process`,
      size: rows,
      unit: 'rows/s',
      limitName: CHILD_LIMIT_NAME.snapshot,
      limit: runs.get(CHILD_LIMIT) ?? [],
      highwater: hw,
      aim: 0.5,
    });
  }
  if (statements !== null) {
    report.comparisons.push({
      benchmark: `${name}, statements`,
      size: rows,
      unit: 'rows/s',
      limitName,
      limit: runs.get('limit') ?? [],
      highwater: runs.get('Highwater, statements') ?? [],
      aim: 0.8,
    });
  }
  pushRss(report, name, rows, hw);
  report.notes.push({
    benchmark: name,
    text:
      `${rows.toLocaleString('en-US')} rows of 4 columns (int key, int, int, an 84-character filler); ` +
      '`highwater run` with `startup: snapshot` and default options, timed from spawning the command to its exit; ' +
      `load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`,
  });
}

/** Throws unless the Highwater side's target equals the source (rows and `sum(abalance)`, or change lines in a file). */
async function checkHighwaterTarget(
  context: E2eContext,
  name: string,
  target: 'postgres' | 'mysql' | 'file',
  sourceServer: ThrowawayPostgres | ThrowawayMariadb,
  source: 'postgres' | 'mysql',
  sourceTable: string,
  table: string,
  changes: number,
): Promise<void> {
  if (target === 'file') {
    const lines = await fileChangeLines(context);
    if (lines !== changes) throw new Error(`${name}: the file holds ${lines} change lines, expected ${changes}`);
    return;
  }
  const server = target === 'postgres' ? context.servers.pgTarget! : context.servers.myTarget!;
  const got = await digest(target, server, `${HW_SCHEMA}.${table}`);
  const want = await digest(source, sourceServer, sourceTable);
  if (got !== want) throw new Error(`${name}: Highwater's target holds ${got} (rows/sum), the source ${want}`);
}

function pushRss(report: DbReport, name: string, rows: number, runs: readonly Measurement[]): void {
  for (const m of runs) {
    report.rss.push({
      benchmark: name,
      rows,
      what: `\`highwater run\` process (VmHWM; CPU ${(m.extra.cpuSeconds ?? 0).toFixed(1)} s)`,
      maxRssMiB: (m.extra.maxRssKiB ?? 0) / 1024,
      seconds: m.seconds,
    });
  }
}

/** The stream benchmarks: the workload written once per source server, then each path's sides. */
async function streamBenchmarks(context: E2eContext, selected: readonly E2eBenchmark[]): Promise<void> {
  const { servers, sizes } = context;
  const w = streamWorkload(sizes.streamChanges, sizes.streamTxSize);
  const perSide = sizes.plan.warmups + sizes.plan.runs;
  let pgStart: unknown = null;
  let myStart: unknown = null;
  const pgSlots: string[] = [];
  if (servers.pgSource !== undefined && selected.some((b) => b.startsWith('e2e pg'))) {
    const url = servers.pgSource.url;
    await pgQuery(url, `CREATE TABLE public.${STREAM_TABLE} (${ACCOUNT_COLUMNS.postgres})`);
    await pgQuery(url, `CREATE PUBLICATION bench_e2e_stream FOR TABLE public.${STREAM_TABLE}`);
    // A slot per Highwater run, and per run of each of pg-file's two limits (the same log read in
    // process and in a child process).
    const count =
      perSide * selected.filter((b) => b.startsWith('e2e pg')).length +
      (selected.includes('e2e pg-file stream') ? 2 * perSide : 0);
    for (let i = 0; i < count; i++) {
      const slot = `bench_e2e_stream_${i}`;
      await pgQuery(url, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
      pgSlots.push(slot);
    }
    const [lsn] = await pgQuery<{ lsn: string }>(url, 'SELECT pg_current_wal_lsn()::text AS lsn');
    pgStart = pgOffsets.toJSON(pgPositionAt(parseLsn(lsn!.lsn)));
    const started = performance.now();
    await pgQuery(url, workloadSql('postgres', `public.${STREAM_TABLE}`, w));
    progress(
      `  Postgres source: ${w.changes} changes written (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  if (servers.mySource !== undefined && selected.some((b) => b.startsWith('e2e my'))) {
    const s = servers.mySource;
    await myQuery(s, `CREATE TABLE ${STREAM_TABLE} (${ACCOUNT_COLUMNS.mysql})`);
    await myQuery(s, workloadSql('mysql', STREAM_TABLE, w));
    await myQuery(s, 'FLUSH BINARY LOGS');
    const [status] = await myQuery<{ File: string; Position: string | number }>(s, 'SHOW MASTER STATUS');
    myStart = mysqlOffsets.toJSON(mysqlPositionAt(status!.File, Number(status!.Position)));
    const started = performance.now();
    await myQuery(s, 'CALL bench_e2e_write()');
    const [end] = await myQuery<{ File: string }>(s, 'SHOW MASTER STATUS');
    if (end?.File !== status?.File) throw new Error('the stream workload spans two binlog files: use fewer changes');
    progress(`  MariaDB source: ${w.changes} changes written (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  for (const target of [servers.pgTarget, servers.myTarget]) {
    if (target === undefined) continue;
    if (target.kind === 'postgres')
      await pgQuery(target.url, `CREATE TABLE public.${STREAM_TABLE} (${ACCOUNT_COLUMNS.postgres})`);
    else await myQuery(target, `CREATE TABLE ${STREAM_TABLE} (${ACCOUNT_COLUMNS.mysql})`);
  }
  for (const name of selected) {
    const { source, target } = parts(name);
    progress(`running ${name}…`);
    const loadBefore = load();
    const { server: sourceServer, table: sourceTable } = sourceSide(servers, source, STREAM_TABLE);
    const start = source === 'postgres' ? pgStart : myStart;
    const takeSlot = () => {
      const slot = pgSlots.shift();
      if (slot === undefined) throw new Error('no replication slot left');
      return slot;
    };
    let limit: Side;
    let limitName: string;
    let childLimit: Side | null = null;
    if (target === 'file') {
      childLimit = {
        name: CHILD_LIMIT,
        run: () =>
          runReadChild(
            {
              url: sourceServer.url,
              table: sourceTable,
              slotName: takeSlot(),
              publicationName: 'bench_e2e_stream',
              stream: { offset: start as JsonValue, expected: w.changes },
            },
            w.changes,
          ),
      };
      limitName = "Highwater's stream read in-process (adapter and core, events counted, no sink)";
      limit = {
        name: 'limit',
        run: () =>
          highwaterStream(
            postgresAdapter({
              connection: sourceServer.url,
              slotName: takeSlot(),
              publicationName: 'bench_e2e_stream',
              createSlot: false,
              createPublication: false,
              dropSlotOnClose: true,
            }),
            sourceTable,
            start as never,
            w.changes,
          ),
      };
    } else {
      const { server: targetServer, table: targetTable } = limitSide(servers, target, STREAM_TABLE);
      limitName = `a bare loop applying the same changes: per ${BARE_BATCH} changes one multi-row upsert and one multi-row delete, one transaction`;
      limit = {
        name: 'limit',
        run: async () => {
          await truncateTarget(targetServer, targetTable);
          const m = await bareApply(target, targetServer.url, targetTable, w);
          const got = await digest(target, targetServer, targetTable);
          const want = await digest(source, sourceServer, sourceTable);
          if (got !== want)
            throw new Error(`${name}: the bare loop's target holds ${got} (rows/sum), the source ${want}`);
          return m;
        },
      };
    }
    const want = await digest(source, sourceServer, sourceTable);
    const highwater: Side = {
      name: 'Highwater',
      run: async () => {
        await clearHighwaterTarget(context, target);
        const n = ++runNumber;
        const metricsPort = await pickFreePort();
        const options =
          source === 'postgres'
            ? {
                slotName: takeSlot(),
                publicationName: 'bench_e2e_stream',
                createSlot: false,
                createPublication: false,
                dropSlotOnClose: true,
              }
            : undefined;
        const m = await runPipeline({
          file: join(context.dir, `e2e-${n}.yaml`),
          count: w.changes,
          yaml: pipelineFile(
            `e2e_${n}`,
            { kind: source, url: sourceServer.url, table: sourceTable, startup: { offset: start }, options },
            sinkConfig(context, target),
            metricsPort,
          ),
          stream: {
            metricsPort,
            settled: async () => {
              if (target === 'file') return (await fileChangeLines(context)) >= w.changes;
              const server = target === 'postgres' ? servers.pgTarget! : servers.myTarget!;
              return (await digest(target, server, `${HW_SCHEMA}.${STREAM_TABLE}`).catch(() => '')) === want;
            },
          },
        });
        await checkHighwaterTarget(context, name, target, sourceServer, source, sourceTable, STREAM_TABLE, w.changes);
        return m;
      },
    };
    const runs = await interleave(sizes.plan, [limit, highwater, ...(childLimit === null ? [] : [childLimit])]);
    const hw = runs.get('Highwater') ?? [];
    context.report.comparisons.push({
      benchmark: name,
      size: w.changes,
      unit: 'events/s',
      limitName,
      limit: runs.get('limit') ?? [],
      highwater: hw,
      aim: target === 'file' ? 0.5 : 0.7,
    });
    if (childLimit !== null) {
      context.report.comparisons.push({
        benchmark: `${name}, vs a fresh process`,
        size: w.changes,
        unit: 'events/s',
        limitName: CHILD_LIMIT_NAME.stream,
        limit: runs.get(CHILD_LIMIT) ?? [],
        highwater: hw,
        aim: 0.5,
      });
    }
    pushRss(context.report, name, w.changes, hw);
    context.report.notes.push({
      benchmark: name,
      text:
        `${w.changes.toLocaleString('en-US')} row changes (${w.transactions.toLocaleString('en-US')} transactions of ${2 * w.h}: ` +
        'inserts, then updates and deletes of the rows the previous transaction inserted) already in the log; ' +
        '`highwater run` from the offset before them, timed from spawning the command until the metrics report every ' +
        `event written (the target is then checked equal to the source, untimed); load ${loadBefore.toFixed(2)} → ${load().toFixed(2)}`,
    });
  }
}
