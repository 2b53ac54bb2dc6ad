import type { Connection } from 'pg';
import { CopyTextChunks } from './copy-text.js';

/** Backend message codes (protocol v3) the reader looks at. */
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const NOTICE_RESPONSE = 0x4e; // 'N'
const PARAMETER_STATUS = 0x53; // 'S'
const NOTIFICATION_RESPONSE = 0x41; // 'A'

/** The parts of pg's `Connection` the reader uses (its socket). */
interface PgConnection {
  readonly stream: NodeJS.ReadableStream & {
    read(): Buffer | null;
    listeners(event: 'data'): ((chunk: Buffer) => void)[];
  };
  query(text: string): void;
}

/**
 * `COPY … TO STDOUT` read straight from the connection's socket: a `pg` submittable (pass it to
 * `client.query`) that takes the socket over while the COPY runs, as pg-copy-streams does. The
 * payloads of the CopyData messages in each socket read are moved together in place (dropping the
 * 5-byte message headers): {@link nextBytes} hands out that buffer as it is, {@link next} decodes it
 * as UTF-8 once into one string of whole lines — no `Buffer` per row, no concatenation of per-row
 * buffers.
 *
 * When the server sends CopyDone (or an ErrorResponse) the socket goes back to `pg`'s parser with
 * the bytes that follow, so `pg` sees CommandComplete / the error and ReadyForQuery as usual; {@link
 * next} returns `null` after ReadyForQuery, or throws the error `pg` reports.
 */
export class CopyOutQuery {
  /** Set by `pg` (a submittable may carry a callback); called once the query is over. */
  callback?: (error: Error | null) => void;
  private connection: PgConnection | null = null;
  private pgDataHandler: ((chunk: Buffer) => void) | null = null;
  private readonly onReadable = (): void => this.wakeUp();
  private wake: (() => void) | null = null;
  private attached = false;
  private finished = false;
  private error: Error | null = null;
  /** Bytes of a message not complete in the reads so far, and how long it is (-1 until its header is in). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingLength = -1;
  /** The part of a socket read after a message {@link parse} completed from earlier reads; parsed next. */
  private leftover: Buffer | null = null;
  private readonly text = new CopyTextChunks();

  constructor(private readonly sql: string) {}

  /** Called by `pg` when the query's turn comes. */
  submit(connection: Connection): void {
    const c = connection as unknown as PgConnection;
    this.connection = c;
    const stream = c.stream;
    const handlers = stream.listeners('data');
    if (handlers.length !== 1) throw new Error(`expected one data listener on pg's socket, found ${handlers.length}`);
    this.pgDataHandler = handlers[0] as (chunk: Buffer) => void;
    stream.removeListener('data', this.pgDataHandler);
    stream.pause();
    stream.on('readable', this.onReadable);
    this.attached = true;
    c.query(this.sql);
  }

  handleError(error: Error): void {
    this.error ??= error;
    if (this.attached) this.detach(null);
    this.finished = true;
    this.callback?.(error);
    this.wakeUp();
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.finished = true;
    this.callback?.(null);
    this.wakeUp();
  }

  /**
   * The next piece of COPY text: whole lines, each ending in `\n` (never `''`); `null` once the
   * COPY is over. Throws the query's error.
   */
  async next(): Promise<string | null> {
    for (;;) {
      const bytes = await this.nextBytes();
      if (bytes === null) {
        this.text.end();
        return null;
      }
      const text = this.text.push(bytes);
      if (text !== '') return text;
    }
  }

