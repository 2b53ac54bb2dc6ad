import { connect, type Socket } from 'node:net';

/** Where to probe: a TCP address, or a unix socket (which proves the answer comes from *our* server process). */
export type ProbeTarget = { readonly host: string; readonly port: number } | { readonly path: string };

function describe(target: ProbeTarget): string {
  return 'path' in target ? target.path : `${target.host}:${target.port}`;
}

export type ProbeResult = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/**
 * Opens a TCP connection, writes `hello` (if any) and hands every received chunk, accumulated, to `decide` until it
 * returns a result. Connection errors and an early close count as "not ready".
 */
function probe(
  target: ProbeTarget,
  timeoutMs: number,
  hello: Buffer | undefined,
  decide: (received: Buffer, socket: Socket) => ProbeResult | undefined,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let received = Buffer.alloc(0);
    const socket =
      'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // After a good answer, close politely (flushing any goodbye written by `decide`); otherwise just drop it.
      if (result.ready) socket.end();
      else socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ready: false, reason: `no answer from ${describe(target)} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('connect', () => {
      if (hello !== undefined) socket.write(hello);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const result = decide(received, socket);
      if (result !== undefined) finish(result);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ ready: false, reason: error.code ?? error.message }));
    socket.once('close', () => finish({ ready: false, reason: 'connection closed by the server' }));
  });
}

/** Parses the fields of a Postgres ErrorResponse body into a map keyed by field type (C = SQLSTATE, M = message). */
function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const type = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    if (end < 0) break;
    fields.set(type, body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return fields;
}

/**
 * Whether a Postgres server accepts connections: sends a protocol 3.0 StartupMessage and reads the first reply. Any
 * authentication request means the server is up; ErrorResponse 57P03 ("the database system is starting up") or a
 * refused connection means it is not (yet).
 */
export function probePostgres(
  target: ProbeTarget,
  user: string,
  database: string,
  timeoutMs = 2_000,
): Promise<ProbeResult> {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0application_name\0highwater-probe\0\0`, 'utf8');
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(startup.length, 0);
  startup.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(startup, 8);
  return probe(target, timeoutMs, startup, (received, socket) => {
    if (received.length < 5) return undefined;
    const length = received.readInt32BE(1);
    if (received.length < 1 + length) return undefined;
    const type = String.fromCharCode(received[0]!);
    if (type === 'R') {
      if (received.readInt32BE(5) === 0) {
        const terminate = Buffer.from([0x58, 0, 0, 0, 4]); // 'X': polite goodbye after AuthenticationOk
        socket.write(terminate);
      }
      return { ready: true };
    }
    if (type === 'E') {
      const fields = errorFields(received.subarray(5, 1 + length));
      return { ready: false, reason: `${fields.get('C') ?? '?'}: ${fields.get('M') ?? 'error'}` };
    }
    return { ready: false, reason: `unexpected reply '${type}'` };
  });
}

/**
 * Whether a MySQL/MariaDB server accepts connections: reads the first packet after connecting. A handshake (protocol
 * version 10) means the server is up; an error packet (e.g. 1040 too many connections) or a refusal means it is not.
 */
export function probeMysql(target: ProbeTarget, timeoutMs = 2_000): Promise<ProbeResult> {
  return probe(target, timeoutMs, undefined, (received) => {
    if (received.length < 4) return undefined;
    const length = received.readUIntLE(0, 3);
    if (received.length < 4 + length) return undefined;
    const payload = received.subarray(4, 4 + length);
    if (payload[0] === 0x0a) return { ready: true };
    if (payload[0] === 0xff && payload.length >= 3) {
      const code = payload.readUInt16LE(1);
      const message = payload.toString('utf8', payload[3] === 0x23 ? 9 : 3);
      return { ready: false, reason: `${code}: ${message}` };
    }
    return { ready: false, reason: `unexpected first packet 0x${(payload[0] ?? 0).toString(16)}` };
  });
}

/**
 * Whether a NATS server accepts connections: reads the `INFO {…}` line it sends first. It is ready when
 * its `server_name` is `serverName` (the name the throwaway server was started with, which proves the
 * answer comes from our process and not from another server on a reused port) and JetStream is on.
 */
export function probeNats(target: ProbeTarget, serverName: string, timeoutMs = 2_000): Promise<ProbeResult> {
  return probe(target, timeoutMs, undefined, (received) => {
    const end = received.indexOf('\r\n');
    if (end < 0) return undefined;
    const line = received.toString('utf8', 0, end);
    if (!line.startsWith('INFO ')) return { ready: false, reason: `unexpected first line ${line.slice(0, 40)}` };
    let info: { server_name?: unknown; jetstream?: unknown };
    try {
      info = JSON.parse(line.slice(5)) as typeof info;
    } catch {
      return { ready: false, reason: 'INFO is not JSON' };
    }
    if (info.server_name !== serverName)
      return { ready: false, reason: `another server (${String(info.server_name)})` };
    if (info.jetstream !== true) return { ready: false, reason: 'JetStream is not enabled' };
    return { ready: true };
  });
}
