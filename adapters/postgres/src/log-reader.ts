import {
  type ColumnSchema,
  DatabaseSetupError,
  ConnectionLostError,
  type LogItem,
  type LogReader,
  type LogReadRequest,
  OffsetUnavailableError,
  type Row,
  type TableSchema,
  tableName,
  type Value,
} from '@highwater/core';
import { Socket } from 'node:net';
import type pg from 'pg';
import { LogicalReplicationService, type Pgoutput } from 'pg-logical-replication';
import { type ConnectionSettings, clientConfig, connect } from './connection.js';
import {
  type ColumnRow,
  columnQuery,
  columnsOf,
  type DescribedTable,
  describeTable,
  keyQuery,
} from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { formatLsn, type Lsn, parseLsn } from './offsets/lsn.js';
import { compareOffsets, type PgOffset, positionAt } from './offsets/pg-offset.js';
import { type Message, RawTextPgoutput, type Tuple } from './pgoutput.js';
import { requireReplicaIdentity } from './replica-identity.js';
import { ensurePublication, ensureSlot, type ReplicationSettings } from './replication-setup.js';
import { decoderFor, type TextDecoder } from './types/decode.js';
import { logicalTypeOf } from './types/logical-type.js';
import { TypeCatalog } from './types/type-catalog.js';

/** How long a closing reader waits for the server to close the replication socket after Terminate. */
const GOODBYE_TIMEOUT_MS = 2_000;

/** Requested replies within the window that mean the server is shutting down (see `serverStopping`). */
const SHUTDOWN_PINGS = 5;
const SHUTDOWN_PING_WINDOW_MS = 1000;

/** A message waiting behind a relation message (see {@link PgLogReader}'s `backlog`). */
type Entry =
  | { readonly kind: 'data'; readonly lsn: string; readonly message: Message }
  | { readonly kind: 'keepalive'; readonly lsn: string }
  | { readonly kind: 'error'; readonly error: unknown };

interface Relation {
  readonly table: string;
  readonly schema: TableSchema;
  readonly columns: readonly { readonly name: string; readonly decode: TextDecoder }[];
  readonly replicaIdentity: Pgoutput.MessageRelation['replicaIdentity'];
  readonly identityColumns: readonly string[];
  /** Column numbers in the catalog when the message was resolved (none when the table is gone). */
  readonly numbers: ReadonlyMap<string, number> | null;
  /** The relation's oid: the same table whatever its name. */
  readonly oid: number;
  /** The table's name in the previous relation message of the same relation, when it was renamed since. */
  readonly renamedFrom?: string;
}

interface Transaction {
  readonly commitLsn: Lsn;
  readonly commitTime: number;
  readonly txId: string;
  /** Row changes (and truncated tables) so far in the transaction. */
  seq: number;
}

/**
 * Per table (`schema.name`), its columns' numbers (`attnum`) as last seen: kept by the log reader
 * and shared with the adapter's chunk readers, which read a column renamed during the snapshot under
 * its new name until the core has seen the rename.
 */
export type ColumnNumbers = Map<string, ReadonlyMap<string, number>>;

export interface LogReaderTuning {
  /** Shared with the chunk readers (see {@link ColumnNumbers}); a map of the reader's own when absent. */
  readonly columnNumbers?: ColumnNumbers;
  /** Items per yielded batch, at most (default 4096). */
  readonly batchSize?: number;
  /**
   * Backpressure: when this many items and messages wait unread, stop reading the replication
   * socket until they are down to a tenth of it (default 50 000). Keepalives stay in order with the data.
   */
  readonly maxQueued?: number;
  /** Unsolicited keepalives are answered at most this often (ms, default 1000); each answer invites the next one. */
  readonly keepaliveReplyIntervalMs?: number;
  /**
   * Where the slot started, when this adapter instance created it: positions before that were never
   * in the slot, and the snapshot (whose reads start after the slot existed) covers them. Only while
   * the slot has not been advanced past its start.
   */
  readonly createdAt?: string | null;
  /** Where the slot started when this adapter instance created it (whatever the position asked for), for messages. */
  readonly slotCreatedAt?: string | null;
  /**
   * How often, at most, the reader asks the catalog whether its tables still exist under their names
   * and with which columns (ms, default 1000): pgoutput carries no DROP TABLE, and a table or column
   * rename, an added or dropped column or a type change only with the table's next change.
   * Checks run when a keepalive or a watermark message arrives.
   */
  readonly tableCheckIntervalMs?: number;
}

/**
 * What a catalog check (see {@link PgLogReader}'s `checkTables`) found different from what the
 * reader reported: to be reported once everything committed before `at` has been delivered.
 */
interface CatalogCheck {
  /** The WAL insert position read after the catalog: every DDL the check saw committed before it. */
  readonly at: Lsn;
  /** The reader's count of handled relation messages when the check was asked (see `relationsHandled`). */
  readonly since: number;
  /** Captured tables the catalog no longer has under their names. */
  readonly tables: readonly {
    readonly table: string;
    /** The oid the reader knew when it checked (null: the table was missing when the reader learnt of it). */
    readonly oid: number | null;
    /** The table's qualified name now, when the relation still exists (renamed); null when dropped. */
    readonly renamedTo: string | null;
  }[];
  /** Captured tables whose columns in the catalog differ from those last reported. */
  readonly changed: readonly {
    readonly table: string;
    readonly oid: number;
    readonly columns: readonly ColumnSchema[];
    readonly numbers: ReadonlyMap<string, number>;
    readonly primaryKey: readonly string[];
  }[];
}

/** What the server said about the slot and the WAL when the reader opened. */
interface OpenState {
  /** The slot's `confirmed_flush_lsn`. */
  readonly confirmed: Lsn;
  /** The server's WAL end. */
  readonly walEnd: Lsn;
}

