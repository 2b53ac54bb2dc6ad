import { DatabaseSetupError, createSource, type SourceEvent } from '@highwater/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAdapter } from '../src/index.js';
import { dropReleasedSlot, usePostgres } from './helpers.js';

const pgs = usePostgres();

/**
 * Writers whose transactions stay open a little after their first insert, so that some are always
 * in flight: one in flight while the publication is created, committing after the source's first
 * watermark, is what fails (`publication "…" does not exist`) if the slot is older than the
 * publication.
 */
class Writers {
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly clients: pg.Client[] = [];
  commits = 0;

  async start(url: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      this.clients.push(client);
      this.loops.push(this.loop(client));
    }
  }

  private async loop(client: pg.Client): Promise<void> {
    while (this.running) {
      await client.query("BEGIN; INSERT INTO race_t (v) VALUES ('first')");
      await client.query('SELECT pg_sleep(0.2)');
      await client.query("INSERT INTO race_t (v) VALUES ('second'); COMMIT");
      this.commits++;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const client of this.clients) await client.end();
  }
}

/** Creation order: each CREATE PUBLICATION records the replication slots that existed then. */
const RECORD_SLOTS = `
  CREATE TABLE pub_created (pubname text, slots text[]);
  CREATE FUNCTION record_slots() RETURNS event_trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO pub_created
      SELECT c.object_identity, (SELECT coalesce(array_agg(slot_name::text), '{}') FROM pg_replication_slots)
        FROM pg_event_trigger_ddl_commands() c WHERE c.command_tag = 'CREATE PUBLICATION';
  END $$;
  CREATE EVENT TRIGGER record_slots ON ddl_command_end WHEN TAG IN ('CREATE PUBLICATION')
    EXECUTE FUNCTION record_slots();`;

describe('publication before slot', () => {
  const writers = new Writers();
  beforeAll(async () => {
    await pgs.sql().query(`CREATE TABLE race_t (id bigserial PRIMARY KEY, v text);
      INSERT INTO race_t (v) SELECT 'seed' FROM generate_series(1, 500); ${RECORD_SLOTS}`);
    await writers.start(pgs.server().url, 4);
  });
  afterAll(async () => {
    await writers.stop();
  });

  /** Starts a fresh source, reads until it streams a marker committed after `streamed` inserts. */
  async function freshStart(name: string): Promise<void> {
    const db = pgs.sql();
    const source = createSource({
      adapter: postgresAdapter({ connection: pgs.server().url, slotName: name, publicationName: name }),
      tables: { include: ['public.race_t'] },
      chunkSize: 200,
      heartbeatIntervalMs: 50,
      // A decoding error must fail the test, not be retried away.
      retry: { attempts: 0, initialDelayMs: 0, maxDelayMs: 0 },
    });
    const seen = new Set<number>();
    let inserts = 0;
    const iterator = source[Symbol.asyncIterator]();
    const readUntil = async (done: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`${name}: not done after 20 s (${inserts} inserts streamed)`);
        const next = await iterator.next();
        if (next.done === true) throw new Error(`${name}: the source ended`);
        for (const e of next.value.events as readonly SourceEvent[]) {
          if (e.kind !== 'change' || e.after === null) continue;
          seen.add(Number(e.after.id));
          if (e.op === 'c') inserts++;
        }
      }
    };
    try {
      await readUntil(() => inserts >= 30);
      // No change lost either: every row committed before the marker is seen by the time it is.
      const committed = await db.query<{ id: string }>('SELECT id FROM race_t');
      const marker = await db.query<{ id: string }>("INSERT INTO race_t (v) VALUES ('marker') RETURNING id");
      const markerId = Number(marker.rows[0]?.id);
      await readUntil(() => seen.has(markerId));
      const missing = committed.rows.map((r) => Number(r.id)).filter((id) => !seen.has(id));
      expect(missing, name).toEqual([]);
    } finally {
      await source.close();
      await dropReleasedSlot(db, name);
    }
  }

  it('fresh sources started under concurrent writes all stream, and each publication predates its slot', async () => {
    const names = ['fresh1', 'fresh2', 'fresh3', 'fresh4', 'fresh5'];
    for (const name of names) await freshStart(name);
    expect(writers.commits).toBeGreaterThan(0);
    const created = await pgs.sql().query<{ pubname: string; slots: string[] }>('SELECT * FROM pub_created');
    const byName = new Map(created.rows.map((r) => [r.pubname, r.slots]));
    for (const name of names) {
      expect(byName.has(name), `publication ${name} was created`).toBe(true);
      expect(byName.get(name), `slots existing when publication ${name} was created`).not.toContain(name);
    }
  }, 180_000);

  it('a user-created slot whose publication the adapter creates later: waits out the writes in flight', async () => {
    await pgs.sql().query("SELECT pg_create_logical_replication_slot('userslot', 'pgoutput')");
    const created = await pgs
      .sql()
      .query<{ n: string }>("SELECT count(*) AS n FROM pg_publication WHERE pubname = 'userslot'");
    expect(created.rows[0]?.n).toBe('0');
    // With createSlot true the adapter still makes the publication first, and waits for the
    // transactions in flight: a log read from its first watermark never meets one of them.
    await freshStart('userslot');
  }, 60_000);

  it('createPublication false: a missing publication is a DatabaseSetupError before anything is read', async () => {
    const adapter = postgresAdapter({
      connection: pgs.server().url,
      slotName: 'nopub',
      publicationName: 'nopub',
      createPublication: false,
    });
    const err = await adapter.createIntrospector().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseSetupError);
    expect(String(err)).toContain('publication nopub does not exist');
    expect(String(err)).toContain('CREATE PUBLICATION "nopub"');
    // Nothing was created: neither the slot nor the publication.
    const slots = await pgs.sql().query("SELECT FROM pg_replication_slots WHERE slot_name = 'nopub'");
    expect(slots.rowCount).toBe(0);
  });
});
