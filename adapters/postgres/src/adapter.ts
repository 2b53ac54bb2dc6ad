import { type AdapterCapabilities, type SourceAdapter, type TableId, tableName } from '@highwater/core';
import type pg from 'pg';
import { type ChunkPlans, PgChunkReader } from './chunk-reader.js';
import { comparePgKeys } from './compare-keys.js';
import { type ConnectionSettings, connect } from './connection.js';
import { toHighwaterError } from './errors.js';
import { PgIntrospector } from './introspector.js';
import { type ColumnNumbers, createPgLogReader } from './log-reader.js';
import { parseLsn } from './offsets/lsn.js';
import { type PgOffset, pgOffsets, positionAt } from './offsets/pg-offset.js';
import { replicaIdentityProblem } from './replica-identity.js';
import { dropReplicationState } from './slots.js';
import type { Queryable } from './sql/queryable.js';
import {
  awaitTransactionsRunningNow,
  checkServer,
  ensurePublication,
  ensureReplication,
  ensureSlot,
  type ReplicationSettings,
} from './replication-setup.js';

export interface PostgresAdapterOptions {
  /** Connection string (`postgres://user@host:5432/db`) or a `pg` client configuration. */
  readonly connection: ConnectionSettings;
  /** Replication slot name (default `highwater`). Created when missing unless `createSlot` is false. */
  readonly slotName?: string;
  /** Publication name (default `highwater`). Created when missing unless `createPublication` is false. */
  readonly publicationName?: string;
  /** Create the slot when missing (default true). */
  readonly createSlot?: boolean;
  /** Create the publication when missing (default true), for the captured tables. */
  readonly createPublication?: boolean;
  /** Drop the slot when the log reader is closed (default false; for tests and one-off runs). */
  readonly dropSlotOnClose?: boolean;
  /** Rows per batch yielded by `readChunk` (default 4096). */
  readonly chunkBatchSize?: number;
  /**
   * `highWatermark()` writes a non-transactional logical message (`pg_logical_emit_message`) and
   * returns its position, so the log reader passes the watermark even when nothing captured changes
   * (default true). When false, the watermark is `pg_current_wal_insert_lsn()` and the reader relies
   * on keepalives to pass it.
   */
  readonly watermarkMessages?: boolean;
  /** How long `lowWatermark()` waits for in-progress transactions before using an older safe sample (default 2000 ms). */
  readonly lowWatermarkPatienceMs?: number;
}

const capabilities: AdapterCapabilities = {
  startFromEarliest: true,
  startFromTimestamp: false,
  schemaChanges: true,
  truncate: true,
  addTables: true,
};

/**
 * The Highwater adapter for PostgreSQL (10+; tested on 15): logical replication with `pgoutput`,
 * snapshot chunks with `COPY … TO STDOUT`, and one text decoder for both.
 *
 * @example
 * const adapter = postgresAdapter({ connection: 'postgres://cdc@db:5432/shop' });
 * const source = createSource({ adapter, tables: { include: ['public.*'] } });
 */
