/**
 * One member process of the cluster scaling benchmark (started by `scaling.ts`, not by hand):
 * `node member-process.js <config json>`. A cluster member over a Postgres source whose chunk reads
 * are throttled (each chunk waits `throttleMs` before its rows come: a simulated slow source), writing
 * into a Postgres target; as leader it runs the core source with `remoteChunks` into the same target.
 * Prints `ready` once connected and starts when the file `goFile` exists.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterMember, leadSource } from '@highwater/cluster';
import type { ChunkReader, SourceAdapter, TableSchema } from '@highwater/core';
import { type PgOffset, postgresAdapter } from '@highwater/postgres';
import { postgresSink } from '@highwater/sink-postgres';

interface MemberConfig {
  readonly pipeline: string;
  readonly natsUrl: string;
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly targetSchema: string;
  readonly slot: string;
  readonly chunkSize: number;
  readonly throttleMs: number;
  readonly goFile: string;
}

const config = JSON.parse(process.argv[2] as string) as MemberConfig;
const TABLES = { include: ['bench.items'] };

/** The adapter with every chunk read delayed by `ms`. */
function throttled<O>(adapter: SourceAdapter<O>, ms: number): SourceAdapter<O> {
  return {
    ...adapter,
    compareKeys: (t, a, b) => adapter.compareKeys(t, a, b),
    createIntrospector: () => adapter.createIntrospector(),
    createLogReader: (r) => adapter.createLogReader(r),
    createChunkReader: async (): Promise<ChunkReader> => {
      const reader = await adapter.createChunkReader();
      return {
        async *readChunk(table, range) {
          await sleep(ms);
          yield* reader.readChunk(table, range);
        },
        close: () => reader.close(),
      };
    },
  };
}

async function main(): Promise<void> {
  const adapter = throttled(
    postgresAdapter({ connection: config.sourceUrl, slotName: config.slot, publicationName: config.slot }),
    config.throttleMs,
  );
  const describer = await adapter.createIntrospector();
  const captured = async (): Promise<readonly TableSchema[]> =>
    describer.describeTables([{ schema: 'bench', name: 'items' }]);
  const sink = (pipelineName: string) =>
    postgresSink(
      { connection: config.targetUrl, schema: config.targetSchema, tableNaming: 'table', createTables: true },
      {
        pipelineName,
        logger: { info() {}, warn() {}, debug() {} },
        describeTables: (ids) => describer.describeTables(ids),
        capturedTables: captured,
      },
    );
  const member = new ClusterMember<PgOffset>({
    nats: { url: config.natsUrl, ackWaitMs: 10_000, leaseTtlMs: 3_000 },
    pipeline: config.pipeline,
    adapter,
    readers: 1,
    createChunkSink: async () => sink(`${config.pipeline}.chunks`),
    lead: (leadership) =>
      leadSource(leadership, {
        adapter,
        tables: TABLES,
        chunkSize: config.chunkSize,
        parallelism: 16,
        heartbeatIntervalMs: 200,
        sink: sink(config.pipeline),
      }),
  });
  process.stdout.write('ready\n');
  while (!existsSync(config.goFile)) await sleep(20);
  await member.start();
  const stop = async () => {
    await member.stop();
    await describer.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  await member.failedWith;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
