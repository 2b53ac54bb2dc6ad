import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterNames } from '@highwater/cluster';
import { startNats, startPostgres } from '@highwater/test-servers';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

const MEMBER = fileURLToPath(new URL('./member-process.js', import.meta.url));

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * Proof of scaling on a machine where real parallel speed-up cannot show (2 shared cores): the same
 * snapshot of `chunks` chunks read by 1, 2 and 4 member processes (one chunk reader each) from a
 * Postgres whose chunk reads are throttled by `throttleMs` each (a simulated slow source), into a
 * Postgres target, through a throwaway nats-server. The time from the start signal to the
 * checkpoint in NATS saying the snapshot is stored should fall close to 1/N; the limit side is that
 * ideal, `chunks × throttleMs / N`.
 */
export async function clusterScalingBenchmark(quick: boolean, log: (line: string) => void): Promise<string> {
  const chunks = quick ? 16 : 48;
  const chunkSize = 200;
  const throttleMs = quick ? 200 : 400;
  const [server, nats] = await Promise.all([startPostgres({ useEnv: false }), startNats({ useEnv: false })]);
  const dir = mkdtempSync(join(tmpdir(), 'highwater-cluster-bench-'));
  const rows: string[] = [
    '| member processes | snapshot time | ideal (chunks × throttle / N) | ideal ÷ time | speed-up vs 1 |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  const nc = await connect({ servers: nats.url });
  try {
    await sql(server.url, 'CREATE DATABASE target');
    const targetUrl = server.url.replace(/\/postgres$/, '/target');
    await sql(server.url, 'CREATE SCHEMA bench');
    await sql(server.url, 'CREATE TABLE bench.items (id int PRIMARY KEY, v text NOT NULL)');
    await sql(
      server.url,
      `INSERT INTO bench.items SELECT g, 'row ' || g FROM generate_series(1, ${chunks * chunkSize}) g`,
    );
    let single = 0;
    for (const n of [1, 2, 4]) {
      const pipeline = `scale${n}`;
      await sql(targetUrl, `CREATE SCHEMA ${pipeline}`);
      const goFile = join(dir, `${pipeline}.go`);
      const config = {
        pipeline,
        natsUrl: nats.url,
        sourceUrl: server.url,
        targetUrl,
        targetSchema: pipeline,
        slot: pipeline,
        chunkSize,
        throttleMs,
        goFile,
      };
      log(`cluster scaling: ${n} member process${n === 1 ? '' : 'es'}…`);
      const members: ChildProcess[] = [];
      const ready: Promise<void>[] = [];
      let output = '';
      for (let i = 0; i < n; i++) {
        const child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: 'pipe' });
        members.push(child);
        child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
        ready.push(
          new Promise((resolve, reject) => {
            child.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
            child.once('exit', (code) => reject(new Error(`member exited with ${code}: ${output}`)));
          }),
        );
      }
      await Promise.all(ready);
      const started = performance.now();
      writeFileSync(goFile, '');
      const names = clusterNames(pipeline);
      for (;;) {
        const kv = await new Kvm(nc).open(names.stateBucket).catch(() => null);
        const entry = await kv?.get('checkpoint').catch(() => null);
        if (entry != null && entry.operation === 'PUT') {
          const tables = Object.values(entry.json<{ tables: Record<string, { phase: string }> }>().tables);
          if (tables.length > 0 && tables.every((t) => t.phase === 'stream')) break;
        }
        if (performance.now() - started > 600_000)
          throw new Error(`cluster scaling ${n}: no end in 10 minutes\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const seconds = (performance.now() - started) / 1000;
      for (const child of members) child.kill('SIGTERM');
      await Promise.all(
        members.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve)))),
      );
      if (n === 1) single = seconds;
      const ideal = (chunks * throttleMs) / 1000 / n;
      rows.push(
        `| ${n} | ${seconds.toFixed(2)} s | ${ideal.toFixed(2)} s | ${(ideal / seconds).toFixed(2)} | ${(single / seconds).toFixed(2)}× |`,
      );
    }
    rows.push(
      '',
      `${chunks} chunks of ${chunkSize} rows, each chunk read delayed by ${throttleMs} ms; one chunk reader per member.`,
    );
    return rows.join('\n');
  } finally {
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
    await nats.stop();
    await server.stop();
  }
}
