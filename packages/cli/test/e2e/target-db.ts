import pg from 'pg';
import type { AppliedChange } from './exactly-once.js';

/** Runs statements on a Postgres, one connection each call; returns the last statement's rows. */
export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  statements: readonly string[],
  params: readonly unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'e2e-check' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    let rows: T[] = [];
    for (const statement of statements) rows = (await client.query<T>(statement, params as unknown[])).rows;
    return rows;
  } finally {
    await client.end();
  }
}

/**
 * Creates the target tables in schema `e2e` before the pipeline runs (the sink uses existing tables
 * as they are), each with a trigger appending every row the sink applies to `audit.applied`: the
 * key, the operation, the row's `ver` and the target transaction.
 */
export async function createAuditedTarget(url: string, types: { text: string; code: string }): Promise<void> {
  await sql(url, [
    'CREATE SCHEMA e2e',
    'CREATE SCHEMA audit',
    `CREATE TABLE e2e.items (id int NOT NULL PRIMARY KEY, ver bigint NOT NULL, note ${types.text})`,
    `CREATE TABLE e2e.tags (code ${types.code} NOT NULL PRIMARY KEY, ver bigint NOT NULL, label ${types.text})`,
    `CREATE TABLE e2e.lines (order_id int NOT NULL, line_no int NOT NULL, ver bigint NOT NULL, qty int NOT NULL,
       PRIMARY KEY (order_id, line_no))`,
    `CREATE TABLE audit.applied (
       n bigserial PRIMARY KEY,
       tx bigint NOT NULL DEFAULT txid_current(),
       tbl text NOT NULL,
       k text NOT NULL,
       op text NOT NULL,
       ver bigint NOT NULL)`,
    `CREATE FUNCTION audit.record() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       r jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
     BEGIN
       INSERT INTO audit.applied (tbl, k, op, ver) VALUES (
         TG_TABLE_NAME,
         CASE TG_TABLE_NAME WHEN 'items' THEN r->>'id' WHEN 'tags' THEN r->>'code'
              ELSE (r->>'order_id') || '/' || (r->>'line_no') END,
         TG_OP,
         (r->>'ver')::bigint);
       RETURN NULL;
     END $$`,
    ...['items', 'tags', 'lines'].map(
      (t) =>
        `CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON e2e.${t} FOR EACH ROW EXECUTE FUNCTION audit.record()`,
    ),
  ]);
}

export async function readAudit(url: string): Promise<AppliedChange[]> {
  const rows = await sql<{ n: string; tx: string; tbl: string; k: string; op: AppliedChange['op']; ver: string }>(url, [
    'SELECT n, tx, tbl, k, op, ver FROM audit.applied ORDER BY n',
  ]);
  return rows.map((r) => ({ n: Number(r.n), tx: r.tx, table: r.tbl, key: r.k, op: r.op, ver: Number(r.ver) }));
}

/** Every table in the database outside the system schemas, `schema.table`. */
export async function userTables(url: string): Promise<string[]> {
  const rows = await sql<{ t: string }>(url, [
    `SELECT schemaname || '.' || tablename AS t FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  ]);
  return rows.map((r) => r.t);
}

/**
 * Where the checkpoint the sink stored for `pipeline` stands (what a restart resumes from):
 * `snapshot` while a table has chunks left to read, `stream` once none has, null before the first batch.
 */
export async function storedPhase(url: string, pipeline: string): Promise<'snapshot' | 'stream' | null> {
  const [table] = await sql<{ exists: boolean }>(url, [
    "SELECT to_regclass('e2e.highwater_checkpoints') IS NOT NULL AS exists",
  ]);
  if (table?.exists !== true) return null;
  const rows = await sql<{ checkpoint: { tables: Record<string, { phase: string }> } }>(
    url,
    ['SELECT checkpoint FROM e2e.highwater_checkpoints WHERE pipeline = $1'],
    [pipeline],
  );
  const tables = rows[0]?.checkpoint?.tables;
  if (tables === undefined) return null;
  const phases = Object.values(tables).map((t) => t.phase);
  return phases.length > 0 && phases.every((p) => p === 'stream') ? 'stream' : 'snapshot';
}
