import {
  ConfigError,
  DatabaseSetupError,
  OffsetUnavailableError,
  PermissionError,
  type TableId,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type pg from 'pg';
import { type ConnectionSettings, connect } from './connection.js';
import { toHighwaterError } from './errors.js';
import { requireReplicaIdentity } from './replica-identity.js';
import type { Queryable } from './sql/queryable.js';
import { serverProblems } from './setup-check.js';
import { slotsExhaustedError } from './slots.js';
import { quoteIdent, qualifiedName } from './sql/identifiers.js';
import { currentSnapshot } from './watermarks.js';

export interface ReplicationSettings {
  readonly slotName: string;
  readonly publicationName: string;
  readonly createSlot: boolean;
  readonly createPublication: boolean;
  readonly dropSlotOnClose: boolean;
}

/** The slot as `pg_replication_slots` shows it. */
export interface SlotState {
  readonly plugin: string;
  readonly active: boolean;
  readonly activePid: number | null;
  /** `confirmed_flush_lsn`: transactions committed before it are no longer delivered. */
  readonly confirmedFlush: string | null;
  /** True when this call created it. */
  readonly created: boolean;
}

/**
 * Fails with a clear, typed error unless the server can do logical replication for this user: a
 * `DatabaseSetupError` for the server setting, else a `PermissionError` (each naming the statement to run).
 */
export async function checkServer(client: Queryable): Promise<void> {
  const problems = await serverProblems(client);
  const wal = problems.find((p) => p.sql[0]?.startsWith('ALTER SYSTEM') === true);
  if (wal !== undefined)
    throw new DatabaseSetupError(`postgres: ${wal.what}: run \`${wal.sql[0]}\` and restart the server`);
  const role = problems[0];
  if (role !== undefined) throw new PermissionError(`postgres: ${role.what}: run \`${role.sql[0]}\``);
}

/** Creates the slot when missing (if allowed), and says clearly when it cannot be used. */
export async function ensureSlot(client: Queryable, settings: ReplicationSettings): Promise<SlotState> {
  const name = settings.slotName;
  const found = await client.query<{
    plugin: string;
    active: string;
    active_pid: string | null;
    confirmed: string | null;
    same_db: string;
    wal_status: string | null;
  }>(
    // wal_status exists from Postgres 13 on: read through to_jsonb so older servers give null.
    `SELECT plugin, active, active_pid, confirmed_flush_lsn::text AS confirmed, (database = current_database()) AS same_db,
            to_jsonb(s) ->> 'wal_status' AS wal_status
       FROM pg_replication_slots s WHERE slot_name = $1`,
    [name],
  );
  const slot = found.rows[0];
  if (slot === undefined) {
    if (!settings.createSlot) {
      throw new DatabaseSetupError(
        `postgres: replication slot ${name} does not exist: create it with ` +
          `\`SELECT pg_create_logical_replication_slot('${name}', 'pgoutput');\` or allow the adapter to (createSlot: true)`,
      );
    }
    const created = await client
      .query<{ lsn: string }>("SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", [name])
      .catch(async (error: unknown) => {
        // 53400 configuration_limit_exceeded: "all replication slots are in use".
        if ((error as { code?: unknown }).code === '53400') throw await slotsExhaustedError(client, name, error);
        if (createdMeanwhile(error)) return null;
        throw error;
      });
    // Another process (a cluster member starting beside this one) created it first: use that one.
    if (created === null) return ensureSlot(client, settings);
    return {
      plugin: 'pgoutput',
      active: false,
      activePid: null,
      confirmedFlush: created.rows[0]?.lsn ?? null,
      created: true,
    };
  }
  if (slot.plugin !== 'pgoutput') {
    throw new ConfigError(
      `postgres: replication slot ${name} uses the ${slot.plugin} plugin, the adapter needs pgoutput: ` +
        'choose another slotName, or drop it (`SELECT pg_drop_replication_slot(...)`) if nothing else uses it',
    );
  }
  if (slot.same_db !== 't') {
    throw new ConfigError(`postgres: replication slot ${name} belongs to another database: choose another slotName`);
  }
  if (slot.wal_status === 'lost') {
    throw new OffsetUnavailableError(
      `postgres: replication slot ${name} was invalidated by the server (wal_status 'lost': it fell further behind ` +
        'than max_slot_wal_keep_size allows, and the WAL it needed is removed), so the changes since it was last ' +
        `confirmed are gone: drop it with \`SELECT pg_drop_replication_slot('${name}');\`, delete the stored ` +
        'checkpoint, and start again with a new snapshot',
    );
  }
  return {
    plugin: slot.plugin,
    active: slot.active === 't',
    activePid: slot.active_pid === null ? null : Number(slot.active_pid),
    confirmedFlush: slot.confirmed,
    created: false,
  };
}

/**
 * Creates the publication when missing (with `publish_via_partition_root`, so partitioned tables are
 * published under their root) and adds captured tables it lacks — or, when the adapter may not
 * manage it, says which statement adds them. Returns true when this call created the publication.
 *
 * The publication must exist before the slot that reads it: `pgoutput` looks it up by name in the
 * catalog as it was when each decoded change was written, and a change written before the
 * publication existed cannot be decoded at all (`publication "…" does not exist`, for every table).
 * So the adapter calls this (with the tables it knows, possibly none) before creating a slot; see
 * {@link awaitTransactionsRunningNow} for a slot that already exists.
 */
export async function ensurePublication(
  client: Queryable,
  settings: ReplicationSettings,
  tables: readonly TableId[],
): Promise<boolean> {
  const name = settings.publicationName;
  const found = await client.query<{ puballtables: string }>(
    'SELECT puballtables FROM pg_publication WHERE pubname = $1',
    [name],
  );
  const publication = found.rows[0];
  const list = tables.map(qualifiedName).join(', ');
  if (publication === undefined) {
    if (!settings.createPublication) {
      throw new DatabaseSetupError(
        `postgres: publication ${name} does not exist: create it (before the replication slot) with ` +
          `\`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list || '...'} WITH (publish_via_partition_root = true);\`, ` +
          'or let the adapter create it (createPublication: true)',
      );
    }
    const forTables = tables.length === 0 ? '' : ` FOR TABLE ${list}`;
    const made = await client
      .query(`CREATE PUBLICATION ${quoteIdent(name)}${forTables} WITH (publish_via_partition_root = true)`)
      .then(
        () => true,
        (error: unknown) => {
          if (createdMeanwhile(error)) return false;
          throw error;
        },
      );
    if (made) return true;
    // Another process (a cluster member starting beside this one) created it first: add the tables to that one.
    await ensurePublication(client, settings, tables);
    return false;
  }
  if (publication.puballtables === 't' || tables.length === 0) return false;
  const published = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [name],
  );
  const have = new Set(published.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  // Partitions are listed instead of their root when the publication does not publish via the root.
  const missing: TableId[] = [];
  for (const id of tables) {
    if (have.has(tableName({ schema: id.schema ?? 'public', name: id.name }))) continue;
    // A table a resumed pipeline knew that is gone under this name (dropped, or renamed: a renamed
    // table stays published) while it was down: its log reader reports that.
    const exists = await client.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [qualifiedName(id)]);
    if (exists.rows[0]?.r === null || exists.rows[0]?.r === undefined) continue;
    const partitions = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_partition_tree($1::regclass) p
         JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace s ON s.oid = c.relnamespace
         JOIN pg_publication_tables t ON t.pubname = $2 AND t.schemaname = s.nspname AND t.tablename = c.relname
        WHERE p.isleaf`,
      [qualifiedName(id), name],
    );
    if (Number(partitions.rows[0]?.n ?? 0) === 0) missing.push(id);
  }
  if (missing.length === 0) return false;
  const add = `ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${missing.map(qualifiedName).join(', ')}`;
  if (!settings.createPublication) {
    throw new DatabaseSetupError(
      `postgres: publication ${name} does not publish ${missing.map((t) => tableName(t)).join(', ')}: run \`${add};\``,
    );
  }
  await client.query(add);
  return false;
}

