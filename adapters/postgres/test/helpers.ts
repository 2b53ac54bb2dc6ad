import { type StartPostgresOptions, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/**
 * A Postgres started for one test file and stopped after it. Tests that kill or restart the server
 * pass `{ useEnv: false }`, so they never get a shared one from the environment.
 */
export function useServer(options?: StartPostgresOptions): () => ThrowawayPostgres {
  let server: ThrowawayPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres(options);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);
  return () => {
    if (server === undefined) throw new Error('server not started');
    return server;
  };
}

/** A throwaway Postgres for one test file, plus a plain `pg` client on it for setting up data. */
export function usePostgres(): { server: () => ThrowawayPostgres; sql: () => pg.Client } {
  const server = useServer();
  let client: pg.Client | undefined;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: server().url });
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client?.end().catch(() => undefined);
  }, 60_000);
  return {
    server,
    sql: () => {
      if (client === undefined) throw new Error('server not started');
      return client;
    },
  };
}

/** Runs `run` on a new client (the server may have restarted since the last one). */
export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops a replication slot if it exists. */
export async function dropSlot(url: string, slot: string): Promise<void> {
  await withClient(url, (c) => dropReleasedSlot(c, slot));
}

/**
 * Drops a slot once no walsender holds it: after `source.close()` the server side of the replication
 * connection can still be exiting for a moment, and dropping an active slot fails.
 */
export async function dropReleasedSlot(client: pg.Client, slot: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query<{ active: boolean }>(
      'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    if (rows.length === 0) return;
    if (!rows[0]?.active || attempt >= 100) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
}

export { collect, LogTap } from '@highwater/conformance';
