import ZongJi from '@vlasky/zongji';
import type mysql from 'mysql2/promise';
import { type ConnectionSettings, connectionOptions } from './connection.js';
import { compareOffsets, type MysqlOffset, positionAt } from './offsets/mysql-offset.js';
import { stopZongji } from './stop-zongji.js';
import { binlogStatus } from './watermarks.js';

/** What the scan needs of an event. */
interface BinlogEvent {
  readonly name: string;
  /** Header timestamp, in whole seconds. */
  readonly seconds: number;
  /** End of the event in its file; 0 for events the dump thread makes up. */
  readonly nextPosition: number;
  readonly query?: string;
  /** Rotate events: the file that follows, and where. */
  readonly binlogName?: string;
  readonly position?: number;
}

export interface TimestampSearchSettings {
  readonly connection: ConnectionSettings;
  /** Replica id of the short scanning dumps: must differ from the log reader's (the server drops a duplicate). */
  readonly serverId: number;
}

type Rec = Record<string, unknown>;

/**
 * The binlog from the start of `file` on, as simplified events, until the consumer stops or the
 * dump reaches `end` (then it yields nothing more: the dump itself would wait for new events).
 * Only event headers, rotates and query text are used: no table lookups, no row decoding.
 */
async function* dump(settings: TimestampSearchSettings, file: string, end: MysqlOffset): AsyncGenerator<BinlogEvent> {
  const zongji = new ZongJi(connectionOptions(settings.connection));
  const queue: BinlogEvent[] = [];
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  let current = file;
  let reachedEnd = false;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  zongji.on('error', (error: unknown) => {
    failure = error;
    notify();
  });
  zongji.on('binlog', (raw: unknown) => {
    const e = raw as Rec & { getEventName(): string };
    const event: BinlogEvent = {
      name: e.getEventName(),
      seconds: Math.floor(Number(e.timestamp ?? 0) / 1000),
      nextPosition: Number(e.nextPosition ?? 0),
      query: typeof e.query === 'string' ? e.query : undefined,
      binlogName: typeof e.binlogName === 'string' ? e.binlogName : undefined,
      position: typeof e.position === 'number' ? e.position : undefined,
    };
    if (event.name === 'rotate' && event.binlogName !== undefined) current = event.binlogName;
    if (event.name === 'heartbeat' || compareOffsets(positionAt(current, event.nextPosition), end) >= 0) {
      reachedEnd = true;
    }
    if (event.name !== 'heartbeat') queue.push(event);
    notify();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      zongji.once('ready', () => {
        // The server says when there is nothing more to send (ns).
        zongji.connection?.query('SET @master_heartbeat_period = 100000000', () => undefined);
        resolve();
      });
      zongji.once('error', reject);
      zongji.start({
        serverId: settings.serverId,
        startAtEnd: false,
        filename: file,
        position: 4,
        includeEvents: ['rotate', 'format', 'xid', 'query', 'heartbeat'],
        includeSchema: {},
      });
    });
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (failure !== null) throw failure;
      if (reachedEnd) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    await stopZongji(zongji);
  }
}

/** When `file` was started: its format description event's timestamp (seconds). */
async function fileStarted(settings: TimestampSearchSettings, file: string, end: MysqlOffset): Promise<number> {
  for await (const event of dump(settings, file, end)) {
    if (event.name === 'format' && event.seconds > 0) return event.seconds;
  }
  return Number.POSITIVE_INFINITY;
}

/** The event ends a transaction (or is one, as DDL is): the same rule as the log reader's. */
function endsTransaction(event: BinlogEvent): boolean {
  if (event.name === 'xid') return true;
  if (event.name !== 'query') return false;
  const head = (event.query ?? '').trimStart().slice(0, 16).toUpperCase();
  return !(head.startsWith('BEGIN') || head.startsWith('XA START') || head.startsWith('SAVEPOINT'));
}

/**
 * The offset just before the first transaction committed at or after `time`, from the binlog's own
 * event headers. A transaction's commit time is its commit event's (XID / COMMIT / DDL) header
 * timestamp, in whole seconds, so `time` is rounded down to its second: a transaction in that
 * second is included even when it committed a little before `time`.
 *
 * Files are searched by when they were started (their first event): transactions in earlier files
 * committed before the later file began, so the scan starts in the last file started before `time`
 * and reads event headers from there on. With no such transaction, the binlog's current end.
 */
export async function offsetAtTimestamp(
  settings: TimestampSearchSettings,
  control: mysql.Connection,
  time: Date,
): Promise<MysqlOffset> {
  const seconds = Math.floor(time.getTime() / 1000);
  const [rows] = await control.query('SHOW BINARY LOGS');
  const files = (rows as { Log_name: string }[]).map((r) => r.Log_name);
  if (files.length === 0) throw new Error('SHOW BINARY LOGS returned nothing: is log_bin on?');
  const status = await binlogStatus(control);
  const end = positionAt(status.file, status.pos);
  let start = 0;
  for (let lo = 1, hi = files.length - 1; lo <= hi; ) {
    const mid = (lo + hi) >> 1;
    if ((await fileStarted(settings, files[mid] as string, end)) < seconds) {
      start = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  let file = files[start] as string;
  let txStart = 4;
  for await (const event of dump(settings, file, end)) {
    if (event.name === 'rotate') {
      // Into the next file (after a FLUSH, or the STOP event a restart leaves), or the dump's first, made-up rotate.
      if (event.binlogName !== undefined) file = event.binlogName;
      txStart = event.position ?? 4;
      continue;
    }
    if (event.nextPosition === 0 || !endsTransaction(event)) continue;
    if (event.seconds >= seconds) return positionAt(file, txStart);
    txStart = event.nextPosition;
  }
  return compareOffsets(positionAt(file, txStart), end) >= 0 ? positionAt(file, txStart) : end;
}