/** Opens the replication stream after `request.from`; see {@link PgLogReader}. */
export async function createPgLogReader(
  connection: ConnectionSettings,
  settings: ReplicationSettings,
  messagePrefix: string,
  request: LogReadRequest<PgOffset>,
  tuning: LogReaderTuning = {},
): Promise<PgLogReader> {
  let client: pg.Client | undefined;
  try {
    client = await connect(connection, 'highwater-log-reader');
    let slot = await ensureSlot(client, settings);
    for (let i = 0; slot.active && i < 50; i++) {
      // A reader of ours closed a moment ago may still hold it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      slot = await ensureSlot(client, settings);
    }
    if (slot.active) {
      throw new DatabaseSetupError(
        `postgres: replication slot ${settings.slotName} is in use by process ${slot.activePid}: stop the other ` +
          `reader, or run \`SELECT pg_terminate_backend(${slot.activePid});\`, or give this source its own slotName`,
      );
    }
    const confirmed = slot.confirmedFlush === null ? 0n : parseLsn(slot.confirmedFlush);
    const fresh =
      tuning.createdAt !== undefined && tuning.createdAt !== null && confirmed <= parseLsn(tuning.createdAt);
    if (!fresh && confirmed > request.from.commitLsn) {
      const createdNow = tuning.slotCreatedAt !== undefined && tuning.slotCreatedAt !== null;
      // A slot this adapter created for a resume it now refuses serves nobody and would pin WAL
      // until the user acts; a slot that existed before is the user's to decide about. If dropping
      // fails, the refusal is still the error to report, and it says to drop the slot by hand.
      const dropped =
        createdNow &&
        (await client.query('SELECT pg_drop_replication_slot($1)', [settings.slotName]).then(
          () => true,
          () => false,
        ));
      throw unavailable(settings.slotName, request.from, confirmed, tuning, dropped);
    }
    await requireReplicaIdentity(client, request.tables);
    const walEnd = await client.query<{ l: string }>(
      'SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS l',
    );
    const reader = new PgLogReader(connection, client, settings, messagePrefix, request, tuning, {
      confirmed,
      walEnd: parseLsn(walEnd.rows[0]?.l ?? '0/0'),
    });
    await reader.start();
    return reader;
  } catch (error) {
    await client?.end().catch(() => undefined);
    throw toHighwaterError(error, 'open log reader');
  }
}

/** The log after `from` is gone from the slot: say what happened and that only a new snapshot helps. */
function unavailable(
  slotName: string,
  from: PgOffset,
  confirmed: Lsn,
  tuning: LogReaderTuning,
  newSlotDropped: boolean,
): OffsetUnavailableError {
  const what =
    tuning.slotCreatedAt !== undefined && tuning.slotCreatedAt !== null
      ? `replication slot ${slotName} did not exist and was created just now at ${tuning.slotCreatedAt} (was it ` +
        `dropped?), so the changes between the two are not in it (${newSlotDropped ? 'the new slot was dropped again' : `drop the new slot: SELECT pg_drop_replication_slot('${slotName}');`})`
      : `replication slot ${slotName} has already confirmed everything before ${formatLsn(confirmed)} and the server ` +
        'no longer delivers it (was the slot advanced by another consumer, or dropped and re-created?)';
  return new OffsetUnavailableError(
    `postgres: cannot read the log after ${formatLsn(from.commitLsn)} (the stored checkpoint): ${what}. Resuming would ` +
      'silently lose changes: delete the stored checkpoint (or pass resumeFrom: null) to start again with a new snapshot',
  );
}

/**
 * The replication stream as batches of log items: one slot, one connection, read once.
 *
 * - Offsets are `{commitLsn, lsn, seq}` (pgoutput delivers whole transactions in commit order).
 * - Relation messages become `schema` items when a table's columns differ from what is known.
 * - Non-transactional markers written by `highWatermark()` and keepalives received between
 *   transactions become `progress` items: everything committed before that LSN has been delivered.
 * - `acknowledge()` is manual (`{auto: false, timeoutSeconds: 0}`): the slot confirms only what the
 *   core says is stored downstream; keepalives are answered with that same position.
 *
 * Messages are turned into items as the library emits them (synchronously, in stream order), into
 * batches that wait for the iterator: nothing per message survives but the item. Only a relation
 * message needs queries (types, the table's description): it is resolved at once, and the messages
 * after it wait in `backlog` until it is, with the socket paused so that the queries are not stuck
 * behind the stream.
 */
export class PgLogReader implements LogReader<PgOffset> {
  private readonly service: LogicalReplicationService;
  private readonly catalog: TypeCatalog;
  /** Full batches of items ready to be yielded, oldest first; `current` is filled after them. */
  private readonly ready: LogItem<PgOffset>[][] = [];
  private current: LogItem<PgOffset>[] = [];
  /** Items in `ready` and `current`. */
  private readyItems = 0;
  /**
   * A relation message being resolved and the messages (and errors) received after it, from
   * `backlogHead` on; everything in `ready` and `current` precedes them.
   */
  private backlog: Entry[] = [];
  private backlogHead = 0;
  /** `drain()` is handling the backlog; the socket is paused meanwhile. */
  private resolving = false;
  /** The error that ends the stream, thrown once the items before it have been yielded. */
  private failure: { readonly error: unknown } | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly relations = new Map<number, Relation>();
  private readonly known = new Map<string, TableSchema>();
  /** Per known table, its columns' numbers (`attnum`), to tell a renamed column from a dropped and added one. */
  private readonly numbers: ColumnNumbers;
  /** Per known table, its relation's oid, when it existed as the reader learnt of it. */
  private readonly oids = new Map<string, number>();
  private readonly tableCheckInterval: number;
  private lastTableCheck = 0;
  private checkingTables = false;
  /** What a check found, waiting for the stream to pass the position the check was made at. */
  private gone: CatalogCheck | null = null;
  /** Relation messages handled so far, and per table the count when its last one was. */
  private relationsHandled = 0;
  private readonly lastRelation = new Map<string, number>();
  private txn: Transaction | null = null;
  /** The offset of the last item yielded (or `from`): everything yielded is strictly after the previous. */
  private last: PgOffset;
  /**
   * Flush position confirmed to the server: transactions committed before it are never sent again.
   * Starts at the slot's own position: a keepalive answered with less would move the slot back
   * (Postgres takes the flush position a client reports as it is).
   */
  private acked: Lsn;
  /** The newest WAL end the server reported (keepalives) or implied (commits): for the slot lag. */
  private walEnd: Lsn;
  private lastReply = 0;
  private replyTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private paused = false;
  /** Paused because too many items wait (as opposed to `resolving`). */
  private full = false;
  /** When the server asked for a reply lately (ms): a burst of them means it is shutting down. */
  private pings: number[] = [];
  private leaving = false;
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private readonly replyInterval: number;

