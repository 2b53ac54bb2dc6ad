import {
  type ColumnSchema,
  ConfigError,
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
import type pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { type ConnectionSettings, clientConfig, connect } from './connection.js';
import { describeTable } from './describe-tables.js';
import { toHighwaterError } from './errors.js';
import { formatLsn, type Lsn, parseLsn } from './offsets/lsn.js';
import { compareOffsets, type PgOffset, positionAt } from './offsets/pg-offset.js';
import { requireReplicaIdentity } from './replica-identity.js';
import { ensurePublication, ensureSlot, type ReplicationSettings } from './replication-setup.js';
import { decoderFor, type TextDecoder } from './types/decode.js';
import { logicalTypeOf } from './types/logical-type.js';
import { TypeCatalog } from './types/type-catalog.js';

const rawText = (raw: unknown): unknown => raw;

/** Requested replies within the window that mean the server is shutting down (see `serverStopping`). */
const SHUTDOWN_PINGS = 5;
const SHUTDOWN_PING_WINDOW_MS = 1000;

/** pgoutput, with every column left as the text the server sent: the adapter's decoder reads it. */
class RawTextPgoutput extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation') for (const column of message.columns) column.parser = rawText;
    return message;
  }
}

type Entry =
  | { readonly kind: 'data'; readonly lsn: string; readonly message: Pgoutput.Message }
  | { readonly kind: 'keepalive'; readonly lsn: string }
  | { readonly kind: 'error'; readonly error: unknown };

interface Relation {
  readonly table: string;
  readonly schema: TableSchema;
  readonly columns: readonly { readonly name: string; readonly decode: TextDecoder }[];
  readonly replicaIdentity: Pgoutput.MessageRelation['replicaIdentity'];
  readonly identityColumns: readonly string[];
}

interface Transaction {
  readonly commitLsn: Lsn;
  readonly commitTime: number;
  readonly txId: string;
  /** Row changes (and truncated tables) so far in the transaction. */
  seq: number;
}

export interface LogReaderTuning {
  /** Entries handled per yielded batch (default 4096). */
  readonly batchSize?: number;
  /**
   * Backpressure: when this many messages wait unread, stop reading the replication socket until
   * the queue is down to a tenth of it (default 50 000). Keepalives stay in order with the data.
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
      throw new ConfigError(
        `postgres: replication slot ${settings.slotName} is in use by process ${slot.activePid}: stop the other ` +
          `reader, or run \`SELECT pg_terminate_backend(${slot.activePid});\`, or give this source its own slotName`,
      );
    }
    const confirmed = slot.confirmedFlush === null ? 0n : parseLsn(slot.confirmedFlush);
    const fresh =
      tuning.createdAt !== undefined && tuning.createdAt !== null && confirmed <= parseLsn(tuning.createdAt);
    if (!fresh && confirmed > request.from.commitLsn)
      throw unavailable(settings.slotName, request.from, confirmed, tuning);
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
): OffsetUnavailableError {
  const what =
    tuning.slotCreatedAt !== undefined && tuning.slotCreatedAt !== null
      ? `replication slot ${slotName} did not exist and was created just now at ${tuning.slotCreatedAt} (was it ` +
        'dropped?), so the changes between the two are not in it'
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
 */
export class PgLogReader implements LogReader<PgOffset> {
  private readonly service: LogicalReplicationService;
  private readonly catalog: TypeCatalog;
  private readonly queue: Entry[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly relations = new Map<number, Relation>();
  private readonly known = new Map<string, TableSchema>();
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
    this.catalog = new TypeCatalog(client);
    for (const t of request.tables) this.known.set(tableName(t.id), t);
    this.service = new LogicalReplicationService(clientConfig(connection, 'highwater-replication'), {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: false },
    });
  }

