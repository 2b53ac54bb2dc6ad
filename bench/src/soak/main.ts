/**
 * `npm run soak`: replicated write workloads under faults, then an exact comparison of source and
 * target. Postgres (pgbench TPC-B plus an OLTP writer) → Postgres and → a file; MariaDB (TPC-B-like
 * and OLTP writer) → MariaDB and → Postgres. While the writers run, the soak SIGKILLs `highwater run`
 * (in the snapshot and in the stream) and starts it again, terminates the replication session on the
 * source, and restarts or crashes the source server. Then it stops the writers, waits for every
 * pipeline to catch up and compares every row by key (and `highwater verify` for table targets).
 * Exit 0 when every path ends equal, 1 otherwise; the work directory is kept on a divergence.
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  pickFreePort,
  startMariadb,
  startPostgres,
  type ThrowawayMariadb,
  type ThrowawayPostgres,
} from '@highwater/test-servers';
import { connect, runSql } from './connections.js';
import { diffRows, readRows, replayFile, type TableDiff, type TableShape, tableShape } from './compare.js';
import { SupervisedPipeline, verify } from './pipeline.js';
import { Random } from './random.js';
import { createSourceTables, OltpWriter, PgbenchLoop } from './workload.js';

type PathName = 'pg-pg' | 'pg-file' | 'my-my' | 'my-pg';
const ALL_PATHS: readonly PathName[] = ['pg-pg', 'pg-file', 'my-my', 'my-pg'];

interface Options {
  readonly durationS: number;
  readonly faults: number;
  readonly seed: number;
  readonly scale: number;
  readonly snapshotKills: number;
  readonly catchUpS: number;
  readonly paths: readonly PathName[];
  readonly keep: boolean;
  /** Changes every target by one row (one duplicated event in the file) before the final comparison: every path must then diverge. */
  readonly selfCheck: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (match === null)
      throw new Error(
        `soak: unknown argument ${arg} (flags: --duration=S --faults=N --seed=N --scale=N --snapshot-kills=N --paths=pg-pg,pg-file,my-my,my-pg --long --keep --self-check)`,
      );
    flags.set(match[1] as string, match[2] ?? 'true');
  }
  const long = flags.has('long');
  const number = (name: string, fallback: number) => {
    const raw = flags.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`soak: --${name} must be a whole number, got ${raw}`);
    return n;
  };
  const paths = (flags.get('paths') ?? ALL_PATHS.join(',')).split(',') as PathName[];
  for (const p of paths)
    if (!ALL_PATHS.includes(p)) throw new Error(`soak: unknown path ${p} (${ALL_PATHS.join(', ')})`);
  return {
    durationS: number('duration', long ? 900 : 120),
    faults: number('faults', long ? 150 : 24),
    seed: number('seed', Math.floor(Math.random() * 1_000_000)),
    scale: number('scale', long ? 4 : 1),
    snapshotKills: number('snapshot-kills', long ? 4 : 2),
    catchUpS: number('catch-up', 300),
    paths,
    keep: flags.has('keep'),
    selfCheck: flags.has('self-check'),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const random = new Random(options.seed);
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) / 100) / 10;
  const log = (text: string) => console.log(`[${elapsed().toFixed(1).padStart(6)} s] ${text}`);
  const usesPg = options.paths.some((p) => p.startsWith('pg-'));
  const usesMy = options.paths.some((p) => p.startsWith('my-'));
  log(
    `soak: seed ${options.seed}, ${options.durationS} s of faults (${options.faults}), pgbench scale ${options.scale}, paths ${options.paths.join(' ')}, load ${loadavg()[0]?.toFixed(1)}`,
  );

  const dir = await mkdtemp(join(tmpdir(), 'hw-soak-'));
  const servers: {
    srcPg?: ThrowawayPostgres;
    tgtPg?: ThrowawayPostgres;
    srcMy?: ThrowawayMariadb;
    tgtMy?: ThrowawayMariadb;
  } = {};
  const pipelines = new Map<PathName, SupervisedPipeline>();
  let diverged = true;
  try {
    const needTgtPg = options.paths.includes('pg-pg') || options.paths.includes('my-pg');
    [servers.srcPg, servers.tgtPg, servers.srcMy, servers.tgtMy] = await Promise.all([
      usesPg ? startPostgres({ useEnv: false }) : undefined,
      needTgtPg ? startPostgres({ useEnv: false }) : undefined,
      usesMy ? startMariadb({ useEnv: false }) : undefined,
      options.paths.includes('my-my') ? startMariadb({ useEnv: false }) : undefined,
    ]);
    const { srcPg, tgtPg, srcMy, tgtMy } = servers;
    log('servers up');
    if (srcPg !== undefined) {
      await PgbenchLoop.initialise('/usr/bin/pgbench', srcPg.url, options.scale);
      await createSourceTables('postgres', srcPg.url);
    }
    if (srcMy !== undefined) await createSourceTables('mysql', srcMy.url);
    log('source tables loaded');

    const pgbench = srcPg !== undefined ? new PgbenchLoop('/usr/bin/pgbench', srcPg.url, 4) : undefined;
    const pgWriter = srcPg !== undefined ? new OltpWriter('postgres', srcPg.url, random, 2, false) : undefined;
    const myWriter = srcMy !== undefined ? new OltpWriter('mysql', srcMy.url, random, 3, true) : undefined;

    const restart = 'restart: { attempts: 1000, initialDelayMs: 200, maxDelayMs: 2000 }';
    const pgSource = (name: string) => [
      `name: ${name}`,
      'source:',
      '  adapter: postgres',
      `  connection: '${srcPg?.url}'`,
      "  tables: { include: ['public.pgbench_*', 'soak.items'] }",
      '  chunkSize: 1000',
      '  parallelism: 2',
    ];
    const mySource = (name: string, serverId: number) => [
      `name: ${name}`,
      'source:',
      '  adapter: mysql',
      `  connection: '${srcMy?.url}'`,
      "  tables: { include: ['soak.*'] }",
      '  chunkSize: 1000',
      '  parallelism: 2',
      `  options: { serverId: ${serverId} }`,
    ];
    const sinks: Record<PathName, string[]> = {
      'pg-pg': [
        ...pgSource('soak_pg_pg'),
        'sink:',
        '  type: postgres',
        `  connection: '${tgtPg?.url}'`,
        '  schema: pgpg',
      ],
      'pg-file': [...pgSource('soak_pg_file'), 'sink:', '  type: file', '  path: pg-file.jsonl'],
      'my-my': [
        ...mySource('soak_my_my', 1001),
        'sink:',
        '  type: mysql',
        `  connection: '${tgtMy?.url}'`,
        '  schema: mymy',
      ],
      'my-pg': [
        ...mySource('soak_my_pg', 1002),
        'sink:',
        '  type: postgres',
        `  connection: '${tgtPg?.url}'`,
        '  schema: mypg',
      ],
    };
    for (const path of options.paths) {
      const port = await pickFreePort();
      const yaml = [...sinks[path], `metrics: { port: ${port} }`, restart, ''].join('\n');
      const pipeline = await SupervisedPipeline.create(path, join(dir, `${path}.yaml`), yaml, port, started);
      pipelines.set(path, pipeline);
      pipeline.start();
    }
    log(`pipelines started: ${[...pipelines.keys()].join(' ')}`);

    // Kills in the snapshot: each pipeline, while it reports `snapshot`, a few times at a random moment.
    const snapshotKillers = [...pipelines.values()].map(async (p) => {
      for (let i = 0; i < options.snapshotKills; i++) {
        const deadline = performance.now() + 120_000;
        let state = await p.state();
        while (performance.now() < deadline && state !== 'snapshot' && state !== 'stream') {
          await sleep(100);
          state = await p.state();
        }
        if (state !== 'snapshot') return;
        await sleep(random.between(300, 3_000));
        const killedIn = await p.sigkill(random.int(0, 1_500));
        log(`SIGKILL ${p.name} (in ${killedIn})`);
      }
    });

    // Faults for the duration.
    const faults = { sigkill: 0, replication: 0, restart: 0, crash: 0 };
    const faultLog: string[] = [];
    const deadline = performance.now() + options.durationS * 1000;
    const gap = (options.durationS * 1000) / Math.max(options.faults, 1);
    while (performance.now() < deadline) {
      await sleep(Math.min(random.between(gap * 0.5, gap * 1.5), Math.max(deadline - performance.now(), 0)));
      if (performance.now() >= deadline) break;
      const roll = random.next();
      let text: string;
      try {
        if (roll < 0.5) {
          const p = random.pick([...pipelines.values()]);
          const killedIn = await p.sigkill(random.int(0, 2_000));
          text = `SIGKILL ${p.name} (in ${killedIn})`;
          if (killedIn !== 'not running' && killedIn !== 'being killed already') faults.sigkill++;
        } else if (roll < 0.75) {
          const server = random.pick([srcPg, srcMy].filter((s) => s !== undefined));
          const killed = await killReplication(server);
          text = `replication sessions killed on ${server.kind}: ${killed}`;
          faults.replication++;
        } else {
          const server = random.pick([srcPg, srcMy].filter((s) => s !== undefined));
          if (random.next() < 0.5) {
            await server.restart();
            text = `${server.kind} source restarted`;
            faults.restart++;
          } else {
            await server.kill();
            await sleep(random.int(0, 1_500));
            await server.restart();
            text = `${server.kind} source crashed (SIGKILL) and started again`;
            faults.crash++;
          }
        }
      } catch (error) {
        text = `fault failed: ${(error as Error).message}`;
      }
      faultLog.push(`${elapsed()} s ${text}`);
      log(text);
    }
    await Promise.all(snapshotKillers);
    log('faults over; stopping the writers');
    await Promise.all([pgbench?.stop(), pgWriter?.stop(), myWriter?.stop()]);
    const writes = {
      pgbench: pgbench === undefined ? undefined : { transactions: pgbench.transactions, runs: pgbench.runs },
      pgWriter: pgWriter?.counts,
      myWriter: myWriter?.counts,
    };
    log(`writers stopped: ${JSON.stringify(writes)}`);

    // Catch up: compare until every path is equal or the time is up.
    const shapes = await sourceShapes(servers);
    const catchUpDeadline = performance.now() + options.catchUpS * 1000;
    let results = new Map<PathName, TableDiff[]>();
    for (;;) {
      results = await compareAll(options.paths, servers, shapes, dir);
      const pending = [...results].filter(([, diffs]) => diffs.some((d) => !d.equal)).map(([p]) => p);
      if (pending.length === 0 || performance.now() > catchUpDeadline) break;
      log(`not equal yet: ${pending.join(' ')}`);
      await sleep(5_000);
    }
    for (const p of pipelines.values()) await p.stop();
    if (options.selfCheck) await tamper(options.paths, servers, dir);
    const verified = new Map<PathName, { code: number | null; output: string }>();
    for (const path of options.paths)
      if (path !== 'pg-file') verified.set(path, await verify(join(dir, `${path}.yaml`)));
    results = await compareAll(options.paths, servers, shapes, dir);

    // Report.
    console.log('\n=== soak report ===');
    console.log(
      `seed ${options.seed}, ${elapsed()} s in all, load now ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(`faults: ${JSON.stringify(faults)}; writes: ${JSON.stringify(writes)}`);
    diverged = false;
    for (const [path, diffs] of results) {
      const p = pipelines.get(path);
      const v = verified.get(path);
      const equal = diffs.every((d) => d.equal) && (v === undefined || v.code === 0);
      if (!equal) diverged = true;
      console.log(
        `${equal ? 'EQUAL    ' : 'DIVERGED '} ${path}: ${diffs.map((d) => `${d.table} ${d.sourceRows}/${d.targetRows} rows ${d.checksum}`).join(', ')}; ` +
          `SIGKILLs ${p?.killsInSnapshot.length ?? 0} in snapshot, ${p?.killsInStream.length ?? 0} in stream, ${p?.killsStarting.length ?? 0} starting; starts ${p?.starts}; ` +
          `verify ${v === undefined ? 'n/a (file: replayed)' : v.code === 0 ? 'equal' : `exit ${v.code}`}`,
      );
      for (const d of diffs.filter((x) => !x.equal)) {
        console.log(
          `  ${d.table}: ${d.missing.length} missing, ${d.extra.length} extra, ${d.different.length} different, ${d.duplicates ?? 0} duplicated events`,
        );
        for (const k of d.missing.slice(0, 5)) console.log(`    missing ${k}`);
        for (const k of d.extra.slice(0, 5)) console.log(`    extra ${k}`);
        for (const k of d.different.slice(0, 5)) console.log(`    different ${k}`);
      }
      if (v !== undefined && v.code !== 0)
        console.log(
          v.output
            .trimEnd()
            .split('\n')
            .slice(-15)
            .map((l) => `  verify: ${l}`)
            .join('\n'),
        );
      for (const e of p?.ownExits ?? [])
        console.log(`  pipeline exited by itself: ${e.split('\n').join('\n    ').slice(0, 3_000)}`);
    }
    console.log(`faults in order:\n  ${faultLog.join('\n  ')}`);
    if (options.selfCheck) {
      const missed = [...results].filter(
        ([path, diffs]) => diffs.every((d) => d.equal) && verified.get(path)?.code !== 1,
      );
      console.log(
        `self-check: ${missed.length === 0 ? 'the planted difference was found on every path' : `NOT found on ${missed.map(([p]) => p).join(' ')}`}`,
      );
      diverged = missed.length > 0;
      return diverged ? 1 : 0;
    }
    if (diverged)
      console.log(
        `reproduce: npm run soak -- --seed=${options.seed} --duration=${options.durationS} --faults=${options.faults} --scale=${options.scale} --paths=${options.paths.join(',')} (work directory kept: ${dir}; the schedule is seeded, the timing is not)`,
      );
    return diverged ? 1 : 0;
  } finally {
    for (const p of pipelines.values()) await p.stop();
    await Promise.all([servers.srcPg?.stop(), servers.tgtPg?.stop(), servers.srcMy?.stop(), servers.tgtMy?.stop()]);
    if (!diverged && !options.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** Plants one difference per path: a changed, a deleted and a deleted row in the table targets, a repeated streamed event in the file. */
async function tamper(
  paths: readonly PathName[],
  servers: { tgtPg?: ThrowawayPostgres; tgtMy?: ThrowawayMariadb },
  dir: string,
): Promise<void> {
  const pgUrl = servers.tgtPg?.url ?? '';
  if (paths.includes('pg-pg'))
    await runSql('postgres', pgUrl, ['UPDATE pgpg.pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1']);
  if (paths.includes('my-pg'))
    await runSql('postgres', pgUrl, ['DELETE FROM mypg.items WHERE id = (SELECT min(id) FROM mypg.items)']);
  if (paths.includes('my-my'))
    await runSql('mysql', servers.tgtMy?.url ?? '', ['DELETE FROM mymy.items ORDER BY id LIMIT 1']);
  if (paths.includes('pg-file')) {
    const file = join(dir, 'pg-file.jsonl');
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const streamed = lines.findLast((l) => l.includes('"snapshot":false') && l.includes('"kind":"change"'));
    if (streamed !== undefined) await appendFile(file, `${streamed}\n`);
  }
}

/** Ends the source's replication sessions from the server side: walsenders on Postgres, binlog dump threads on MariaDB. */
async function killReplication(server: ThrowawayPostgres | ThrowawayMariadb): Promise<number> {
  if (server.kind === 'postgres') {
    const rows = await runSql('postgres', server.url, [
      "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE backend_type = 'walsender'",
    ]);
    return rows.length;
  }
  const db = await connect('mysql', server.url);
  try {
    const rows = await db.query("SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'");
    for (const row of rows) await db.query(`KILL ${Number(row.id)}`).catch(() => {});
    return rows.length;
  } finally {
    await db.close();
  }
}

interface Shapes {
  readonly pg: TableShape[];
  readonly my: TableShape[];
}

async function sourceShapes(servers: { srcPg?: ThrowawayPostgres; srcMy?: ThrowawayMariadb }): Promise<Shapes> {
  const pg: TableShape[] = [];
  const my: TableShape[] = [];
  if (servers.srcPg !== undefined) {
    const db = await connect('postgres', servers.srcPg.url);
    for (const name of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'])
      pg.push(await tableShape(db, 'public', name));
    pg.push(await tableShape(db, 'soak', 'items'));
    await db.close();
  }
  if (servers.srcMy !== undefined) {
    const db = await connect('mysql', servers.srcMy.url);
    for (const name of ['items', 'accounts', 'tellers', 'branches', 'history'])
      my.push(await tableShape(db, 'soak', name));
    await db.close();
  }
  return { pg, my };
}

async function compareAll(
  paths: readonly PathName[],
  servers: { srcPg?: ThrowawayPostgres; tgtPg?: ThrowawayPostgres; srcMy?: ThrowawayMariadb; tgtMy?: ThrowawayMariadb },
  shapes: Shapes,
  dir: string,
): Promise<Map<PathName, TableDiff[]>> {
  const results = new Map<PathName, TableDiff[]>();
  for (const path of paths) {
    const fromPg = path.startsWith('pg-');
    const source = await connect(fromPg ? 'postgres' : 'mysql', (fromPg ? servers.srcPg : servers.srcMy)?.url ?? '');
    const diffs: TableDiff[] = [];
    try {
      const tableShapes = fromPg ? shapes.pg : shapes.my;
      if (path === 'pg-file') {
        const replay = await replayFile(join(dir, 'pg-file.jsonl'), tableShapes).catch(() => undefined);
        for (const shape of tableShapes) {
          const key = `${shape.schema}.${shape.name}`;
          const rows = await readRows(source, shape, shape.schema, shape.name);
          diffs.push(diffRows(key, rows, replay?.tables.get(key) ?? new Map(), replay?.duplicates.get(key) ?? 0));
        }
      } else {
        const targetIsPg = path.endsWith('-pg');
        const target = await connect(
          targetIsPg ? 'postgres' : 'mysql',
          (targetIsPg ? servers.tgtPg : servers.tgtMy)?.url ?? '',
        );
        const schema = { 'pg-pg': 'pgpg', 'my-my': 'mymy', 'my-pg': 'mypg' }[path];
        try {
          for (const shape of tableShapes) {
            const rows = await readRows(source, shape, shape.schema, shape.name);
            const copy = await readRows(target, shape, schema, shape.name).catch(() => new Map<string, string>());
            diffs.push(diffRows(`${shape.schema}.${shape.name}`, rows, copy));
          }
        } finally {
          await target.close();
        }
      }
    } finally {
      await source.close();
    }
    results.set(path, diffs);
  }
  return results;
}

process.exitCode = await main();
