import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, startPostgres, type ThrowawayNats, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { assertBuilt, RunningPipeline, sleep, until } from '../e2e/cli.js';
import { sql } from '../e2e/target-db.js';

/** One `highwater run` member process of a clustered pipeline (no metrics endpoint). */
export class Member extends RunningPipeline {
  constructor(file: string) {
    super(file, 0);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The member id the process gives itself (`<host>-<pid>`) ends with this. */
  get idSuffix(): string {
    return `-${this.pid}`;
  }
}

/** A chunk record as the cluster stores it (the fields the tests read). */
export interface ChunkRecordView {
  readonly key: string;
  readonly state: 'reading' | 'done';
  readonly member: string;
  readonly attempts: number;
}

/** Reads the cluster's KV buckets from outside, as an operator would. */
export class ClusterProbe {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly id: string,
  ) {}

  static async open(url: string, pipeline: string): Promise<ClusterProbe> {
    return new ClusterProbe(await connect({ servers: url }), pipeline.replace(/_/g, '__').replace(/\./g, '_d'));
  }

  async leader(): Promise<string | null> {
    return this.orNull(() => this.readLeader());
  }

  /** The members have not created the buckets yet: nothing to see. */
  private async orNull<T>(read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof Error && /stream not found/i.test(error.message)) return null;
      throw error;
    }
  }

  private async readLeader(): Promise<string | null> {
    const kv = await new Kvm(this.nc).open(`hw_${this.id}_lease`);
    const entry = await kv.get('leader');
    return entry === null || entry.operation !== 'PUT' ? null : entry.json<{ member: string }>().member;
  }

  async chunks(): Promise<ChunkRecordView[]> {
    return (await this.orNull(() => this.readChunks())) ?? [];
  }

  private async readChunks(): Promise<ChunkRecordView[]> {
    const kv = await new Kvm(this.nc).open(`hw_${this.id}_state`);
    const keys: string[] = [];
    for await (const key of await kv.keys('chunk.>')) keys.push(key);
    const out: ChunkRecordView[] = [];
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry !== null && entry.operation === 'PUT') out.push({ key, ...entry.json<Omit<ChunkRecordView, 'key'>>() });
    }
    return out;
  }

  /** The checkpoint's table phases, or null before the first one. */
  async phases(): Promise<Record<string, string> | null> {
    return this.orNull(() => this.readPhases());
  }

  private async readPhases(): Promise<Record<string, string> | null> {
    const kv = await new Kvm(this.nc).open(`hw_${this.id}_state`);
    const entry = await kv.get('checkpoint');
    if (entry === null || entry.operation !== 'PUT') return null;
    const checkpoint = entry.json<{ tables: Record<string, { phase: string }> }>();
    return Object.fromEntries(Object.entries(checkpoint.tables).map(([t, s]) => [t, s.phase]));
  }

  /** Messages the log stream holds now. */
  async logMessages(): Promise<number> {
    const jsm = await jetstreamManager(this.nc);
    return (await jsm.streams.info(`HW_${this.id}_LOG`)).state.messages;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** The rows of one query. */
export async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  return sql<T>(url, [text]);
}

/** Random inserts, updates (some moving a row's key) and deletes on `cluster.items` until stopped. */
export class Writer {
  private stopped = false;
  private done: Promise<void> | null = null;
  writes = 0;

  constructor(
    private readonly url: string,
    private readonly keys: number,
  ) {}

