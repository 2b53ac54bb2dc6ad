/**
 * Child process of the Postgres → file benchmarks' second limit: `node read-child.js '{…}'` reads
 * what `highwater run` reads — a `snapshot` of the table, or the stream from an offset until
 * `expected` changes — with the Postgres adapter and the core, counts the change events and exits,
 * writing nothing. The parent times it from spawning to exit, as it times `highwater run`, so the
 * two pay the same for starting Node, loading the adapter and warming up; the in-process limit
 * pays none of that.
 */
import { createSource, type JsonValue } from '@highwater/core';
import { postgresAdapter } from '@highwater/postgres';

export interface ReadChildArgs {
  readonly url: string;
  readonly table: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** Absent: a snapshot. Present: the stream from `offset` until `expected` change events. */
  readonly stream?: { readonly offset: JsonValue; readonly expected: number };
}

export interface ReadChildResult {
  readonly events: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ReadChildArgs;
  const stream = args.stream;
  const adapter = postgresAdapter({
    connection: args.url,
    slotName: args.slotName,
    publicationName: args.publicationName,
    dropSlotOnClose: true,
    ...(stream === undefined ? {} : { createSlot: false, createPublication: false }),
  });
  const source = createSource({
    adapter,
    tables: { include: [args.table] },
    startup: stream === undefined ? { mode: 'snapshot' } : { mode: 'offset', offset: stream.offset },
    ...(stream === undefined ? {} : { heartbeatIntervalMs: 0 }),
  });
  let events = 0;
  try {
    for await (const batch of source) {
      for (const e of batch.events) if (e.kind === 'change') events++;
      if (stream !== undefined && events >= stream.expected) break;
    }
  } finally {
    await source.close();
  }
  const result: ReadChildResult = { events };
  console.log(JSON.stringify(result));
  // Done: a timer or socket left open would only delay the exit the parent times.
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
