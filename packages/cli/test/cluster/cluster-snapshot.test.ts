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

/**
 * Clustered pipelines of real `highwater run` processes (throwaway Postgres and nats-server): a
 * `startup: snapshot` pipeline whose every member leaves with exit code 0 once the snapshot is
 * read, and a snapshot during which the source's tables change shape — a column added (with a
 * default) and filled in; a table created, captured once the leader changed, and a column added to
 * it and dropped while its snapshot runs — under a concurrent writer; the target must end equal to
 * the source, column for column.
 */
describe('cluster: snapshot-only pipelines and schema changes during the snapshot', () => {
  const servers = useClusterServers();
  const members = servers.members;

  const databases = (name: string, rows: number) => sourceAndTarget(servers.pg.url, name, rows);

  const start = (file: string) => {
    const m = new Member(file);
    members.push(m);
    return m;
  };
  const tails = (of: readonly Member[]) => of.map((m) => `--- member ${m.pid} ---\n${m.tail()}`).join('\n');

  it('with startup: snapshot, every member exits 0 once the snapshot is read', async () => {
    const { source, target } = await databases('snaponly', 6_000);
    const file = await writePipeline(
      servers.dir,
      'snaponly',
      source,
      target,
      servers.nats.url,
      [],
      ['  startup: snapshot'],
    );
    const group = [start(file), start(file), start(file)];
    const exits = await Promise.race([
      Promise.all(group.map((m) => m.exited)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`members still running after 180 s\n${tails(group)}`)), 180_000),
      ),
    ]);
    expect(
      exits.map((e) => e.code),
      tails(group),
    ).toEqual([0, 0, 0]);
    // The members that did not finish the pipeline themselves left on the checkpoint that says it is
    // complete (without it, each took the lease in turn to find out; none says this).
    expect(
      group.filter((m) => m.output.includes('the pipeline read everything')).length,
      tails(group),
    ).toBeGreaterThanOrEqual(2);
    const want = await query(source, 'SELECT id, v, n FROM cluster.items ORDER BY id');
    const got = await query(target, 'SELECT id, v, n FROM public.items ORDER BY id');
    expect(got).toEqual(want);
    // More than the leader read chunks: the others had work before they left.
    const probe = await ClusterProbe.open(servers.nats.url, 'snaponly');
    try {
      const readers = new Set((await probe.chunks()).map((c) => c.member));
      expect(readers.size).toBeGreaterThanOrEqual(2);
    } finally {
      await probe.close();
    }
  }, 240_000);

  it('follows a column added during the snapshot, and a table created then, snapshotted by the next leader while its columns change', async () => {
    const rows = 60_000;
    const { source, target } = await databases('ddl', rows);
    const file = await writePipeline(servers.dir, 'ddl', source, target, servers.nats.url);
    const probe = await ClusterProbe.open(servers.nats.url, 'ddl');
    const writer = new Writer(source, rows);
    const group = [start(file), start(file)];
    const failed = (error: unknown): never => {
      throw new Error(`${String(error)}\n${tails(group)}`);
    };
    try {
      writer.start();
      await untilChunksDone(probe, 2, failed);
      expect(Object.values((await probe.phases()) ?? {})).toContain('snapshot');
      await query(source, "ALTER TABLE cluster.items ADD COLUMN note text NOT NULL DEFAULT 'none'");
      await query(source, "UPDATE cluster.items SET note = 'noted ' || id WHERE id % 7 = 0");
      // A table created while the pipeline runs is captured from the next start of its leader on.
      await query(source, 'CREATE TABLE cluster.extra (id int PRIMARY KEY, label text)');
      await query(source, "INSERT INTO cluster.extra SELECT g, 'extra ' || g FROM generate_series(1, 3000) g");
      await until(
        'the snapshot of cluster.items stored',
        async () => (await probe.phases())?.['cluster.items'] === 'stream',
        { timeoutMs: 300_000 },
      ).catch(failed);
      const leader = await probe.leader();
      const leaving = group.find((m) => leader?.endsWith(m.idSuffix));
      expect(leaving, tails(group)).toBeDefined();
      expect((await leaving!.kill('SIGTERM')).code, leaving!.tail()).toBe(0);
      group.push(start(file));
      await until(
        'the new table being snapshotted',
        async () => (await probe.phases())?.['cluster.extra'] !== undefined,
        {
          timeoutMs: 120_000,
        },
      ).catch(failed);
      await query(source, 'ALTER TABLE cluster.extra ADD COLUMN tmp int');
      await query(source, 'UPDATE cluster.extra SET tmp = id WHERE id % 10 = 0');
      await query(source, 'ALTER TABLE cluster.extra DROP COLUMN tmp');
      await query(source, "UPDATE cluster.extra SET label = 'changed ' || id WHERE id % 11 = 0");
      await until(
        'the snapshot of both tables stored',
        async () => {
          const p = await probe.phases();
          return p !== null && p['cluster.extra'] === 'stream' && Object.values(p).every((phase) => phase === 'stream');
        },
        { timeoutMs: 300_000 },
      ).catch(failed);
      await writer.stop();
      await untilSentinel(source, target, failed);
      const items = 'SELECT id, v, n, note FROM %s ORDER BY id';
      expect(await query(target, items.replace('%s', 'public.items'))).toEqual(
        await query(source, items.replace('%s', 'cluster.items')),
      );
      const extra = 'SELECT id, label FROM %s ORDER BY id';
      expect(await query(target, extra.replace('%s', 'public.extra'))).toEqual(
        await query(source, extra.replace('%s', 'cluster.extra')),
      );
      for (const m of group.filter((g) => g.running)) {
        const exit = await m.kill('SIGTERM');
        expect(exit, `member ${m.pid}:\n${m.tail()}`).toEqual({ code: 0, signal: null });
      }
    } finally {
      await writer.stop();
      await probe.close();
    }
  }, 600_000);
});
