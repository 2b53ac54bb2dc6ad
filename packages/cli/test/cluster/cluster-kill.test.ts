import { describe, expect, it } from 'vitest';
import { highwater, until } from '../e2e/cli.js';
import {
  ClusterProbe,
  Member,
  query,
  untilSentinel,
  useClusterServers,
  Writer,
  writePipeline,
} from './cluster-harness.js';

const ROWS = 40_000;

/**
 * One pipeline run by three `highwater run` processes through a throwaway `nats-server -js`, from a
 * throwaway Postgres into another database of it, under a concurrent writer (inserts, updates,
 * key-moving updates, deletes). A member is SIGKILLed while its record says it is reading a chunk,
 * then at once the leader, while the snapshot runs; a fresh member replaces each. Passes when
 * the chunk the killed member was reading is finished by another member, another member takes the
 * lease, and the target table ends equal to the source row for row (nothing lost, nothing doubled,
 * no row left behind that the source deleted).
 */
describe('cluster: members and the leader killed with SIGKILL', () => {
  const servers = useClusterServers();
  const members = servers.members;

  it('reads every chunk once into the target through kills of a member and of the leader', async () => {
    const source = servers.pg.url;
    await query(source, 'CREATE DATABASE target');
    const target = servers.pg.url.replace(/\/postgres$/, '/target');
    await query(source, 'CREATE SCHEMA cluster');
    await query(source, 'CREATE TABLE cluster.items (id int PRIMARY KEY, v text NOT NULL, n int NOT NULL)');
    await query(source, `INSERT INTO cluster.items SELECT g, 'row ' || g, 0 FROM generate_series(1, ${ROWS}) g`);
    const file = await writePipeline(servers.dir, 'clustered', source, target, servers.nats.url, [
      'metrics: { port: 0 }',
    ]);
    const probe = await ClusterProbe.open(servers.nats.url, 'clustered');
    const writer = new Writer(source, ROWS);
    const start = () => {
      const m = new Member(file);
      members.push(m);
      return m;
    };
    const alive = () => members.filter((m) => m.running);
    const failure = () => members.map((m) => `--- member ${m.pid} ---\n${m.tail()}`).join('\n');
    try {
      writer.start();
      for (let i = 0; i < 3; i++) start();

      // A member that is not the leader, caught in the middle of a chunk (claimed, not done).
      const leader1 = await until('a leader', () => probe.leader(), { timeoutMs: 60_000 });
      const victim = await until(
        'a member reading a chunk',
        async () => {
          const reading = (await probe.chunks()).filter((c) => c.state === 'reading' && c.member !== leader1);
          for (const c of reading) {
            const m = alive().find((x) => c.member.endsWith(x.idSuffix));
            if (m !== undefined) return { member: m, chunk: c.key, id: c.member };
          }
          return null;
        },
        { timeoutMs: 120_000 },
      );
      await victim.member.kill('SIGKILL');
      start();

      // Then the leader, while chunks are still being read.
      const leaderMember = alive().find((m) => leader1.endsWith(m.idSuffix));
      expect(leaderMember, failure()).toBeDefined();
      const phases = await probe.phases();
      expect(phases !== null && Object.values(phases).includes('snapshot'), 'snapshot still running').toBe(true);
      await leaderMember!.kill('SIGKILL');
      start();
      const leader2 = await until(
        'another leader',
        async () => {
          const holder = await probe.leader();
          return holder !== null && holder !== leader1 ? holder : null;
        },
        { timeoutMs: 60_000 },
      );
      expect(leader2).not.toBe(leader1);
      const redone = await until(
        `chunk ${victim.chunk} finished by another member`,
        async () => {
          const record = (await probe.chunks()).find((c) => c.key === victim.chunk);
          return record?.state === 'done' && record.member !== victim.id ? record : null;
        },
        { timeoutMs: 120_000 },
      );
      expect(redone.attempts).toBeGreaterThanOrEqual(2);

      await until(
        'the snapshot stored',
        async () => {
          const p = await probe.phases();
          return p !== null && Object.values(p).every((phase) => phase === 'stream');
        },
        { timeoutMs: 240_000 },
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${failure()}`);
      });
      // The snapshot is stored: nobody needs a log window, and the leader emptied the log stream.
      await until('the log stream emptied', async () => (await probe.logMessages()) === 0, { timeoutMs: 60_000 });
      await writer.stop();
      await untilSentinel(source, target);
      const want = await query<{ id: number; v: string; n: number }>(
        source,
        'SELECT id, v, n FROM cluster.items ORDER BY id',
      );
      const got = await query<{ id: number; v: string; n: number }>(
        target,
        'SELECT id, v, n FROM public.items ORDER BY id',
      );
      const chunks = await probe.chunks();
      const readers = new Set(chunks.map((c) => c.member));
      const redoneChunks = chunks.filter((c) => c.attempts > 1).length;
      console.info(
        `cluster e2e: ${chunks.length} chunks by ${readers.size} members, ${redoneChunks} read more than once, ${writer.writes} source writes, ${want.length} rows`,
      );
      expect(readers.size).toBeGreaterThanOrEqual(3);
      expect(writer.writes).toBeGreaterThan(0);
      const have = new Set(got.map((r) => r.id));
      const missing = want.filter((r) => !have.has(r.id)).map((r) => r.id);
      expect(missing, `rows missing from the target (first 50): ${missing.slice(0, 50).join(', ')}`).toEqual([]);
      expect(got.length).toBe(want.length);
      expect(got).toEqual(want);

      // `highwater status` reads the cluster from NATS: the leader, and every live member with what it reads.
      const status = await highwater(['status', file, '--json']);
      expect(status.code, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout) as {
        phase: string;
        cluster: { leader: { member: string }; members: { member: string; role: string; reading: string[] }[] };
      };
      expect(report.phase).toBe('stream');
      const leaderNow = await probe.leader();
      expect(report.cluster.leader.member).toBe(leaderNow);
      for (const m of alive()) {
        expect(report.cluster.members.some((x) => x.member.endsWith(m.idSuffix))).toBe(true);
      }
      expect(report.cluster.members.filter((x) => x.role === 'leader').map((x) => x.member)).toEqual([leaderNow]);

      // So does each member's status page and its /api/status (the metrics address; port 0: each member logs its own).
      const someone = alive()[0]!;
      const url = /metrics at (http:\/\/[^\s,"]+)\/metrics/.exec(someone.output)?.[1];
      expect(url, someone.tail()).toBeDefined();
      type Api = { cluster: { member: string; leader: string; members: { member: string; role: string }[] } };
      // The page reads the members from NATS every 2 s: wait until it lists the member started last.
      let last: Api | null = null;
      const api = await until(
        'the status page listing every live member',
        async () => {
          const doc = (await (await fetch(`${url}/api/status`)).json()) as Api;
          last = doc;
          return alive().every((m) => doc.cluster.members.some((x) => x.member.endsWith(m.idSuffix))) ? doc : null;
        },
        { timeoutMs: 20_000 },
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}\nlive: ${alive()
            .map((m) => m.pid)
            .join(', ')}\npage: ${JSON.stringify(last?.cluster)}\n${someone.tail()}`,
        );
      });
      expect(api.cluster.member.endsWith(someone.idSuffix)).toBe(true);
      expect(api.cluster.leader).toBe(leaderNow);
      const page = await (await fetch(`${url}/`)).text();
      expect(page).toContain('Cluster members');
      for (const m of alive())
        expect(page).toMatch(new RegExp(`<tr data-member="[^"]*${m.idSuffix}" data-role="(leader|member)">`));
      expect(page).toContain(`<tr data-member="${leaderNow}" data-role="leader">`);

      for (const m of alive()) expect((await m.kill('SIGTERM')).code, m.tail()).toBe(0);
    } finally {
      await writer.stop();
      await probe.close();
    }
  }, 600_000);
});
