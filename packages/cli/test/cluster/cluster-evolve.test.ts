import { describe, expect, it } from 'vitest';
import { until } from '../e2e/cli.js';
import {
  ClusterProbe,
  Member,
  query,
  sourceAndTarget,
  useClusterServers,
  Writer,
  untilChunksDone,
  untilSentinel,
  writePipeline,
} from './cluster-harness.js';

const ROWS = 60_000;

/**
 * Clustered pipelines of real `highwater run` processes (throwaway Postgres and nats-server) under
 * `schemaChanges: evolve`, where a truncate empties the target table and a rename renames its
 * column: DDL while three members read the snapshot's chunks, under a concurrent writer. The target
 * must end equal to the source, column for column. The truncate case failed before truncates were
 * ordered against the members' chunk writes (docs/algorithm.md, "Truncates during a cluster
 * snapshot"): rows a member read after a truncate were wiped when the leader's truncate landed later,
 * and rows read before it were kept when they landed after it.
 */
describe('cluster: truncate and rename during the snapshot under schemaChanges: evolve', () => {
  const servers = useClusterServers();
  const members = servers.members;
  const tails = (of: readonly Member[]) => of.map((m) => `--- member ${m.pid} ---\n${m.tail()}`).join('\n');

  /** Starts three members on `name`, runs `during` once a few chunks are done, and compares at the end. */
  const run = async (
    name: string,
    extraColumns: readonly string[],
    during: (source: string, probe: ClusterProbe, failed: (error: unknown) => never) => Promise<void>,
    compared: string,
    { writing = true }: { readonly writing?: boolean } = {},
  ) => {
    const { source, target } = await sourceAndTarget(servers.pg.url, name, ROWS, extraColumns);
    const file = await writePipeline(
      servers.dir,
      name,
      source,
      target,
      servers.nats.url,
      [],
      [],
      ['  schemaChanges: evolve'],
    );
    const probe = await ClusterProbe.open(servers.nats.url, name);
    const writer = new Writer(source, ROWS);
    const group = [0, 1, 2].map(() => {
      const m = new Member(file);
      members.push(m);
      return m;
    });
    const failed = (error: unknown): never => {
      throw new Error(`${String(error)}\n${tails(group)}`);
    };
    try {
      if (writing) writer.start();
      await untilChunksDone(probe, 3, failed);
      expect(Object.values((await probe.phases()) ?? {})).toContain('snapshot');
      await during(source, probe, failed);
      await until('the snapshot stored', async () => (await probe.phases())?.['cluster.items'] === 'stream', {
        timeoutMs: 400_000,
      }).catch(failed);
      await writer.stop();
      await untilSentinel(source, target, failed);
      const want = await query(source, compared.replace('%s', 'cluster.items'));
      const got = await query(target, compared.replace('%s', 'public.items'));
      const missing = want.filter((w) => !got.some((g) => g.id === w.id)).length;
      const extra = got.filter((g) => !want.some((w) => w.id === g.id)).length;
      expect({ rows: got.length, missing, extra }, tails(group)).toEqual({ rows: want.length, missing: 0, extra: 0 });
      expect(got).toEqual(want);
      for (const m of group) {
        const exit = await m.kill('SIGTERM');
        expect(exit, `member ${m.pid}:\n${m.tail()}`).toEqual({ code: 0, signal: null });
      }
    } finally {
      await writer.stop();
      await probe.close();
    }
  };

  it('a truncate while chunks are read (refilled after it) leaves exactly the source rows', async () => {
    await run(
      'trunc',
      [],
      async (source, probe, failed) => {
        // Three truncates, each while chunks are being read, each followed by a partial refill: a row
        // of a chunk read before the truncate that lands after it stays (extra), one read after it
        // that lands before it is wiped (missing).
        for (let round = 1; round <= 3; round++) {
          const done = (await probe.chunks()).filter((c) => c.state === 'done').length;
          await query(source, 'TRUNCATE cluster.items');
          await query(
            source,
            `INSERT INTO cluster.items (id, v, n) SELECT g, 'refill ${round} ' || g, ${round} FROM generate_series(1, ${ROWS}) g WHERE g % 4 <> ${round} ON CONFLICT (id) DO NOTHING`,
          );
          await until(
            'more chunks done',
            async () => {
              const chunks = await probe.chunks();
              return (
                chunks.filter((c) => c.state === 'done').length >= done + 6 ||
                (await probe.phases())?.['cluster.items'] === 'stream'
              );
            },
            { timeoutMs: 180_000 },
          ).catch(failed);
        }
      },
      'SELECT id, v, n FROM %s ORDER BY id',
    );
  }, 900_000);

  it('a column renamed while chunks are read, and set after, arrives under its new name', async () => {
    await run(
      'rename',
      ["note text NOT NULL DEFAULT 'first'"],
      async (source, probe, failed) => {
        await query(source, "UPDATE cluster.items SET note = 'before ' || id WHERE id % 5 = 0");
        const done = (await probe.chunks()).filter((c) => c.state === 'done').length;
        await query(source, 'ALTER TABLE cluster.items RENAME COLUMN note TO remark');
        await query(source, "UPDATE cluster.items SET remark = 'after ' || id WHERE id % 7 = 0");
        // Chunks read after the rename, while others were read before it.
        await until(
          'chunks done after the rename',
          async () => (await probe.chunks()).filter((c) => c.state === 'done').length >= done + 6,
          { timeoutMs: 180_000 },
        ).catch(failed);
      },
      'SELECT id, v, n, remark FROM %s ORDER BY id',
    );
  }, 900_000);

  it('a column renamed while chunks are read, with no write after it, does not hold the snapshot up', async () => {
    // Postgres sends a table's columns with its next change only. With none after the rename, the
    // leader learns of it from the log reader's catalog check; before that check read columns, the
    // members handed back every chunk read after the rename (its table had lost a column the leader
    // still knew) and the snapshot never finished.
    await run(
      'quiet_rename',
      ["note text NOT NULL DEFAULT 'first'"],
      async (source, probe, failed) => {
        await query(source, "UPDATE cluster.items SET note = 'before ' || id WHERE id % 5 = 0");
        const done = (await probe.chunks()).filter((c) => c.state === 'done').length;
        await query(source, 'ALTER TABLE cluster.items RENAME COLUMN note TO remark');
        await until(
          'chunks done after the rename',
          async () =>
            (await probe.chunks()).filter((c) => c.state === 'done').length >= done + 6 ||
            (await probe.phases())?.['cluster.items'] === 'stream',
          { timeoutMs: 180_000 },
        ).catch(failed);
      },
      'SELECT id, v, n, remark FROM %s ORDER BY id',
      { writing: false },
    );
  }, 900_000);
});
