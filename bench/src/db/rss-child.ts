/**
 * Child process of the peak-RSS benchmarks: `node rss-child.js '{"kind":…}'`. Runs one Highwater
 * snapshot (`snapshot` mode, default options, a consumer that counts `r` events) — or, with
 * `"idle": true`, only loads the adapter and opens and closes one connection — and prints
 * `{"rows", "seconds", "maxRssKiB"}` on its last stdout line. Peak RSS is the kernel's figure for the
 * whole process lifetime (`process.resourceUsage().maxRSS`).
 */
import { createSource, type SourceAdapter } from '@highwater/core';
import { mysqlAdapter } from '@highwater/mysql';
import { postgresAdapter } from '@highwater/postgres';

export interface RssChildArgs {
  readonly kind: 'postgres' | 'mysql';
  readonly url: string;
  readonly table: string;
  readonly idle?: boolean;
  /** Postgres: the replication slot and publication to use. */
  readonly slotName?: string;
}

export interface RssChildResult {
  readonly rows: number;
  readonly seconds: number;
  readonly maxRssKiB: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as RssChildArgs;
  const adapter: SourceAdapter<unknown> =
    args.kind === 'postgres'
      ? (postgresAdapter({
          connection: args.url,
          slotName: args.slotName ?? 'bench_rss',
          publicationName: args.slotName ?? 'bench_rss',
        }) as SourceAdapter<unknown>)
      : (mysqlAdapter({ connection: args.url }) as SourceAdapter<unknown>);
  let rows = 0;
  const started = performance.now();
  if (args.idle === true) {
    const introspector = await adapter.createIntrospector();
    await introspector.close();
  } else {
    const source = createSource({ adapter, tables: { include: [args.table] }, startup: { mode: 'snapshot' } });
    for await (const batch of source) {
      for (const e of batch.events) if (e.kind === 'change' && e.op === 'r') rows++;
    }
    await source.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const result: RssChildResult = { rows, seconds, maxRssKiB: process.resourceUsage().maxRSS };
  console.log(JSON.stringify(result));
  // Nothing else to wait for (a lingering timer or socket would only delay the exit).
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
