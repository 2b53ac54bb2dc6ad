import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/** A throwaway Postgres for one test file, plus a plain `pg` client on it for setting up data. */
export function usePostgres(): { server: () => ThrowawayPostgres; sql: () => pg.Client } {
  let server: ThrowawayPostgres | undefined;
  let client: pg.Client | undefined;
  beforeAll(async () => {
    server = await startPostgres();
    try {
      client = new pg.Client({ connectionString: server.url });
      await client.connect();
    } catch (error) {
      await server.stop();
      throw error;
    }
  }, 60_000);
  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await server?.stop();
  }, 60_000);
  return {
    server: () => {
      if (server === undefined) throw new Error('server not started');
      return server;
    },
    sql: () => {
      if (client === undefined) throw new Error('server not started');
      return client;
    },
  };
}

export { collect, LogTap } from '@highwater/conformance';
