import { type Checkpoint, CheckpointError, ClusterError, type TableSchema } from '@highwater/core';
import { startNats, type ThrowawayNats } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coordinator, KvCheckpointStore, leaseHolder, openCoordinator } from '../src/index.js';
import { LeaderLease } from '../src/lease.js';

const checkpoint = (position: number): Checkpoint => ({
  version: 1,
  connector: 'memory',
  position,
  complete: false,
  tables: {},
});

/** The lease and the checkpoint store against a throwaway nats-server: what fences a deposed leader. */
describe('cluster lease and checkpoint in NATS KV', () => {
  let nats: ThrowawayNats;
  const open: Coordinator[] = [];
  const coordinator = async (pipeline: string, member: string) => {
    const c = await openCoordinator({ url: nats.url, leaseTtlMs: 1_000 }, pipeline, member);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await startNats({ useEnv: false });
  });

  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await nats?.stop();
  });

  it('lets one member hold the lease; another takes it once it expires, and the first can no longer renew', async () => {
    const [a, b] = [await coordinator('lease', 'a'), await coordinator('lease', 'b')];
    const first = new LeaderLease(a, 'a');
    const second = new LeaderLease(b, 'b');
    expect(await first.tryAcquire()).toBe(true);
    expect(await second.tryAcquire()).toBe(false);
    expect((await leaseHolder(b))?.member).toBe('a');
    expect(await first.renew()).toBe(true);
    // Not renewed for longer than the TTL: the entry expires and the other member's create succeeds.
    const deadline = Date.now() + 20_000;
    while (!(await second.tryAcquire())) {
      if (Date.now() > deadline) throw new Error('the lease never expired');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const holder = await leaseHolder(a);
    expect(holder?.member).toBe('b');
    expect(holder?.epoch).toBeGreaterThan(first.epoch);
    expect(await first.renew()).toBe(false);
  }, 60_000);

  it('refuses the save of a leader after another one has saved since (compare-and-swap on the revision)', async () => {
    const c = await coordinator('checkpoint', 'x');
    const deposed = new KvCheckpointStore(c);
    const current = new KvCheckpointStore(c);
    expect(await deposed.load()).toBeNull();
    await deposed.save(checkpoint(1));
    expect((await current.load())?.position).toBe(1);
    await current.save(checkpoint(2));
    await expect(deposed.save(checkpoint(3))).rejects.toBeInstanceOf(ClusterError);
    expect((await new KvCheckpointStore(c).load())?.position).toBe(2);
  }, 60_000);

  it('refuses a checkpoint beyond max_payload with an error saying so, and keeps the stored one', async () => {
    // Before, NATS's refusal came out as "another member saved one since ... or NATS is unreachable".
    const c = await coordinator('big', 'a');
    const store = new KvCheckpointStore(c);
    await store.save(checkpoint(1));
    const limit = c.nc.info?.max_payload ?? 0;
    expect(limit).toBeGreaterThan(0);
    const columns = Array.from({ length: 20 }, (_, i) => ({
      name: `column_${i}`,
      type: { kind: 'string' as const, length: 255 },
      nativeType: 'character varying(255)',
      nullable: true,
    }));
    const count = Math.ceil(limit / 1_000);
    const names = Array.from({ length: count }, (_, i) => `public.t${i}`);
    const schema = (name: string): TableSchema => ({
      id: { schema: 'public', name },
      columns,
      primaryKey: ['column_0'],
      chunkKey: ['column_0'],
    });
    const big: Checkpoint = {
      ...checkpoint(2),
      tables: Object.fromEntries(names.map((n) => [n, { phase: 'stream' as const }])),
      schemas: Object.fromEntries(names.map((n) => [n, schema(n)])),
    };
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(limit);
    const error = await store.save(big).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toContain(`larger than NATS's max_payload (${limit} bytes)`);
    expect((await new KvCheckpointStore(c).load())?.position).toBe(1);
    // The store still saves (its revision is unchanged).
    await store.save(checkpoint(3));
    expect((await new KvCheckpointStore(c).load())?.position).toBe(3);
  }, 60_000);
});