  /**
   * The next piece of COPY output as bytes, cut anywhere (even inside a line or a UTF-8 sequence;
   * never empty); `null` once the COPY is over. Throws the query's error. The buffer is the
   * caller's to keep. Use either this or {@link next}, not both.
   */
  async nextBytes(): Promise<Buffer | null> {
    for (;;) {
      if (this.error !== null) throw this.error;
      if (this.leftover !== null) {
        const rest = this.leftover;
        this.leftover = null;
        const bytes = this.parse(rest);
        if (bytes !== null) return bytes;
        continue;
      }
      if (this.attached) {
        const chunk = (this.connection as PgConnection).stream.read() as Buffer | null;
        if (chunk !== null) {
          const bytes = this.parse(chunk);
          if (bytes !== null) return bytes;
          continue;
        }
      } else if (this.finished) {
        return null;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /**
   * Stops reading before the end: the rest of the COPY cannot be skipped cheaply, so the connection
   * is closed (its client fails every later query instead of waiting behind the COPY).
   */
  abort(): void {
    if (this.finished || !this.attached || this.connection === null) return;
    const stream = this.connection.stream as unknown as { destroy(error?: Error): void };
    stream.destroy();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Gives the socket back to pg's parser, with `rest` (the bytes after the COPY's last message). */
  private detach(rest: Buffer | null): void {
    const stream = (this.connection as PgConnection).stream;
    const handler = this.pgDataHandler as (chunk: Buffer) => void;
    this.attached = false;
    stream.removeListener('readable', this.onReadable);
    stream.on('data', handler);
    if (rest !== null && rest.length > 0) handler(rest);
    // As pg-copy-streams does: resume after the current data handler has run.
    process.nextTick(() => stream.resume());
  }

  /**
   * Takes the messages of one socket read: CopyData payloads are moved to the front of the buffer
   * (in place: the write position never passes the read position); null when there were none.
   */
  private parse(read: Buffer): Buffer | null {
    let data = read;
    if (this.pendingBytes > 0) {
      // A message began in an earlier read: wait until it is whole, then join once.
      const before = this.pendingBytes;
      this.pending.push(read);
      this.pendingBytes += read.length;
      if (this.pendingLength < 0 && this.pendingBytes >= 5) {
        const head = this.pending.length === 1 ? read : Buffer.concat(this.pending);
        this.pendingLength = 1 + head.readUInt32BE(1);
      }
      if (this.pendingLength < 0 || this.pendingBytes < this.pendingLength) return null;
      const need = this.pendingLength - before;
      if ((this.pending[0] as Buffer)[0] === COPY_DATA && this.pendingLength > 5 && need < read.length) {
        // Usually a row cut by the end of the previous read: only that row is joined, and the rest
        // of this read is taken in place by the next call (joining the whole read copied every
        // byte of most reads once more).
        const parts = this.pending.slice(0, -1);
        parts.push(read.subarray(0, need));
        const message = Buffer.concat(parts, this.pendingLength);
        this.pending = [];
        this.pendingBytes = 0;
        this.pendingLength = -1;
        this.leftover = read.subarray(need);
        return message.subarray(5);
      }
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingLength = -1;
    }
    const size = data.length;
    let at = 0;
    let out = 0;
    while (at < size) {
      if (size - at < 5) {
        this.keep(data, at);
        break;
      }
      const code = data[at] as number;
      const length = 1 + data.readUInt32BE(at + 1);
      if (code === ERROR_RESPONSE) {
        // pg parses the error; it calls handleError.
        this.detach(data.subarray(at));
        return null;
      }
      if (size - at < length) {
        this.keep(data, at);
        this.pendingLength = length;
        break;
      }
      if (code === COPY_DATA) {
        if (out !== at + 5) data.copyWithin(out, at + 5, at + length);
        out += length - 5;
      } else if (code === COPY_DONE) {
        this.detach(data.subarray(at + length));
        break;
      } else if (
        code !== COPY_OUT_RESPONSE &&
        code !== NOTICE_RESPONSE &&
        code !== PARAMETER_STATUS &&
        code !== NOTIFICATION_RESPONSE
      ) {
        // Anything else ends the COPY for pg to handle (it would be a protocol error for pg as well).
        this.detach(data.subarray(at));
        break;
      }
      at += length;
    }
    return out === 0 ? null : data.subarray(0, out);
  }

  /** Keeps the start of an incomplete message (copied: the read's front is being rewritten). */
  private keep(data: Buffer, at: number): void {
    const piece = Buffer.from(data.subarray(at));
    this.pending = [piece];
    this.pendingBytes = piece.length;
    this.pendingLength = -1;
  }
}
