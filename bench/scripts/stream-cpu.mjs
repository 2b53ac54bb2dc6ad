/**
 * Where a stream's CPU time goes, in-process and without the command's start-up: the workload of
 * the e2e stream benchmarks (`bench/src/e2e/accounts.ts`) applied by `PipelineRunner` from the
 * source's log into a Postgres or MySQL table sink, reporting per event the CPU time of this process
 * and of each throwaway server (the Postgres servers' process trees, the MariaDB processes), the
 * time spent in `sink.write`, the statements' time by kind, and optionally the bare loop and the
 * source read alone. Under load the wall figures are noise; the CPU figures per event are not.
 *
 *   npm run build && node bench/scripts/stream-cpu.mjs --changes=150000 --runs=2 [--bare] [--read] [--prof=DIR] pg-pg my-my my-pg
 */
import { mysqlAdapter, mysqlOffsets, positionAt as myPositionAt } from '@highwater/mysql';
import { parseLsn, pgOffsets, positionAt as pgPositionAt, postgresAdapter } from '@highwater/postgres';
import { startMariadb, startPostgres } from '@highwater/test-servers';
import { PipelineRunner } from '@highwater/cli';
import { postgresSink, postgresDialect } from '@highwater/sink-postgres';
import { mysqlDialect, mysqlSink } from '@highwater/sink-mysql';
import { sourceTableDescriber } from '@highwater/sink-sql';
import { createSource } from '@highwater/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { ACCOUNT_COLUMNS, streamWorkload, workloadSql } from '../dist/e2e/accounts.js';
import { bareApply } from '../dist/e2e/bare-apply.js';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
const TICK = 100;
function statOf(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), u: Number(f[11]), s: Number(f[12]), cu: Number(f[13]), cs: Number(f[14]) };
  } catch {
    return null;
  }
}
/** CPU seconds of a process tree: the root's own and reaped children's, plus every live descendant's own. */
function treeCpu(root) {
  if (!root) return 0;
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const kids = new Map();
  for (const pid of all) {
    const st = statOf(pid);
    if (st) {
      const l = kids.get(st.ppid) ?? [];
      l.push(pid);
      kids.set(st.ppid, l);
    }
  }
  const r = statOf(root);
  if (!r) return 0;
  let ticks = r.u + r.s + r.cu + r.cs;
  const stack = [...(kids.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    const st = statOf(pid);
    if (st) ticks += st.u + st.s;
    stack.push(...(kids.get(pid) ?? []));
  }
  return ticks / TICK;
}
const cpus = (servers) => Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, treeCpu(v.pid)]));
const cpuDiff = (a, b, n) =>
  Object.entries(b)
    .map(([k, v]) => `${k} ${(((v - a[k]) * 1e6) / n).toFixed(2)}`)
    .join(' ');
import { Session } from 'node:inspector/promises';

const args = process.argv.slice(2);
const opt = (name, d) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
const changes = opt('changes', 150000);
const runs = opt('runs', 2);
const paths = args.filter((a) => !a.startsWith('--'));
const bare = args.includes('--bare');
const read = args.includes('--read');
const prof = args.find((a) => a.startsWith('--prof='))?.split('=')[1];
const TABLE = 'accounts_stream';
const w = streamWorkload(changes, 4);
const log = (...a) => console.log(...a);
const stmtTimes = new Map();
const timed = (what, t0) => {
  const e = stmtTimes.get(what) ?? [0, 0];
  e[0]++;
  e[1] += performance.now() - t0;
  stmtTimes.set(what, e);
};
const kind = (sql) => sql.replace(/\s+/g, ' ').slice(0, 40);
for (const d of [postgresDialect, mysqlDialect]) {
  const connect = d.connect.bind(d);
  d.connect = async (c) => {
    const s = await connect(c);
    return {
      ...s,
      query: async (sql, params) => {
        const t0 = performance.now();
        try {
          return await s.query(sql, params);
        } finally {
          timed(kind(sql), t0);
        }
      },
      ...(s.execute
        ? {
            execute: async (sql, params) => {
              const t0 = performance.now();
              try {
                return await s.execute(sql, params);
              } finally {
                timed(`EXEC ${kind(sql)}`, t0);
              }
            },
          }
        : {}),
      ...(s.pipeline
        ? {
            pipeline: async (statements) => {
              const t0 = performance.now();
              try {
                return await s.pipeline(statements);
              } finally {
                timed(
                  `PIPELINE of ${statements.length}: ${statements.map((x) => x.sql.split(' ', 1)[0]).join(' ')}`,
                  t0,
                );
              }
            },
          }
        : {}),
      ...(s.load
        ? {
            load: async (sql, data) => {
              const t0 = performance.now();
              try {
                return await s.load(sql, data);
              } finally {
                timed(`LOAD ${kind(sql)}`, t0);
              }
            },
          }
        : {}),
    };
  };
}
const dumpTimes = () => {
  for (const [k, [n, ms]] of [...stmtTimes].sort((a, b) => b[1][1] - a[1][1]).slice(0, 12))
    log(`   ${ms.toFixed(0).padStart(6)} ms ${String(n).padStart(5)}x  ${k}`);
  stmtTimes.clear();
};

