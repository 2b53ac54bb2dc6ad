import net from 'node:net';
import { ConnectionLostError, PermissionError } from '@highwater/core';
import { afterEach, describe, expect, it } from 'vitest';
import { oracleAdapter } from '../src/index.js';
import { CAPTURE, now, schemaOf, simulatedShop } from './helpers.js';
import { simulatedConnector } from './simulator/session.js';

describe('Oracle set-up errors (simulator)', () => {
  it('not in ARCHIVELOG mode: says how to switch it on', async () => {
    const { db, adapter } = simulatedShop();
    db.archivelog = false;
    await expect(adapter.createIntrospector()).rejects.toThrow(PermissionError);
    await expect(adapter.createIntrospector()).rejects.toThrow(/NOARCHIVELOG mode.*ALTER DATABASE ARCHIVELOG/);
    expect(db.openSessions).toBe(0);
  });

  it('supplemental logging off: gives the ALTER DATABASE and ALTER TABLE statements', async () => {
    const { db, adapter, orders } = simulatedShop();
    db.supplementalMin = false;
    await expect(adapter.createIntrospector()).rejects.toThrow(
      /ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;.*ALTER TABLE/,
    );
    db.supplementalMin = true;
    db.supplementalAll = false;
    const schema = await schemaOf(db, orders);
    await expect(adapter.createLogReader({ from: now(db), tables: [schema] })).rejects.toThrow(
      'ALTER TABLE "SHOP"."ORDERS" ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;',
    );
    orders.logAllColumns = true;
    const reader = await adapter.createLogReader({ from: now(db), tables: [schema] });
    await reader.close();
    expect(db.openSessions).toBe(0);
  });

  it('missing LogMiner grants: names them and gives the GRANT statements', async () => {
    const { db } = simulatedShop();
    db.users.set('half', { password: 'p', privileges: new Set(['CREATE SESSION', 'SELECT ANY DICTIONARY']) });
    db.users.set('none', { password: 'p', privileges: new Set(['CREATE SESSION']) });
    const half = oracleAdapter({
      connection: { ...CAPTURE, user: 'half', password: 'p' },
      connect: simulatedConnector(db),
    });
    await expect(half.createIntrospector()).rejects.toThrow(
      /lacks LOGMINING, SELECT ANY TRANSACTION, FLASHBACK ANY TABLE\. Grant: GRANT CREATE SESSION, LOGMINING/,
    );
    const none = oracleAdapter({
      connection: { ...CAPTURE, user: 'none', password: 'p' },
      connect: simulatedConnector(db),
    });
    await expect(none.createIntrospector()).rejects.toMatchObject({
      code: 'HW_PERMISSION_DENIED',
      message: expect.stringMatching(/ORA-00942.*V_\$DATABASE/),
    });
  });

  it('wrong credentials: a PermissionError that does not repeat the password', async () => {
    const { db } = simulatedShop();
    const adapter = oracleAdapter({
      connection: { ...CAPTURE, password: 'hunter2-wrong' },
      connect: simulatedConnector(db),
    });
    const error = await adapter.createIntrospector().then(
      () => new Error('connected'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.message).toMatch(/refused the credentials \(ORA-01017/);
    expect(error.message).not.toContain('hunter2');
  });
});

/** The real node-oracledb Thin driver, against endpoints that are not Oracle. */
describe('Oracle connection errors (node-oracledb Thin)', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      onConnection(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  const adapterAt = (port: number) =>
    oracleAdapter({
      connection: {
        user: 'cdc',
        password: 'secret',
        connectString: `127.0.0.1:${port}/FREEPDB1`,
        connectTimeoutSeconds: 2,
      },
    });

  it('nothing listening: ConnectionLostError (NJS-503) saying to check the listener', async () => {
    const error = await adapterAt(await closedPort())
      .createIntrospector()
      .then(
        () => new ConnectionLostError('connected'),
        (e: unknown) => e as ConnectionLostError,
      );
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error.message).toMatch(/cannot reach the database \(NJS-503.*listener/);
    expect((error.cause as { code?: string }).code).toBe('NJS-503');
  });

  it('a listener that closes the connection, and one that answers nonsense: ConnectionLostError', async () => {
    const closes = await listen((socket) => socket.destroy());
    const nonsense = await listen((socket) =>
      socket.on('data', () => socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))),
    );
    for (const port of [closes, nonsense]) {
      const error = await adapterAt(port)
        .createIntrospector()
        .then(
          () => new ConnectionLostError('connected'),
          (e: unknown) => e as ConnectionLostError,
        );
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect((error.cause as { code?: string }).code).toMatch(/^NJS-5\d\d$/);
    }
  });
});