  constructor(
    connection: ConnectionSettings,
    private readonly client: pg.Client,
    private readonly settings: ReplicationSettings,
    private readonly messagePrefix: string,
    request: LogReadRequest<PgOffset>,
    tuning: LogReaderTuning,
    state: OpenState = { confirmed: 0n, walEnd: 0n },
  ) {
    this.last = request.from;
    this.acked = state.confirmed;
    this.walEnd = state.walEnd;
    this.batchSize = tuning.batchSize ?? 4096;
    this.replyInterval = tuning.keepaliveReplyIntervalMs ?? 1000;
    this.maxQueued = tuning.maxQueued ?? 50_000;
    this.tableCheckInterval = tuning.tableCheckIntervalMs ?? 1000;
    this.catalog = new TypeCatalog(client);
    this.numbers = tuning.columnNumbers ?? new Map();
    for (const t of request.tables) this.known.set(tableName(t.id), t);
    this.service = new LogicalReplicationService(clientConfig(connection, 'highwater-replication'), {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: false },
    });
  }

  async start(): Promise<void> {
    await this.loadNumbers([...this.known.values()]);
    const service = this.service;
    // With flow control off, data and keepalives are emitted synchronously in stream order, and are
    // handled in that order (see `receive`). The messages are RawTextPgoutput's (`parseMessage`).
    service.on('data', (lsn: string, message: Message) => this.receive(lsn, message));
    service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
      this.receiveKeepalive(lsn);
      if (shouldRespond && this.serverStopping(lsn)) return;
      this.answerKeepalive(shouldRespond);
    });
    service.on('error', (error: Error) => this.failed(error));
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const plugin = new RawTextPgoutput({
      protoVersion: 1,
      publicationNames: [this.settings.publicationName],
      messages: true,
    });
    const failed = service
      .subscribe(plugin, this.settings.slotName, formatLsn(this.last.commitLsn))
      .then(() => {
        if (!this.closed) this.failed(new Error('Connection terminated: replication ended'));
      })
      .catch((error: unknown) => {
        if (!this.closed) this.failed(error);
        throw error;
      });
    await Promise.race([started, failed]);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<PgOffset>[]> {
    while (!this.closed) {
      if (this.readyItems > 0) {
        const batch = this.ready.shift() ?? this.current;
        if (batch === this.current) this.current = [];
        this.readyItems -= batch.length;
        this.checkFull();
        yield batch;
        continue;
      }
      if (this.failure !== null) {
        if (this.closed) return;
        throw toHighwaterError(this.failure.error, 'replication stream');
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  /**
   * Gauges from what the reader already knows (no query): `slotLagBytes` is the server's WAL end
   * minus the confirmed flush position — roughly the WAL this slot makes the server keep beyond what
   * it needs anyway (the slot's `restart_lsn`, which decides retention, trails the confirmed position
   * by up to one running-transactions record, logged every 15 s or at a checkpoint).
   */
  metrics(): Readonly<Record<string, number>> {
    const lag = this.walEnd > this.acked ? this.walEnd - this.acked : 0n;
    return {
      slotLagBytes: Number(lag),
      confirmedFlushLsn: Number(this.acked),
      serverWalEndLsn: Number(this.walEnd),
      queuedMessages: this.queued,
    };
  }

  async acknowledge(offset: PgOffset): Promise<void> {
    // The server skips transactions whose commit record starts before the confirmed position; the
    // transaction of `offset` itself may be unfinished downstream, so confirm up to its start.
    if (this.closed || offset.commitLsn <= this.acked) return;
    this.acked = offset.commitLsn;
    await this.reply();
  }

  /**
   * Tables the core starts capturing. The adapter's introspector added them to the publication when
   * the core described them (before their first watermark), so their changes already flow: only the
   * known schemas are updated here.
   */
  async addTables(tables: readonly TableSchema[]): Promise<void> {
    await requireReplicaIdentity(this.client, tables).catch((error: unknown) => {
      throw toHighwaterError(error, 'addTables');
    });
    if (!this.settings.createPublication) {
      // The user's publication: say which statement adds what it lacks.
      await ensurePublication(
        this.client,
        this.settings,
        tables.map((t) => t.id),
      ).catch((error: unknown) => {
        throw toHighwaterError(error, 'addTables');
      });
    }
    for (const t of tables) if (!this.known.has(tableName(t.id))) this.known.set(tableName(t.id), t);
    await this.loadNumbers(tables);
  }

  /**
   * The column numbers of `tables` (see {@link DescribedTable.numbers}) and their oids: those a
   * definition carries (`sourceIds`: as the pipeline last knew the table, e.g. from its checkpoint,
   * so a table or column renamed since is told from a drop and an add), else the catalog's now.
   */
  private async loadNumbers(tables: readonly TableSchema[]): Promise<void> {
    for (const t of tables) {
      if (t.sourceIds !== undefined) {
        const name = tableName(t.id);
        this.numbers.set(name, new Map(Object.entries(t.sourceIds.columns)));
        this.oids.set(name, t.sourceIds.table);
        continue;
      }
      const rows = await this.client
        .query<{ oid: string; attname: string | null; attnum: number | null }>(
          `SELECT c.oid::int8::text AS oid, a.attname, a.attnum FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND c.relname = $2`,
          [t.id.schema ?? 'public', t.id.name],
        )
        .catch((error: unknown) => {
          throw toHighwaterError(error, 'openLog');
        });
      const name = tableName(t.id);
      const numbers = new Map<string, number>();
      for (const r of rows.rows) if (r.attname !== null && r.attnum !== null) numbers.set(r.attname, Number(r.attnum));
      this.numbers.set(name, numbers);
      const oid = rows.rows[0]?.oid;
      // A table missing already is reported dropped by the next check (see `checkTables`).
      if (oid === undefined) this.oids.delete(name);
      else this.oids.set(name, Number(oid));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.replyTimer !== null) clearTimeout(this.replyTimer);
    if (this.statusTimer !== null) clearInterval(this.statusTimer);
    this.wake?.();
    await this.sayGoodbye();
    await this.service.destroy().catch(() => undefined);
    if (this.settings.dropSlotOnClose) {
      for (let i = 0; i < 50; i++) {
        try {
          await this.client.query(
            'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
            [this.settings.slotName],
          );
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    await this.client.end().catch(() => undefined);
  }

  /**
   * Ends the replication connection the way the protocol asks: a Terminate message, on which the
   * walsender exits quietly. The library's own stop ends the client with the START_REPLICATION
   * command still active, which makes `pg` destroy the socket without a word, and the server log
   * `unexpected EOF on standby connection` at every stop. Waits (at most `GOODBYE_TIMEOUT_MS`) for
   * the server to close the socket; the library's stop then has nothing left to cut.
   */
  private async sayGoodbye(): Promise<void> {
    const connection: unknown = Reflect.get(this.service, '_connection');
    if (typeof connection !== 'object' || connection === null) return;
    const stream: unknown = Reflect.get(connection, 'stream');
    const end: unknown = Reflect.get(connection, 'end');
    if (!(stream instanceof Socket) || typeof end !== 'function' || stream.destroyed || !stream.writable) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS);
      stream.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.paused) stream.resume();
      end.call(connection);
    });
  }

  /** A message from the library: handled now, unless a relation message before it is being resolved. */
  private receive(lsn: string, message: Message): void {
    if (this.failure !== null) return;
    if (this.resolving || message.tag === 'relation') {
      this.push({ kind: 'data', lsn, message });
      return;
    }
    const before = this.current.length;
    try {
      this.handleMessage(lsn, message, this.current);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.added(before);
  }

  private receiveKeepalive(lsn: string): void {
    if (this.failure !== null) return;
    if (this.resolving) {
      this.push({ kind: 'keepalive', lsn });
      return;
    }
    const before = this.current.length;
    try {
      this.handleKeepalive(lsn, this.current);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.added(before);
  }

  /** An error from the library or the connection: after whatever was received before it. */
  private failed(error: unknown): void {
    if (this.resolving) this.push({ kind: 'error', error });
    else this.fail(error);
  }

  /** Ends the stream with `error` once the items before it have been yielded; nothing after it is handled. */
  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = { error };
    this.wake?.();
  }

  /** Counts the items just added to `current`, closes it when full, and wakes the iterator. */
  private added(before: number): void {
    const current = this.current;
    if (current.length === before) return;
    this.readyItems += current.length - before;
    if (current.length >= this.batchSize) {
      this.ready.push(current);
      this.current = [];
    }
    if (this.readyItems >= this.maxQueued) this.checkFull();
    const wake = this.wake;
    if (wake !== null) {
      this.wake = null;
      wake();
    }
  }

  private push(entry: Entry): void {
    this.backlog.push(entry);
    this.checkFull();
    if (!this.resolving) {
      this.resolving = true;
      this.updatePause();
      void this.drain();
    }
  }

  /**
   * Handles the backlog in order: resolves each relation message (queries on the reader's own
   * connection), handles everything else as it comes, until the backlog is empty; then messages are
   * handled as they arrive again and the socket is resumed.
   */
  private async drain(): Promise<void> {
    try {
      while (this.backlogHead < this.backlog.length && !this.closed && this.failure === null) {
        const entry = this.backlog[this.backlogHead] as Entry;
        if (entry.kind === 'error') {
          this.fail(entry.error);
          break;
        }
        try {
          if (entry.kind === 'keepalive') {
            const before = this.current.length;
            this.handleKeepalive(entry.lsn, this.current);
            this.added(before);
          } else if (entry.message.tag === 'relation') {
            const relation = await this.relation(entry.message);
            const before = this.current.length;
            this.handleRelation(entry.lsn, relation, this.current);
            this.added(before);
          } else {
            const before = this.current.length;
            this.handleMessage(entry.lsn, entry.message, this.current);
            this.added(before);
          }
        } catch (error) {
          this.fail(error);
          break;
        }
        this.backlog[this.backlogHead++] = undefined as unknown as Entry;
      }
    } finally {
      this.backlog = [];
      this.backlogHead = 0;
      this.resolving = false;
      this.checkFull();
      this.updatePause();
    }
  }

  /** Items and messages received and not yet handed out (for tests and metrics). */
  get queued(): number {
    return this.readyItems + this.backlog.length - this.backlogHead;
  }

  /** Backpressure: pause at `maxQueued` waiting, resume at a tenth of it. */
  private checkFull(): void {
    const queued = this.queued;
    if (!this.full && queued >= this.maxQueued) {
      this.full = true;
      this.updatePause();
    } else if (this.full && queued <= this.maxQueued / 10) {
      this.full = false;
      this.updatePause();
    }
  }

  private updatePause(): void {
    const paused = this.full || this.resolving;
    if (paused !== this.paused) this.setPaused(paused);
  }

  /**
   * Pauses or resumes reading the replication socket. The library keeps its connection private and
   * offers no pause with flow control off, so the socket is reached by name; while paused, a status
   * update goes out every 10 s so the server's wal_sender_timeout does not end the connection.
   */
  private setPaused(paused: boolean): void {
    const connection: unknown = Reflect.get(this.service, '_connection');
    const stream: unknown =
      typeof connection === 'object' && connection !== null ? Reflect.get(connection, 'stream') : undefined;
    if (typeof stream !== 'object' || stream === null) return;
    const method: unknown = Reflect.get(stream, paused ? 'pause' : 'resume');
    if (typeof method !== 'function') return;
    method.call(stream);
    this.paused = paused;
    if (paused && this.statusTimer === null) {
      this.statusTimer = setInterval(() => void this.reply(), 10_000);
      this.statusTimer.unref();
    } else if (!paused && this.statusTimer !== null) {
      clearInterval(this.statusTimer);
      this.statusTimer = null;
    }
  }

  /**
   * A server shutting down (even a "fast" one) keeps its walsender until the client has confirmed
   * everything sent, asking for a reply again as soon as one arrives. Confirming changes the core has
   * not stored would lose them on a crash, and answering without confirming keeps the server from
   * stopping (for ever: the replies also keep wal_sender_timeout away). So a burst of requested
   * replies while behind is taken as a shutdown: the reader disconnects, which lets the server stop,
   * and reports a lost connection (the core reconnects once the server is back). Outside a shutdown
   * the server asks for a reply at most every wal_sender_timeout / 2.
   */
  private serverStopping(lsn: string): boolean {
    if (this.closed || this.leaving) return this.leaving;
    const now = Date.now();
    this.pings = this.pings.filter((t) => now - t < SHUTDOWN_PING_WINDOW_MS);
    this.pings.push(now);
    if (this.pings.length < SHUTDOWN_PINGS || this.acked >= parseLsn(lsn)) return false;
    this.leaving = true;
    this.failed(
      new ConnectionLostError(
        `postgres: the server is shutting down and waits for replication slot ${this.settings.slotName} to confirm ` +
          'changes not stored downstream yet; disconnected so that it can stop (the source reconnects when it is back)',
      ),
    );
    void this.service.destroy().catch(() => undefined);
    return true;
  }

  private answerKeepalive(shouldRespond: boolean): void {
    if (shouldRespond) {
      void this.reply();
      return;
    }
    // Answering invites the next keepalive (which carries the server's progress while idle); throttle.
    if (this.replyTimer !== null) return;
    const wait = Math.max(0, this.lastReply + this.replyInterval - Date.now());
    this.replyTimer = setTimeout(() => {
      this.replyTimer = null;
      void this.reply();
    }, wait);
  }

  private async reply(): Promise<void> {
    if (this.closed) return;
    this.lastReply = Date.now();
    // The library reports `lsn + 1` as written/flushed; send exactly the confirmed position.
    await this.service.acknowledge(formatLsn(this.acked === 0n ? 0n : this.acked - 1n)).catch(() => false);
  }

  private emit(batch: LogItem<PgOffset>[], item: LogItem<PgOffset>): void {
    if (compareOffsets(item.offset, this.last) <= 0) return;
    this.last = item.offset;
    batch.push(item);
  }

  /** Emits a schema item when a relation message shows columns other than those known. */
  private handleRelation(lsn: string, relation: Relation, batch: LogItem<PgOffset>[]): void {
    const from = relation.renamedFrom ?? this.knownByOid(relation.oid, relation.table);
    if (from !== undefined && this.known.has(from)) {
      // ALTER TABLE … RENAME TO: the same relation under a new name. The old name ends here.
      this.known.delete(from);
      this.numbers.delete(from);
      this.oids.delete(from);
      this.emit(batch, {
        kind: 'schema',
        offset: this.next(lsn, 'schema'),
        table: from,
        schema: null,
        ddl: null,
        commitTime: this.txn?.commitTime ?? null,
        renamedTo: relation.table,
      });
    }
    const known = this.known.get(relation.table);
    const previous = this.numbers.get(relation.table);
    this.oids.set(relation.table, relation.oid);
    this.lastRelation.set(relation.table, ++this.relationsHandled);
    if (relation.numbers !== null) {
      // The catalog is read when the message is resolved, maybe after a later DDL: a column the
      // message names but the catalog no longer has keeps the number it had.
      const numbers = new Map<string, number>();
      for (const c of relation.schema.columns) {
        const n = relation.numbers.get(c.name) ?? previous?.get(c.name);
        if (n !== undefined) numbers.set(c.name, n);
      }
      this.numbers.set(relation.table, numbers);
    }
    if (known === undefined || !sameColumns(known.columns, relation.schema.columns)) {
      const numbers = this.numbers.get(relation.table);
      const schema: TableSchema =
        numbers === undefined
          ? relation.schema
          : { ...relation.schema, sourceIds: { table: relation.oid, columns: Object.fromEntries(numbers) } };
      this.known.set(relation.table, schema);
      const renamedColumns =
        known === undefined || previous === undefined || relation.numbers === null
          ? {}
          : renamesOf(
              known.columns,
              previous,
              relation.schema.columns,
              this.numbers.get(relation.table) ?? relation.numbers,
            );
      this.emit(batch, {
        kind: 'schema',
        offset: this.next(lsn, 'schema'),
        table: relation.table,
        schema,
        ddl: null,
        commitTime: this.txn?.commitTime ?? null,
        ...(Object.keys(renamedColumns).length === 0 ? {} : { renamedColumns }),
      });
    }
  }

  /**
   * The known table that had `oid` under another name than `table`: renamed before this session's
   * first relation message of it (while the pipeline was down).
   */
  private knownByOid(oid: number, table: string): string | undefined {
    for (const [name, known] of this.oids) if (known === oid && name !== table && this.known.has(name)) return name;
    return undefined;
  }

  /**
   * Asks the catalog whether the known tables still exist under their names, and with which columns
   * (at most every `tableCheckIntervalMs`, one statement for all tables, one check at a time, none
   * while an earlier result waits). pgoutput has no DROP TABLE, and shows a renamed table or a
   * changed column only before the table's next change. The answer is kept in `gone` with the WAL
   * insert position read after the catalog (in the same statement, so after its snapshot): a DDL the
   * check saw committed before that position, so it is reported once the stream has delivered every
   * transaction committed before it (see {@link reportGone}), after every change the table had.
   */
  private checkTables(): void {
    if (this.checkingTables || this.gone !== null || this.closed || this.failure !== null) return;
    const now = Date.now();
    if (now - this.lastTableCheck < this.tableCheckInterval || this.known.size === 0) return;
    this.checkingTables = true;
    this.lastTableCheck = now;
    const since = this.relationsHandled;
    const asked = [...this.known.keys()].map((table) => ({ table, oid: this.oids.get(table) ?? null }));
    const oids = asked.flatMap((a) => (a.oid === null ? [] : [String(a.oid)]));
    const at =
      '(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text';
    this.client
      .query<{
        oid: string;
        schema: string | null;
        name: string | null;
        cols: string | null;
        pk: string | null;
        at: string;
      }>(
        // The describe's own column and key queries, per table, as JSON: one statement, one snapshot.
        `SELECT k.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name,
                (SELECT json_agg(x ORDER BY x.attnum)::text FROM (${columnQuery('c.oid')}) x) AS cols,
                (SELECT json_agg(y.attname ORDER BY y.ord)::text FROM (${keyQuery('c.oid')}) y) AS pk,
                ${at} AS at
           FROM unnest($1::oid[]) AS k(oid)
           LEFT JOIN pg_class c ON c.oid = k.oid LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
          UNION ALL
         SELECT NULL, NULL, NULL, NULL, NULL, ${at}`,
        [oids],
      )
      .then(async (result) => {
        const found = new Map<number, { name: string | null; cols: ColumnRow[]; pk: string[] }>();
        let at: Lsn | null = null;
        for (const r of result.rows) {
          if (r.oid === null) at = parseLsn(r.at);
          else
            found.set(Number(r.oid), {
              name: r.schema === null || r.name === null ? null : `${r.schema}.${r.name}`,
              cols: r.cols === null ? [] : (JSON.parse(r.cols) as ColumnRow[]),
              pk: r.pk === null ? [] : (JSON.parse(r.pk) as string[]),
            });
        }
        const tables: CatalogCheck['tables'][number][] = [];
        const changed: CatalogCheck['changed'][number][] = [];
        for (const a of asked) {
          const now = a.oid === null ? undefined : found.get(a.oid);
          const name = now?.name ?? null;
          if (name !== a.table) {
            tables.push({ table: a.table, oid: a.oid, renamedTo: name });
            continue;
          }
          const known = this.known.get(a.table);
          if (now === undefined || a.oid === null || known === undefined) continue;
          // Relation messages leave generated columns out while the describe has them: such a table's
          // columns are told by its relation messages only.
          if (now.cols.some((c) => c.generated === true || c.generated === 't')) continue;
          const { columns, numbers } = await columnsOf(this.catalog, now.cols);
          if (!sameColumns(known.columns, columns)) {
            changed.push({ table: a.table, oid: a.oid, columns, numbers, primaryKey: now.pk });
          }
        }
        if ((tables.length > 0 || changed.length > 0) && at !== null) this.gone = { at, since, tables, changed };
      })
      // A failed check is tried again at the next keepalive; the reader's connection failing is
      // what the stream reports.
      .catch(() => undefined)
      .finally(() => {
        this.checkingTables = false;
      });
  }

  /**
   * Reports what a check found, once the stream is at `lsn` between transactions and `lsn` is at or
   * past the check's position: every change the tables had before has been delivered. A table
   * re-keyed since the check (a relation message told its rename) is skipped, and so is a table with
   * a relation message since the check was asked: that message told its columns (a later change is
   * found by the next check).
   */
  private reportGone(lsn: Lsn, batch: LogItem<PgOffset>[]): void {
    const gone = this.gone;
    if (gone === null || lsn < gone.at) return;
    for (const g of gone.tables) {
      if (!this.known.has(g.table) || (this.oids.get(g.table) ?? null) !== g.oid) continue;
      const offset = this.offsetBefore(lsn);
      // Not after the last item (it cannot be: items after `lsn` come later): wait for a later position.
      if (offset === null) return;
      this.known.delete(g.table);
      this.numbers.delete(g.table);
      this.oids.delete(g.table);
      this.emit(batch, {
        kind: 'schema',
        offset,
        table: g.table,
        schema: null,
        ddl: null,
        commitTime: null,
        ...(g.renamedTo === null ? {} : { renamedTo: g.renamedTo }),
      });
    }
    for (const c of gone.changed) {
      const known = this.known.get(c.table);
      if (known === undefined || this.oids.get(c.table) !== c.oid) continue;
      if ((this.lastRelation.get(c.table) ?? 0) > gone.since || sameColumns(known.columns, c.columns)) continue;
      const offset = this.offsetBefore(lsn);
      if (offset === null) return;
      const previous = this.numbers.get(c.table);
      const renamedColumns = previous === undefined ? {} : renamesOf(known.columns, previous, c.columns, c.numbers);
      // What a relation message would have told (see `relation` and `handleRelation`).
      const primaryKey = c.primaryKey.filter((k) => c.columns.some((col) => col.name === k));
      const schema: TableSchema = {
        id: known.id,
        columns: c.columns,
        primaryKey,
        chunkKey: primaryKey,
        sourceIds: { table: c.oid, columns: Object.fromEntries(c.numbers) },
      };
      this.known.set(c.table, schema);
      // Old names keep their numbers: a chunk reader planning with the core's columns before the
      // core has taken this event finds a renamed column under its new name (as before a relation
      // message, which replaces them).
      this.numbers.set(c.table, new Map([...(previous ?? []), ...c.numbers]));
      this.emit(batch, {
        kind: 'schema',
        offset,
        table: c.table,
        schema,
        ddl: null,
        commitTime: null,
        ...(Object.keys(renamedColumns).length === 0 ? {} : { renamedColumns }),
      });
    }
    this.gone = null;
  }

  /**
   * An offset after the last item and before every change of a transaction committed at or after
   * `lsn`: the position marker at `lsn`, or, when that was the last item, the numbers after it with
   * the same LSNs (changes have a record LSN above 0, so they sort after all of them).
   */
  private offsetBefore(lsn: Lsn): PgOffset | null {
    const position = positionAt(lsn);
    if (compareOffsets(position, this.last) > 0) return position;
    const last = this.last;
    if (last.commitLsn === lsn && last.lsn === 0n) return { commitLsn: lsn, lsn: 0n, seq: last.seq + 1 };
    return null;
  }

  private handleKeepalive(lsn: string, batch: LogItem<PgOffset>[]): void {
    const walEnd = parseLsn(lsn);
    if (walEnd > this.walEnd) this.walEnd = walEnd;
    // Between transactions, everything committed before walEnd has been delivered.
    if (this.txn === null) {
      this.reportGone(walEnd, batch);
      this.emit(batch, { kind: 'progress', offset: positionAt(walEnd) });
    }
    this.checkTables();
  }

  /** Handles any message but a relation message (see {@link drain}). */
  private handleMessage(lsn: string, message: Message, batch: LogItem<PgOffset>[]): void {
    switch (message.tag) {
      case 'row': {
        const relation = this.relationOf(message.relation);
        const after = message.new === null ? null : decodeTuple(relation, message.new);
        const unchanged = after === null ? null : takeUnchanged();
        if (message.op === 'c') {
          this.emit(batch, this.change(lsn, relation, 'c', null, after, 'none', unchanged));
          return;
        }
        let before: Row;
        let image: 'full' | 'key';
        if (message.old !== null) {
          before = decodeTuple(relation, message.old);
          takeUnchanged();
          image = 'full';
        } else if (message.key !== null) {
          before = decodeKey(relation, message.key);
          image = 'key';
        } else if (after !== null) {
          // An update that did not change the key (pgoutput sends the old key only when it does).
          before = keyOf(relation, after);
          image = 'key';
        } else {
          before = decodeKey(relation, []);
          image = 'key';
        }
        this.emit(batch, this.change(lsn, relation, message.op, before, after, image, unchanged));
        return;
      }
      case 'begin':
        // Every transaction committed before this one has been delivered.
        this.reportGone(message.commitLsn, batch);
        this.txn = { commitLsn: message.commitLsn, commitTime: message.commitTime, txId: String(message.xid), seq: 0 };
        return;
      case 'commit':
        this.txn = null;
        if (message.commitEndLsn > this.walEnd) this.walEnd = message.commitEndLsn;
        return;
      case 'message':
        if (!message.transactional && message.prefix === this.messagePrefix && message.messageLsn !== null) {
          const at = parseLsn(message.messageLsn);
          this.reportGone(at, batch);
          this.emit(batch, { kind: 'progress', offset: positionAt(at) });
          // A watermark: the core may be waiting on a table a chunk read found gone; check soon.
          this.checkTables();
        }
        return;
      case 'truncate':
        for (const r of message.relations) {
          const relation = this.relationOf(r);
          this.emit(batch, {
            kind: 'truncate',
            offset: this.next(lsn),
            table: relation.table,
            commitTime: this.txn?.commitTime ?? null,
            txId: this.txn?.txId ?? null,
          });
        }
        return;
      default:
        return;
    }
  }

  /**
   * The offset of the next item. `seq` counts row changes and truncated tables only — what pgoutput
   * sends for a transaction is the same in every session, so the numbering is too, and a reader can
   * resume inside a transaction. Changes get even numbers (2 × their position); a schema item takes
   * the odd number just before the change it precedes (relation messages are sent once per session,
   * so they must not shift the numbering).
   */
  private next(lsn: string, kind: 'row' | 'schema' = 'row'): PgOffset {
    const txn = this.txn;
    if (txn === null) return positionAt(parseLsn(lsn));
    const seq = kind === 'schema' ? 2 * txn.seq - 1 : 2 * txn.seq++;
    return { commitLsn: txn.commitLsn, lsn: parseLsn(lsn), seq };
  }

  private change(
    lsn: string,
    relation: Relation,
    op: 'c' | 'u' | 'd',
    before: Row | null,
    after: Row | null,
    beforeImage: 'full' | 'key' | 'none',
    unchanged: string[] | null,
  ): LogItem<PgOffset> {
    const txn = this.txn;
    const offset = this.next(lsn);
    const commitTime = txn === null ? null : txn.commitTime;
    const txId = txn === null ? null : txn.txId;
    if (unchanged === null) {
      return { kind: 'change', offset, op, table: relation.table, before, after, beforeImage, commitTime, txId };
    }
    return {
      kind: 'change',
      offset,
      op,
      table: relation.table,
      before,
      after,
      beforeImage,
      commitTime,
      txId,
      unchanged,
    };
  }

  private relationOf(message: Pgoutput.MessageRelation): Relation {
    const relation = this.relations.get(message.relationOid);
    if (relation === undefined)
      throw new Error(`change for relation ${message.relationOid} before its relation message`);
    return relation;
  }

  /** Decoders and schema for a relation message (column types as they were when the change was written). */
  private async relation(message: Pgoutput.MessageRelation): Promise<Relation> {
    const oids = message.columns.map((c) => c.typeOid);
    const types = await this.catalog.resolve(oids);
    const natives = await this.client.query<{ n: string }>(
      'SELECT format_type(t, m) AS n FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(t, m, i) ORDER BY i',
      [oids, message.columns.map((c) => c.typeMod)],
    );
    const id = { schema: message.schema, name: message.name };
    const earlier = this.relations.get(message.relationOid);
    let described: DescribedTable | undefined;
    try {
      described = await describeTable(this.client, this.catalog, id);
    } catch {
      described = undefined; // dropped since: no primary key, nullability or defaults to report
    }
    // Dropped between the describe's statements: found, then no columns. What was known stands.
    if (described !== undefined && described.schema.columns.length === 0 && message.columns.length > 0) {
      described = undefined;
    }
    const current = described?.schema;
    const columns: ColumnSchema[] = message.columns.map((c, i) => {
      // Described gone (dropped or renamed since the change was written): what was known stands.
      const now = (current ?? this.known.get(tableName(id)))?.columns.find((k) => k.name === c.name);
      const type = types.get(c.typeOid);
      if (type === undefined) throw new Error(`unknown type oid ${c.typeOid}`);
      return {
        name: c.name,
        type: logicalTypeOf(type, c.typeMod),
        nativeType: natives.rows[i]?.n ?? type.name,
        nullable: now?.nullable ?? true,
        ...(now?.default === undefined ? {} : { default: now.default }),
      };
    });
    const primaryKey = ((current ?? this.known.get(tableName(id)))?.primaryKey ?? message.keyColumns).filter((k) =>
      columns.some((c) => c.name === k),
    );
    const schema: TableSchema = { id, columns, primaryKey, chunkKey: primaryKey };
    const relation: Relation = {
      table: tableName(id),
      schema,
      columns: message.columns.map((c) => ({
        name: c.name,
        decode: decoderFor(types.get(c.typeOid) ?? { kind: 'other', name: 'unknown' }),
      })),
      replicaIdentity: message.replicaIdentity,
      identityColumns: message.keyColumns,
      numbers: described?.numbers ?? null,
      oid: message.relationOid,
      ...(earlier === undefined || earlier.table === tableName(id) ? {} : { renamedFrom: earlier.table }),
    };
    this.relations.set(message.relationOid, relation);
    return relation;
  }
}

/** Same names, types, nullability and defaults: a relation message that changes none of them is no schema change. */
function sameColumns(a: readonly ColumnSchema[], b: readonly ColumnSchema[]): boolean {
  return (
    a.length === b.length &&
    a.every((c, i) => {
      const o = b[i];
      return (
        c.name === o?.name && c.nativeType === o.nativeType && c.nullable === o.nullable && c.default === o.default
      );
    })
  );
}

/**
 * New name → old name of the columns renamed between two definitions: a column that is new by name
 * but has the number (`attnum`) of a column gone by name. Postgres's log carries no DDL; a relation
 * message only lists the columns, so a rename would otherwise look like a drop and an add.
 */
function renamesOf(
  before: readonly ColumnSchema[],
  beforeNumbers: ReadonlyMap<string, number>,
  after: readonly ColumnSchema[],
  afterNumbers: ReadonlyMap<string, number>,
): Record<string, string> {
  const afterNames = new Set(after.map((c) => c.name));
  const goneByNumber = new Map<number, string>();
  for (const c of before) {
    const n = beforeNumbers.get(c.name);
    if (!afterNames.has(c.name) && n !== undefined) goneByNumber.set(n, c.name);
  }
  const beforeNames = new Set(before.map((c) => c.name));
  const renamed: Record<string, string> = {};
  for (const c of after) {
    const n = afterNumbers.get(c.name);
    const old = n === undefined ? undefined : goneByNumber.get(n);
    if (!beforeNames.has(c.name) && old !== undefined) renamed[c.name] = old;
  }
  return renamed;
}

/** The columns {@link decodeTuple} found left out, or null: read once with {@link takeUnchanged}. */
let unchangedColumns: string[] | null = null;

function takeUnchanged(): string[] | null {
  const columns = unchangedColumns;
  unchangedColumns = null;
  return columns;
}

/**
 * Decodes a tuple; columns the server left out (unchanged TOAST values) are not in the row, never
 * emitted as null: they are listed for {@link takeUnchanged}.
 */
function decodeTuple(relation: Relation, tuple: Tuple): Row {
  const row: Record<string, Value> = {};
  const columns = relation.columns;
  let unchanged: string[] | null = null;
  for (let i = 0; i < columns.length; i++) {
    const { name, decode } = columns[i] as Relation['columns'][number];
    const raw = tuple[i];
    if (raw === undefined) {
      if (unchanged === null) unchanged = [];
      unchanged.push(name);
    } else row[name] = raw === null ? null : decode(raw as string);
  }
  unchangedColumns = unchanged;
  return row;
}

/** The replica identity columns of a key tuple (the server sends the others as null). */
function decodeKey(relation: Relation, key: Tuple): Row {
  const row: Record<string, Value> = {};
  const columns = relation.columns;
  for (let i = 0; i < columns.length; i++) {
    const { name, decode } = columns[i] as Relation['columns'][number];
    if (!relation.identityColumns.includes(name)) continue;
    const raw = key[i];
    row[name] = raw === undefined || raw === null ? null : decode(raw as string);
  }
  return row;
}

function keyOf(relation: Relation, row: Row): Row {
  // The replica identity (primary key or USING INDEX columns) is what identifies the row.
  const columns = relation.identityColumns.length > 0 ? relation.identityColumns : relation.schema.primaryKey;
  const out: Record<string, Value> = {};
  for (const k of columns) out[k] = row[k] ?? null;
  return out;
}