async function pgq(url, sql, params = []) {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}
async function myq(url, sql, params = []) {
  const c = await mysql.createConnection(url);
  try {
    const [rows] = await c.query(sql, params);
    return rows;
  } finally {
    await c.end();
  }
}

const usesPg = paths.some((p) => p.includes('pg'));
const usesMy = paths.some((p) => p.includes('my'));
const servers = {};
const settings = { max_replication_slots: 64, max_wal_senders: 64, max_wal_size: '4GB' };
const logger = { info() {}, warn: (_fields, m) => console.error('WARN', m), debug() {} };
try {
  if (usesPg)
    [servers.pgS, servers.pgT] = await Promise.all([
      startPostgres({ useEnv: false, settings }),
      startPostgres({ useEnv: false, settings }),
    ]);
  if (usesMy)
    [servers.myS, servers.myT] = await Promise.all([
      startMariadb({ useEnv: false, args: ['--innodb-buffer-pool-size=512M'] }),
      startMariadb({ useEnv: false, args: ['--innodb-buffer-pool-size=512M'] }),
    ]);
  const slots = [];
  let pgStart;
  let myStart;
  if (paths.some((p) => p.startsWith('pg')) || (read && usesPg)) {
    const url = servers.pgS.url;
    await pgq(url, `CREATE TABLE public.${TABLE} (${ACCOUNT_COLUMNS.postgres})`);
    await pgq(url, `CREATE PUBLICATION probe FOR TABLE public.${TABLE}`);
    for (let i = 0; i < runs * (paths.length + 2); i++) {
      await pgq(url, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [`probe_${i}`]);
      slots.push(`probe_${i}`);
    }
    const [lsn] = await pgq(url, 'SELECT pg_current_wal_lsn()::text AS lsn');
    pgStart = pgOffsets.toJSON(pgPositionAt(parseLsn(lsn.lsn)));
    await pgq(url, workloadSql('postgres', `public.${TABLE}`, w));
  }
  if (paths.some((p) => p.startsWith('my'))) {
    const url = servers.myS.url;
    await myq(url, `CREATE TABLE ${TABLE} (${ACCOUNT_COLUMNS.mysql})`);
    await myq(url, workloadSql('mysql', TABLE, w));
    await myq(url, 'FLUSH BINARY LOGS');
    const [st] = await myq(url, 'SHOW MASTER STATUS');
    myStart = mysqlOffsets.toJSON(myPositionAt(st.File, Number(st.Position)));
    await myq(url, 'CALL bench_e2e_write()');
  }
  for (const t of [servers.pgT, servers.myT]) {
    if (!t) continue;
    if (t.kind === 'postgres') await pgq(t.url, `CREATE TABLE public.${TABLE} (${ACCOUNT_COLUMNS.postgres})`);
    else await myq(t.url, `CREATE TABLE ${TABLE} (${ACCOUNT_COLUMNS.mysql})`);
  }
  log(`workload: ${w.changes} changes`);
  const adapterFor = (source) =>
    source === 'pg'
      ? postgresAdapter({
          connection: servers.pgS.url,
          slotName: slots.shift(),
          publicationName: 'probe',
          createSlot: false,
          createPublication: false,
          dropSlotOnClose: true,
        })
      : mysqlAdapter({ connection: servers.myS.url });
  const tableOf = (source) => (source === 'pg' ? `public.${TABLE}` : `${servers.myS.database}.${TABLE}`);
  const startOf = (source) => (source === 'pg' ? pgStart : myStart);

  async function readOnly(source) {
    const adapter = adapterFor(source);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const sc = cpus(servers);
    const s = createSource({
      adapter,
      tables: { include: [tableOf(source)] },
      startup: { mode: 'offset', offset: startOf(source) },
    });
    let n = 0;
    for await (const b of s) {
      for (const e of b.events) if (e.kind === 'change') n++;
      if (n >= w.changes) break;
    }
    const sec = (performance.now() - started) / 1000;
    const c = process.cpuUsage(cpu);
    await s.close();
    log(`   µs/event: node ${((c.user + c.system) / w.changes).toFixed(2)} ${cpuDiff(sc, cpus(servers), w.changes)}`);
    log(
      `read ${source}: ${(n / sec / 1000).toFixed(0)} k/s wall ${sec.toFixed(2)} s cpu ${((c.user + c.system) / 1e6).toFixed(2)} s`,
    );
  }

  async function pipelineRun(path) {
    const [source, target] = path.split('-');
    const targetUrl = target === 'pg' ? servers.pgT.url : servers.myT.url;
    if (target === 'pg') await pgq(targetUrl, 'DROP SCHEMA IF EXISTS hw CASCADE');
    else await myq(targetUrl, 'DROP DATABASE IF EXISTS hw');
    const adapter = adapterFor(source);
    const describer = sourceTableDescriber(adapter, { tables: { include: [tableOf(source)] } });
    const context = { pipelineName: 'probe', logger, ...describer };
    const config = { connection: targetUrl, schema: 'hw', createTables: true };
    const inner = target === 'pg' ? postgresSink(config, context) : mysqlSink(config, context);
    let written = 0;
    let writes = 0;
    let writeMs = 0;
    let firstAt = 0;
    let doneAt = 0;
    const sizes = [];
    let runner;
    const sink = {
      name: inner.name,
      storesCheckpoints: true,
      open: () => inner.open(),
      close: async () => {
        await inner.close();
        await describer.close();
      },
      write: async (batch) => {
        const t0 = performance.now();
        if (firstAt === 0) firstAt = t0;
        await inner.write(batch);
        writeMs += performance.now() - t0;
        writes++;
        sizes.push(batch.events.length);
        for (const e of batch.events) if (e.kind === 'change') written++;
        if (written >= w.changes && doneAt === 0) {
          doneAt = performance.now();
          runner.stop();
        }
      },
    };
    runner = new PipelineRunner({
      adapter,
      source: { tables: { include: [tableOf(source)] }, startup: { mode: 'offset', offset: startOf(source) } },
      sink,
      logger,
      restart: { attempts: 0, initialDelayMs: 0, maxDelayMs: 0 },
      joinWaitingBatches: true,
    });
    const started = performance.now();
    const cpu = process.cpuUsage();
    const sc = cpus(servers);
    await runner.run();
    const c = process.cpuUsage(cpu);
    log(`   µs/event: node ${((c.user + c.system) / w.changes).toFixed(2)} ${cpuDiff(sc, cpus(servers), w.changes)}`);
    const sec = (doneAt - started) / 1000;
    const streamSec = (doneAt - firstAt) / 1000;
    sizes.sort((a, b) => a - b);
    log(
      `${path}: ${(w.changes / sec / 1000).toFixed(0)} k/s (from first write ${(w.changes / streamSec / 1000).toFixed(0)} k/s) wall ${sec.toFixed(2)} s cpu ${((c.user + c.system) / 1e6).toFixed(2)} s; writes ${writes} (median ${sizes[sizes.length >> 1]} events, max ${sizes[sizes.length - 1]}), in write ${(writeMs / 1000).toFixed(2)} s`,
    );
  }

  for (let r = 0; r < runs; r++) {
    for (const path of paths) {
      const [source, target] = path.split('-');
      if (read) await readOnly(source);
      let session;
      if (prof && r === runs - 1) {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      await pipelineRun(path);
      dumpTimes();
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(`${prof}/${path}.cpuprofile`, JSON.stringify(profile));
        session.disconnect();
      }
      if (bare) {
        const sc = cpus(servers);
        const cpu = process.cpuUsage();
        const m = await bareApply(
          target === 'pg' ? 'postgres' : 'mysql',
          target === 'pg' ? servers.pgT.url : servers.myT.url,
          target === 'pg' ? `public.${TABLE}` : TABLE,
          w,
        );
        const c = process.cpuUsage(cpu);
        log(
          `bare ${target}: ${(w.changes / m.seconds / 1000).toFixed(0)} k/s   µs/event: node ${((c.user + c.system) / w.changes).toFixed(2)} ${cpuDiff(sc, cpus(servers), w.changes)}`,
        );
        if (target === 'pg') await pgq(servers.pgT.url, `TRUNCATE public.${TABLE}`);
        else await myq(servers.myT.url, `TRUNCATE ${TABLE}`);
      }
    }
  }
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}
