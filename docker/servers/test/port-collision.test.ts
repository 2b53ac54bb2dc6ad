import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMariadb, startPostgres } from '../src/index.js';
import { mariadbOk, postgresInstalled, mariadbInstalled, psqlOk } from './helpers.js';

/** Ports the next pickFreePort() calls return instead of free ones: simulates another process taking the port. */
const forced = vi.hoisted(() => ({ ports: [] as number[] }));

vi.mock('../src/ports.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/ports.js')>();
  return { ...actual, pickFreePort: async () => forced.ports.shift() ?? actual.pickFreePort() };
});

let squatter: Server;
let taken: number;

beforeAll(async () => {
  // Something that accepts TCP connections but is not our server: readiness must not be fooled by it.
  squatter = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const address = squatter.address();
  taken = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise((resolve) => squatter.close(resolve));
});

describe('a port taken between picking and binding', () => {
  it.runIf(postgresInstalled)('Postgres retries on another port', async () => {
    forced.ports.push(taken, taken);
    const pg = await startPostgres({ useEnv: false });
    try {
      expect(forced.ports).toEqual([]);
      expect(pg.port).not.toBe(taken);
      expect(await psqlOk(pg, 'select 1')).toBe('1');
      expect((await pg.readLog()).match(/Address already in use/g)?.length).toBe(2);
    } finally {
      await pg.stop();
    }
  });

  it.runIf(mariadbInstalled)('MariaDB retries on another port', async () => {
    forced.ports.push(taken, taken);
    const db = await startMariadb({ useEnv: false });
    try {
      expect(forced.ports).toEqual([]);
      expect(db.port).not.toBe(taken);
      expect(await mariadbOk(db, 'SELECT 1')).toBe('1');
      expect(await db.readLog()).toMatch(/Address already in use/);
    } finally {
      await db.stop();
    }
  });
});