  start(): void {
    this.done = (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('error', () => undefined);
      await client.connect();
      let seed = 17;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      try {
        while (!this.stopped) {
          const id = rand(this.keys * 2);
          switch (rand(4)) {
            case 0:
              await client.query(
                'INSERT INTO cluster.items (id, v, n) VALUES ($1, $2, 0) ON CONFLICT (id) DO NOTHING',
                [id, `new ${id}`],
              );
              break;
            case 1:
              await client.query('UPDATE cluster.items SET n = n + 1, v = $2 WHERE id = $1', [
                id,
                `upd ${this.writes}`,
              ]);
              break;
            case 2:
              await client.query('DELETE FROM cluster.items WHERE id = $1', [id]);
              break;
            default:
              // Moves a row to a free key, possibly into another chunk.
              await client.query(
                'UPDATE cluster.items SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM cluster.items WHERE id = $2)',
                [id, rand(this.keys * 2)],
              );
          }
          this.writes++;
          await sleep(5);
        }
      } finally {
        await client.end();
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/**
 * A pipeline file of `cluster.*` from `sourceUrl` into `targetUrl` run through NATS; `extra` are
 * top-level lines, `sourceExtra` lines of `source:`, `sinkExtra` lines of `sink:`.
 */
export async function writePipeline(
  dir: string,
  name: string,
  sourceUrl: string,
  targetUrl: string,
  natsUrl: string,
  extra: readonly string[] = [],
  sourceExtra: readonly string[] = [],
  sinkExtra: readonly string[] = [],
): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      `name: ${name}`,
      'source:',
      '  adapter: postgres',
      `  connection: '${sourceUrl}'`,
      "  tables: { include: ['cluster.*'] }",
      '  chunkSize: 250',
      '  parallelism: 2',
      `  options: { slotName: ${name.replace(/[^a-z0-9_]/g, '_')}, publicationName: ${name.replace(/[^a-z0-9_]/g, '_')} }`,
      ...sourceExtra,
      'sink:',
      '  type: postgres',
      `  connection: '${targetUrl}'`,
      '  schema: public',
      ...sinkExtra,
      'cluster:',
      `  nats: { url: '${natsUrl}', ackWaitMs: 3000, leaseTtlMs: 3000 }`,
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}

/** What a describe block of cluster tests shares: a Postgres, a NATS, a directory, its member processes. */
export interface ClusterServers {
  readonly pg: ThrowawayPostgres;
  readonly nats: ThrowawayNats;
  readonly dir: string;
  /** Every member process started; SIGKILLed after the block. */
  readonly members: Member[];
}

/**
 * Starts a throwaway Postgres and nats-server before the describe block it is called in and stops
 * them (and SIGKILLs every member left) after it, also when a test failed.
 */
export function useClusterServers(): ClusterServers {
  const shared = { members: [] as Member[] } as {
    pg: ThrowawayPostgres;
    nats: ThrowawayNats;
    dir: string;
    members: Member[];
  };
  beforeAll(async () => {
    assertBuilt();
    [shared.pg, shared.nats] = await Promise.all([startPostgres({ useEnv: false }), startNats({ useEnv: false })]);
    shared.dir = await mkdtemp(join(tmpdir(), 'highwater-cluster-'));
  });
  afterAll(async () => {
    await Promise.all(shared.members.map((m) => m.kill('SIGKILL')));
    await shared.nats?.stop();
    await shared.pg?.stop();
    if (shared.dir !== undefined) await rm(shared.dir, { recursive: true, force: true });
  });
  return shared;
}

/**
 * A source and a target database `<name>_src` / `<name>_dst` of the throwaway server at `serverUrl`,
 * the source with `cluster.items (id, v, n)` of `rows` rows (`extraColumns`: more column definitions,
 * left at their defaults).
 */
export async function sourceAndTarget(
  serverUrl: string,
  name: string,
  rows: number,
  extraColumns: readonly string[] = [],
): Promise<{ source: string; target: string }> {
  await query(serverUrl, `CREATE DATABASE ${name}_src`);
  await query(serverUrl, `CREATE DATABASE ${name}_dst`);
  const source = serverUrl.replace(/\/postgres$/, `/${name}_src`);
  const target = serverUrl.replace(/\/postgres$/, `/${name}_dst`);
  const columns = ['id int PRIMARY KEY', 'v text NOT NULL', 'n int NOT NULL', ...extraColumns].join(', ');
  await query(source, 'CREATE SCHEMA cluster');
  await query(source, `CREATE TABLE cluster.items (${columns})`);
  await query(
    source,
    `INSERT INTO cluster.items (id, v, n) SELECT g, 'row ' || g, 0 FROM generate_series(1, ${rows}) g`,
  );
  return { source, target };
}

/**
 * Inserts a sentinel row into `cluster.items` and waits until the target has it: the leader has then
 * applied every change before it. `failed` turns a timeout into an error that says more.
 */
export async function untilSentinel(
  source: string,
  target: string,
  failed: (error: unknown) => never = (error) => {
    throw error;
  },
): Promise<void> {
  await query(source, "INSERT INTO cluster.items (id, v, n) VALUES (-1, 'sentinel', 0)");
  await until(
    'the sentinel in the target',
    async () => (await query(target, 'SELECT 1 FROM public.items WHERE id = -1')).length === 1,
    { timeoutMs: 120_000 },
  ).catch(failed);
}

/** Waits until at least `count` chunk records say done. */
export async function untilChunksDone(
  probe: ClusterProbe,
  count: number,
  failed: (error: unknown) => never,
  timeoutMs = 120_000,
): Promise<void> {
  await until(
    `${count} chunks done`,
    async () => (await probe.chunks()).filter((c) => c.state === 'done').length >= count,
    { timeoutMs },
  ).catch(failed);
}