/**
 * Waits until every transaction running now has ended. After creating a publication for a slot
 * that already existed: a transaction that wrote before the publication existed and commits later
 * would make `pgoutput` fail on it; once this returns, such transactions have committed before any
 * watermark the introspector takes afterwards, so a log read from that watermark skips them.
 * (Creating a slot waits the same way by itself.)
 */
export async function awaitTransactionsRunningNow(client: Queryable): Promise<void> {
  const own = await client.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x');
  const xid = BigInt((own.rows[0] as { x: string }).x);
  for (let wait = 1; (await currentSnapshot(client)).xmin < xid; wait = Math.min(wait * 2, 100)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Checks the server and makes sure slot and publication exist; returns the slot's state. */
export async function ensureReplication(
  connection: ConnectionSettings,
  settings: ReplicationSettings,
  tables: readonly TableSchema[],
): Promise<SlotState & { readonly publicationCreated: boolean }> {
  let client: pg.Client | undefined;
  try {
    client = await connect(connection, 'highwater-setup');
    await checkServer(client);
    // Before the publication: a table without a replica identity that joins a publication makes the
    // server refuse UPDATE and DELETE on it.
    await requireReplicaIdentity(client, tables);
    const publicationCreated = await ensurePublication(
      client,
      settings,
      tables.map((t) => t.id),
    );
    return { ...(await ensureSlot(client, settings)), publicationCreated };
  } catch (error) {
    throw toHighwaterError(error, 'replication setup');
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/**
 * Whether creating a publication or slot failed because another session created it since this one
 * looked: 42710 duplicate_object ("… already exists"), or 23505 unique_violation when both inserted
 * into the catalog at once.
 */
function createdMeanwhile(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '42710' || code === '23505';
}
