import { startMariadb, type ThrowawayMariadb } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';

/** A throwaway MariaDB for one test file, plus a plain mysql2 client on it (multiple statements allowed). */
export function useMariadb(): {
  server: () => ThrowawayMariadb;
  sql: () => mysql.Connection;
  /** A new client after the server restarted (the old one died with it). */
  reconnect: () => Promise<void>;
} {
  let server: ThrowawayMariadb | undefined;
  let client: mysql.Connection | undefined;
  beforeAll(async () => {
    server = await startMariadb();
    try {
      client = await mysql.createConnection({ uri: server.url, multipleStatements: true, supportBigNumbers: true });
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
    reconnect: async () => {
      client?.destroy();
      if (server === undefined) throw new Error('server not started');
      client = await mysql.createConnection({ uri: server.url, multipleStatements: true, supportBigNumbers: true });
    },
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
