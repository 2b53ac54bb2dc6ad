import { existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNats } from '../src/index.js';

describe('startNats', () => {
  it('starts nats-server -js on a free port with its own store, survives a kill and restart, and cleans up', async () => {
    const nats = await startNats({ useEnv: false });
    try {
      expect(nats.external).toBe(false);
      expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
      expect(existsSync(nats.storeDir!)).toBe(true);
      const use = async <T>(f: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>) => {
        const connection = await connect({ servers: nats.url });
        try {
          return await f(await jetstreamManager(connection));
        } finally {
          await connection.close();
        }
      };
      await use((jsm) => jsm.streams.add({ name: 'kept', subjects: ['kept.>'] }));
      await nats.kill();
      expect(nats.running).toBe(false);
      await nats.restart();
      expect(await use(async (jsm) => (await jsm.streams.info('kept')).config.name)).toBe('kept');
    } finally {
      await nats.stop();
    }
    expect(existsSync(nats.tempDir!)).toBe(false);
  }, 60_000);

  it('uses HIGHWATER_NATS_URL instead of starting a server', async () => {
    const saved = process.env.HIGHWATER_NATS_URL;
    process.env.HIGHWATER_NATS_URL = 'nats://example.invalid:4333';
    try {
      const nats = await startNats();
      expect(nats).toMatchObject({
        external: true,
        url: 'nats://example.invalid:4333',
        port: 4333,
        tempDir: undefined,
      });
      await expect(nats.kill()).rejects.toThrow(/HIGHWATER_NATS_URL/);
      await nats.stop();
    } finally {
      if (saved === undefined) delete process.env.HIGHWATER_NATS_URL;
      else process.env.HIGHWATER_NATS_URL = saved;
    }
  });
});
