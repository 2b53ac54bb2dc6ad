import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Measurement } from '../core/measure.js';
import { type AccountRow, coalesce, type StreamWorkload, workloadBatches } from './accounts.js';

/** Changes per transaction of the bare loop: the source's default batch size, as Highwater's batches have. */
export const BARE_BATCH = 1024;

/**
 * The limit of the streaming benchmarks: a bare loop applying the workload's changes to `table`
 * with what a hand-written applier would do — per batch of about {@link BARE_BATCH} changes, the
 * outcome per key, one multi-row upsert and one multi-row delete, one transaction. Timed from
 * connecting to the last commit; nothing is read from the source (the changes are computed here).
 */
export async function bareApply(
  dialect: 'postgres' | 'mysql',
  url: string,
  table: string,
  w: StreamWorkload,
): Promise<Measurement> {
  const started = performance.now();
  const apply = dialect === 'postgres' ? await postgresApplier(url, table) : await mysqlApplier(url, table);
  try {
    for (const batch of workloadBatches(w, BARE_BATCH)) {
      const { upserts, deletes } = coalesce(batch);
      await apply.batch(upserts, deletes);
    }
  } finally {
    await apply.close();
  }
  return { seconds: (performance.now() - started) / 1000, count: w.changes, extra: {} };
}

interface Applier {
  batch(upserts: readonly AccountRow[], deletes: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

async function postgresApplier(url: string, table: string): Promise<Applier> {
  const client = new pg.Client(url);
  await client.connect();
  // The table starts empty, so a generic plan (chosen after five runs of a named statement) scans it
  // for every DELETE … = ANY as it grows: a plan for each run's values keeps the index in use.
  await client.query('SET plan_cache_mode = force_custom_plan');
  const upsert = {
    name: 'bare-upsert',
    text: `INSERT INTO ${table} (aid, bid, abalance, filler)
             SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::text[])
           ON CONFLICT (aid) DO UPDATE SET bid = EXCLUDED.bid, abalance = EXCLUDED.abalance, filler = EXCLUDED.filler`,
  };
  const remove = { name: 'bare-delete', text: `DELETE FROM ${table} WHERE aid = ANY($1::int[])` };
  return {
    async batch(upserts, deletes) {
      await client.query('BEGIN');
      if (upserts.length > 0) {
        await client.query({
          ...upsert,
          values: [
            upserts.map((r) => r.aid),
            upserts.map((r) => r.bid),
            upserts.map((r) => r.abalance),
            upserts.map((r) => r.filler),
          ],
        });
      }
      if (deletes.length > 0) await client.query({ ...remove, values: [deletes] });
      await client.query('COMMIT');
    },
    close: () => client.end(),
  };
}

async function mysqlApplier(url: string, table: string): Promise<Applier> {
  const db = await mysql.createConnection(url);
  return {
    async batch(upserts, deletes) {
      await db.query('START TRANSACTION');
      if (upserts.length > 0) {
        await db.query(
          `INSERT INTO ${table} (aid, bid, abalance, filler) VALUES ${upserts.map(() => '(?, ?, ?, ?)').join(', ')}
             ON DUPLICATE KEY UPDATE bid = VALUES(bid), abalance = VALUES(abalance), filler = VALUES(filler)`,
          upserts.flatMap((r) => [r.aid, r.bid, r.abalance, r.filler]),
        );
      }
      if (deletes.length > 0)
        await db.query(`DELETE FROM ${table} WHERE aid IN (${deletes.map(() => '?').join(', ')})`, [...deletes]);
      await db.query('COMMIT');
    },
    close: () => db.end(),
  };
}