  async start(): Promise<void> {
    const service = this.service;
    // With flow control off, data and keepalives are emitted synchronously in stream order; the
    // queue keeps that order for the async handling below.
    service.on('data', (lsn: string, message: Pgoutput.Message) => this.push({ kind: 'data', lsn, message }));
    service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
      this.push({ kind: 'keepalive', lsn });
      if (shouldRespond && this.serverStopping(lsn)) return;
      this.answerKeepalive(shouldRespond);
    });
    service.on('error', (error: Error) => this.push({ kind: 'error', error }));
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const plugin = new RawTextPgoutput({
      protoVersion: 1,
      publicationNames: [this.settings.publicationName],
      messages: true,
    });
    const failed = service
      .subscribe(plugin, this.settings.slotName, formatLsn(this.last.commitLsn))
      .then(() => {
        if (!this.closed) this.push({ kind: 'error', error: new Error('Connection terminated: replication ended') });
      })
      .catch((error: unknown) => {
        if (!this.closed) this.push({ kind: 'error', error });
        throw error;
      });
    await Promise.race([started, failed]);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly LogItem<PgOffset>[]> {
    while (!this.closed) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      const entries = this.queue.splice(0, this.batchSize);
      if (this.paused && this.queue.length <= this.maxQueued / 10) this.setPaused(false);
      const batch: LogItem<PgOffset>[] = [];
      for (const entry of entries) {
        if (entry.kind === 'error') {
          if (this.closed) return;
          throw toHighwaterError(entry.error, 'replication stream');
        }
        try {
          await this.handle(entry, batch);
        } catch (error) {
          throw toHighwaterError(error, 'replication stream');
        }
      }
      if (batch.length > 0) yield batch;
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
      queuedMessages: this.queue.length,
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
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.replyTimer !== null) clearTimeout(this.replyTimer);
    if (this.statusTimer !== null) clearInterval(this.statusTimer);
    this.wake?.();
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

  private push(entry: Entry): void {
    this.queue.push(entry);
    if (!this.paused && this.queue.length >= this.maxQueued) this.setPaused(true);
    this.wake?.();
  }

  /** Messages received and not yet handled (for tests and metrics). */
  get queued(): number {
    return this.queue.length;
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
    this.push({
      kind: 'error',
      error: new ConnectionLostError(
        `postgres: the server is shutting down and waits for replication slot ${this.settings.slotName} to confirm ` +
          'changes not stored downstream yet; disconnected so that it can stop (the source reconnects when it is back)',
      ),
    });
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

  private async handle(entry: Entry, batch: LogItem<PgOffset>[]): Promise<void> {
    if (entry.kind === 'keepalive') {
      const walEnd = parseLsn(entry.lsn);
      if (walEnd > this.walEnd) this.walEnd = walEnd;
      // Between transactions, everything committed before walEnd has been delivered.
      if (this.txn === null) this.emit(batch, { kind: 'progress', offset: positionAt(parseLsn(entry.lsn)) });
      return;
    }
    if (entry.kind !== 'data') return;
    const message = entry.message;
    switch (message.tag) {
      case 'begin':
        this.txn = {
          commitLsn: parseLsn(message.commitLsn ?? '0/0'),
          commitTime: Number(BigInt(message.commitTime.toString()) / 1000n),
          txId: String(message.xid),
          seq: 0,
        };
        return;
      case 'commit': {
        this.txn = null;
        const end = message.commitEndLsn === null ? 0n : parseLsn(message.commitEndLsn);
        if (end > this.walEnd) this.walEnd = end;
        return;
      }
      case 'message':
        if (!message.transactional && message.prefix === this.messagePrefix && message.messageLsn !== null) {
          this.emit(batch, { kind: 'progress', offset: positionAt(parseLsn(message.messageLsn)) });
        }
        return;
      case 'relation': {
        const relation = await this.relation(message);
        const known = this.known.get(relation.table);
        if (known === undefined || !sameColumns(known.columns, relation.schema.columns)) {
          this.known.set(relation.table, relation.schema);
          this.emit(batch, {
            kind: 'schema',
            offset: this.next(entry.lsn, 'schema'),
            table: relation.table,
            schema: relation.schema,
            ddl: null,
            commitTime: this.txn?.commitTime ?? null,
          });
        }
        return;
      }
      case 'insert': {
        const relation = this.relationOf(message.relation);
        const { row, unchanged } = decodeTuple(relation, message.new);
        this.emit(batch, this.change(entry.lsn, relation, 'c', null, row, 'none', unchanged));
        return;
      }
      case 'update': {
        const relation = this.relationOf(message.relation);
        const { row: after, unchanged } = decodeTuple(relation, message.new);
        let before: Row;
        let image: 'full' | 'key';
        if (message.old !== null) {
          before = decodeTuple(relation, message.old).row;
          image = 'full';
        } else if (message.key !== null) {
          before = decodeKey(relation, message.key);
          image = 'key';
        } else {
          // The key did not change (pgoutput sends the old key only when it does).
          before = keyOf(relation, after);
          image = 'key';
        }
        this.emit(batch, this.change(entry.lsn, relation, 'u', before, after, image, unchanged));
        return;
      }
      case 'delete': {
        const relation = this.relationOf(message.relation);
        const full = message.old !== null;
        const before = full
          ? decodeTuple(relation, message.old as Record<string, unknown>).row
          : decodeKey(relation, message.key ?? {});
        this.emit(batch, this.change(entry.lsn, relation, 'd', before, null, full ? 'full' : 'key', []));
        return;
      }
      case 'truncate':
        for (const r of message.relations) {
          const relation = this.relationOf(r);
          this.emit(batch, {
            kind: 'truncate',
            offset: this.next(entry.lsn),
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
    unchanged: readonly string[],
  ): LogItem<PgOffset> {
    const item = {
      kind: 'change' as const,
      offset: this.next(lsn),
      op,
      table: relation.table,
      before,
      after,
      beforeImage,
      commitTime: this.txn?.commitTime ?? null,
      txId: this.txn?.txId ?? null,
    };
    return unchanged.length > 0 ? { ...item, unchanged } : item;
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
    let current: TableSchema | undefined;
    try {
      current = (await describeTable(this.client, this.catalog, id)).schema;
    } catch {
      current = undefined; // dropped since: no primary key or nullability to report
    }
    const columns: ColumnSchema[] = message.columns.map((c, i) => {
      const type = types.get(c.typeOid);
      if (type === undefined) throw new Error(`unknown type oid ${c.typeOid}`);
      return {
        name: c.name,
        type: logicalTypeOf(type, c.typeMod),
        nativeType: natives.rows[i]?.n ?? type.name,
        nullable: current?.columns.find((k) => k.name === c.name)?.nullable ?? true,
      };
    });
    const primaryKey = (current?.primaryKey ?? message.keyColumns).filter((k) => columns.some((c) => c.name === k));
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
    };
    this.relations.set(message.relationOid, relation);
    return relation;
  }
}

function sameColumns(a: readonly ColumnSchema[], b: readonly ColumnSchema[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]?.name && c.nativeType === b[i]?.nativeType);
}

/** Decodes a tuple; columns the server left out (unchanged TOAST values) are listed, never emitted as null. */
function decodeTuple(relation: Relation, tuple: Record<string, unknown>): { row: Row; unchanged: string[] } {
  const row: Record<string, Value> = {};
  const unchanged: string[] = [];
  for (const { name, decode } of relation.columns) {
    const raw = tuple[name];
    if (raw === undefined) unchanged.push(name);
    else row[name] = raw === null ? null : decode(raw as string);
  }
  return { row, unchanged };
}

function decodeKey(relation: Relation, key: Record<string, unknown>): Row {
  const row: Record<string, Value> = {};
  for (const { name, decode } of relation.columns) {
    if (!relation.identityColumns.includes(name)) continue;
    const raw = key[name];
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