export function postgresAdapter(options: PostgresAdapterOptions): SourceAdapter<PgOffset> {
  const replication: ReplicationSettings = {
    slotName: options.slotName ?? 'highwater',
    publicationName: options.publicationName ?? 'highwater',
    createSlot: options.createSlot ?? true,
    createPublication: options.createPublication ?? true,
    dropSlotOnClose: options.dropSlotOnClose ?? false,
  };
  const messagePrefix = `highwater:${replication.slotName}`;
  /** Where the slot started when this adapter instance created it (it has nothing older to deliver). */
  let createdAt: string | null = null;
  /**
   * Watermarks this instance handed out after creating the slot. A log read from one of them is a
   * fresh start whose snapshot covers what the new slot lacks; any other position older than the
   * slot (a checkpoint from a lost slot) is refused as unavailable.
   */
  const issued = new Set<string>();
  const offsetKey = (o: PgOffset) => JSON.stringify(pgOffsets.toJSON(o));
  /** This instance has checked the server and made sure the slot exists. */
  let prepared = false;
  /** What this instance created in the database (`dropLogState('created')` drops it). */
  const created = { slot: false, publication: false };
  /** Tables this instance has made sure the publication has. */
  const published = new Set<string>();
  /**
   * Makes sure the publication exists (empty when it is new: tables join it in `onDescribe`), then
   * the slot. In that order: `pgoutput` looks the publication up in the catalog as it was when each
   * decoded change was written, and fails on a change written before the publication existed — a
   * slot created first could not decode a transaction in flight while the publication was created.
   * A new slot decodes only transactions that start after it was created (creating it waits for
   * those running), so all of them see the publication. When the slot already existed (made by the
   * user) and the publication is created only now, wait for the transactions running now instead,
   * so that the first watermark lies after their commits and the log is read after them.
   * With `createPublication: false`, a missing publication is a `ConfigError` here, before anything
   * is read, not a decoding error in the stream later.
   */
  const publicationThenSlot = async (db: Queryable) => {
    const createdPublication = await ensurePublication(db, replication, []);
    if (createdPublication) created.publication = true;
    const slot = await ensureSlot(db, replication);
    if (slot.created) {
      createdAt = slot.confirmedFlush;
      created.slot = true;
    } else if (createdPublication) await awaitTransactionsRunningNow(db);
    return slot;
  };
  /**
   * The slot must exist before the first watermark is taken: a slot only delivers transactions that
   * commit after it was created. So the first introspector makes sure of it (on its own connection),
   * and of the publication before it.
   */
  const prepareSlot = async (db: Queryable) => {
    await checkServer(db);
    await publicationThenSlot(db);
    prepared = true;
  };
  const chunkPlans: ChunkPlans = new Map();
  const columnNumbers: ColumnNumbers = new Map();
  return {
    name: 'postgres',
    capabilities,
    offsets: pgOffsets,
    compareKeys: comparePgKeys,
    async createIntrospector() {
      let client: pg.Client | undefined;
      try {
        client = await connect(options.connection, 'highwater-introspector');
        if (replication.createSlot && !prepared) await prepareSlot(client);
        const reconnect = () => connect(options.connection, 'highwater-introspector');
        return new PgIntrospector(
          client,
          {
            watermarkMessages: options.watermarkMessages ?? true,
            messagePrefix,
            lowWatermarkPatienceMs: options.lowWatermarkPatienceMs ?? 2000,
            earliest: async (db) => {
              const slot = await publicationThenSlot(db);
              return positionAt(parseLsn(slot.confirmedFlush ?? '0/0'));
            },
            onWatermark: (o) => {
              if (createdAt !== null) issued.add(offsetKey(o));
            },
            onDescribe: replication.createPublication
              ? async (ids, db) => {
                  // Tables join the publication before the first watermark: pgoutput decides what to
                  // send by the publication as it was when a change was written.
                  // A table without a replica identity stays out: in a publication, the server would
                  // refuse UPDATE and DELETE on it (createLogReader says what to run instead).
                  const missing: TableId[] = [];
                  for (const id of ids) {
                    if (published.has(tableName(id))) continue;
                    if ((await replicaIdentityProblem(db, id, [])) === null) missing.push(id);
                  }
                  if (missing.length === 0) return;
                  // The publication exists already (prepareSlot) unless the slot is the user's
                  // (createSlot: false) or it was dropped since: then see publicationThenSlot.
                  if (await ensurePublication(db, replication, missing)) {
                    created.publication = true;
                    await awaitTransactionsRunningNow(db);
                  }
                  for (const id of missing) published.add(tableName(id));
                }
              : undefined,
          },
          reconnect,
        );
      } catch (error) {
        await client?.end().catch(() => undefined);
        throw toHighwaterError(error, 'connect');
      }
    },
    async createChunkReader() {
      try {
        const client = await connect(options.connection, 'highwater-chunk-reader');
        return new PgChunkReader(client, options.chunkBatchSize ?? 4096, chunkPlans, columnNumbers);
      } catch (error) {
        throw toHighwaterError(error, 'connect');
      }
    },
    async createLogReader(request) {
      const known = prepared && request.tables.every((t) => published.has(tableName(t.id)));
      if (!known) {
        const slot = await ensureReplication(options.connection, replication, request.tables);
        if (slot.created) {
          createdAt = slot.confirmedFlush;
          created.slot = true;
        }
        if (slot.publicationCreated) created.publication = true;
        if (replication.createPublication) for (const t of request.tables) published.add(tableName(t.id));
      }
      const fresh = createdAt !== null && issued.has(offsetKey(request.from)) ? createdAt : null;
      return createPgLogReader(options.connection, replication, messagePrefix, request, {
        columnNumbers,
        createdAt: fresh,
        slotCreatedAt: createdAt,
      });
    },
    async dropLogState(scope) {
      const slot = scope === 'created' ? created.slot : replication.createSlot;
      const publication = scope === 'created' ? created.publication : replication.createPublication;
      if (!slot && !publication) return [];
      const dropped = await dropReplicationState(options.connection, {
        slot: slot ? replication.slotName : undefined,
        publication: publication ? replication.publicationName : undefined,
      });
      if (slot) {
        created.slot = false;
        createdAt = null;
        prepared = false;
      }
      if (publication) {
        created.publication = false;
        published.clear();
      }
      return dropped;
    },
  };
}
