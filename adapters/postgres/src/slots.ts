import { DatabaseSetupError } from '@highwater/core';
import { type ConnectionSettings, connect } from './connection.js';
import { toHighwaterError } from './errors.js';
import { quoteIdent } from './sql/identifiers.js';
import type { Queryable } from './sql/queryable.js';

/**
 * Slot names Highwater creates start with this: the adapter's default is `highwater`, the CLI's
 * `highwater_<pipeline>`. `highwater slots` and the idle-slot report look at these (and at the
 * pipeline's own slot, whatever its name).
 */
export const HIGHWATER_SLOT_PREFIX = 'highwater';

/** A logical replication slot as `pg_replication_slots` shows it, with the WAL it makes the server keep. */
export interface SlotReport {
  readonly name: string;
  readonly database: string;
  readonly plugin: string;
  readonly active: boolean;
  readonly activePid: number | null;
  /**
   * Bytes of WAL the server keeps for this slot: from its `restart_lsn` to the current WAL end
   * (`null` when the slot has no restart position, e.g. invalidated).
   */
  readonly retainedWalBytes: number | null;
  /** `confirmed_flush_lsn`, as Postgres prints it (`0/16B3748`). */
  readonly confirmedFlush: string | null;
  /** `reserved`, `extended`, `unreserved` or `lost` (Postgres 13+), else null. */
  readonly walStatus: string | null;
  /** When the slot was last released (Postgres 17+ `inactive_since`); null while active or on older servers. */
  readonly inactiveSince: Date | null;
}

/**
 * The `pgoutput` slots of Highwater (named `highwater…`) and those named in `alsoNames`, on any
 * database of the server (a slot of another database still retains WAL for the whole server).
 */
export async function listSlots(client: Queryable, alsoNames: readonly string[] = []): Promise<SlotReport[]> {
  const result = await client.query<{
    slot_name: string;
    database: string;
    plugin: string;
    active: string;
    active_pid: string | null;
    retained: string | null;
    confirmed: string | null;
    wal_status: string | null;
    inactive_since: string | null;
  }>(
    // wal_status (13+) and inactive_since (17+) are read through to_jsonb so older servers give null.
    `SELECT slot_name, database, plugin, active, active_pid, confirmed_flush_lsn::text AS confirmed,
            pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                            restart_lsn)::bigint::text AS retained,
            to_jsonb(s) ->> 'wal_status' AS wal_status, to_jsonb(s) ->> 'inactive_since' AS inactive_since
       FROM pg_replication_slots s
      WHERE slot_type = 'logical' AND (starts_with(slot_name, $1) OR slot_name = ANY($2::text[]))
      ORDER BY slot_name`,
    [HIGHWATER_SLOT_PREFIX, [...alsoNames]],
  );
  return result.rows.map((r) => ({
    name: r.slot_name,
    database: r.database,
    plugin: r.plugin,
    active: r.active === 't',
    activePid: r.active_pid === null ? null : Number(r.active_pid),
    retainedWalBytes: r.retained === null ? null : Number(r.retained),
    confirmedFlush: r.confirmed,
    walStatus: r.wal_status,
    inactiveSince: r.inactive_since === null ? null : new Date(r.inactive_since),
  }));
}

/**
 * Drops a replication slot. A reader that closed a moment ago may still hold it while its server
 * process exits, so an active slot is waited for (up to about five seconds) before the drop is
 * refused. Returns false when no such slot exists.
 */
export async function dropSlot(client: Queryable, name: string): Promise<boolean> {
  for (let i = 0; ; i++) {
    const found = await client.query<{ active: string; pid: string | null }>(
      'SELECT active, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
      [name],
    );
    const slot = found.rows[0];
    if (slot === undefined) return false;
    if (slot.active !== 't') {
      await client.query('SELECT pg_drop_replication_slot($1)', [name]);
      return true;
    }
    if (i >= 50) {
      throw new DatabaseSetupError(
        `postgres: replication slot ${name} is in use by process ${slot.pid}: stop that reader first ` +
          `(or run \`SELECT pg_terminate_backend(${slot.pid});\`), then drop it`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Drops a publication; false when it does not exist. */
export async function dropPublication(client: Queryable, name: string): Promise<boolean> {
  const found = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  if (found.rows.length === 0) return false;
  await client.query(`DROP PUBLICATION ${quoteIdent(name)}`);
  return true;
}

/** What to drop, by name. */
export interface ReplicationStateNames {
  readonly slot?: string;
  readonly publication?: string;
}

/**
 * Drops a slot and a publication on their own connection; returns what was dropped, in words
 * (`replication slot highwater_shop`, `publication highwater_shop`). The publication is dropped only
 * after its slot, so a slot never outlives the publication it decodes with for long.
 */
export async function dropReplicationState(
  connection: ConnectionSettings,
  names: ReplicationStateNames,
): Promise<string[]> {
  const client = await connect(connection, 'highwater-cleanup');
  try {
    const dropped: string[] = [];
    if (names.slot !== undefined && (await dropSlot(client, names.slot))) {
      dropped.push(`replication slot ${names.slot}`);
    }
    if (names.publication !== undefined && (await dropPublication(client, names.publication))) {
      dropped.push(`publication ${names.publication}`);
    }
    return dropped;
  } catch (error) {
    throw toHighwaterError(error, 'drop replication state');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** {@link listSlots} on its own connection, for commands that do not hold one. */
export async function inspectSlots(
  connection: ConnectionSettings,
  alsoNames: readonly string[] = [],
): Promise<SlotReport[]> {
  const client = await connect(connection, 'highwater-slots');
  try {
    return await listSlots(client, alsoNames);
  } catch (error) {
    throw toHighwaterError(error, 'list replication slots');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The server refused a new slot because `max_replication_slots` are taken: say which slots exist,
 * which are idle and how much WAL each keeps, and how to drop one.
 */
export async function slotsExhaustedError(
  client: Queryable,
  wanted: string,
  cause: unknown,
): Promise<DatabaseSetupError> {
  const all = await client
    .query<{ slot_name: string; slot_type: string; active: string; retained: string | null }>(
      `SELECT slot_name, slot_type, active,
              pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                              restart_lsn)::bigint::text AS retained
         FROM pg_replication_slots ORDER BY active, slot_name`,
    )
    .then(
      (r) => r.rows,
      () => null,
    );
  const list =
    all === null
      ? '(could not list them)'
      : all
          .map(
            (s) =>
              `${s.slot_name} (${s.slot_type}, ${s.active === 't' ? 'in use' : 'idle'}` +
              `${s.retained === null ? '' : `, retains ${formatBytes(Number(s.retained))} of WAL`})`,
          )
          .join(', ');
  const idle = all?.find((s) => s.active !== 't' && s.slot_type === 'logical')?.slot_name ?? '<name>';
  return new DatabaseSetupError(
    `postgres: cannot create replication slot ${wanted}: all replication slots are in use ` +
      `(max_replication_slots); the server has ${list}. Drop one that nothing reads any more with ` +
      `\`highwater slots <pipeline.yaml> --drop ${idle}\` or \`SELECT pg_drop_replication_slot('${idle}');\`, ` +
      'or raise max_replication_slots (needs a server restart)',
    { cause },
  );
}

/** `850 MB`, `12 kB`: binary multiples, as Postgres' pg_size_pretty prints them. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 10 * 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.round(value)} ${units[unit]}`;
}
