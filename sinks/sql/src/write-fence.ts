import { FencedWriteError, SinkError, type WriteFence } from '@highwater/core';
import type { Dialect, SqlSession } from './dialect.js';

/** Per pipeline and scope, the highest fencing token a committed batch carried (see `WriteFence`). */
export const FENCE_TABLE = 'highwater_fences';

/** `CREATE TABLE IF NOT EXISTS` of the fence table; made only once a batch carries a fence. */
export function createFenceTable(dialect: Dialect, qualified: string): string {
  return dialect.name === 'postgres'
    ? `CREATE TABLE IF NOT EXISTS ${qualified} (pipeline text NOT NULL, scope text NOT NULL, token bigint NOT NULL, PRIMARY KEY (pipeline, scope))`
    : `CREATE TABLE IF NOT EXISTS ${qualified} (pipeline VARCHAR(255) NOT NULL, scope VARCHAR(255) NOT NULL, token BIGINT NOT NULL, PRIMARY KEY (pipeline, scope)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/**
 * Raises the stored token of `fence.scope` to `fence.token`, or throws `FencedWriteError` when a
 * higher one is stored. Runs inside the batch's transaction, before its rows: the statement locks
 * the fence row until commit, so a concurrent writer of the same scope waits and then sees the
 * committed token (Postgres re-checks the conflict row's newest version; MySQL's upsert and
 * `FOR UPDATE` read the newest committed one). Of two writers, the older one's batch therefore
 * commits only before the newer one's first, never after it. The caller rolls back on the error.
 */
export async function passFence(
  dialect: Dialect,
  session: SqlSession,
  qualified: string,
  pipeline: string,
  fence: WriteFence,
): Promise<void> {
  if (!Number.isSafeInteger(fence.token) || fence.token < 0) {
    throw new SinkError(
      `${dialect.name} sink: fencing token of scope ${fence.scope} is ${fence.token}: the writer must give a non-negative integer`,
    );
  }
  let stored: unknown;
  if (dialect.name === 'postgres') {
    const rows = await session.query<{ token: unknown }>(
      `INSERT INTO ${qualified} AS f (pipeline, scope, token) VALUES ($1, $2, $3)
         ON CONFLICT (pipeline, scope) DO UPDATE SET token = GREATEST(f.token, EXCLUDED.token) RETURNING token`,
      [pipeline, fence.scope, fence.token],
    );
    stored = rows[0]?.token;
  } else {
    await session.query(
      `INSERT INTO ${qualified} (pipeline, scope, token) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE token = GREATEST(token, VALUES(token))`,
      [pipeline, fence.scope, fence.token],
    );
    const rows = await session.query<{ token: unknown }>(
      `SELECT token FROM ${qualified} WHERE pipeline = ? AND scope = ? FOR UPDATE`,
      [pipeline, fence.scope],
    );
    stored = rows[0]?.token;
  }
  const current = Number(stored);
  if (current !== fence.token) throw fencedError(dialect, qualified, pipeline, fence, current);
}

/**
 * Refuses the batch when a higher token than `fence.token` is committed for its scope, changing
 * nothing. For a target whose DDL cannot be rolled back (MySQL commits each DDL statement at once):
 * checked before a batch's DDL, so a writer the fence refuses does not change the target's schema
 * either. {@link passFence} still runs in the batch's transaction.
 */
export async function checkFence(
  dialect: Dialect,
  session: SqlSession,
  qualified: string,
  pipeline: string,
  fence: WriteFence,
): Promise<void> {
  const rows = await session.query<{ token: unknown }>(
    `SELECT token FROM ${qualified} WHERE pipeline = ${dialect.param(1)} AND scope = ${dialect.param(2)}`,
    [pipeline, fence.scope],
  );
  const stored = rows[0]?.token;
  if (stored === undefined || stored === null) return;
  const current = Number(stored);
  if (current > fence.token) throw fencedError(dialect, qualified, pipeline, fence, current);
}

function fencedError(
  dialect: Dialect,
  qualified: string,
  pipeline: string,
  fence: WriteFence,
  current: number,
): FencedWriteError {
  return new FencedWriteError(
    fence.scope,
    fence.token,
    current,
    `${dialect.name} sink: pipeline ${pipeline}: batch refused, its fencing token ${fence.token} (${fence.scope}) is older than ` +
      `${current}, which a newer writer committed: another member took over; nothing of this batch was stored. ` +
      `If no other writer runs (the cluster's NATS state was deleted, so tokens start again), delete the pipeline's rows from ${qualified}`,
  );
}
