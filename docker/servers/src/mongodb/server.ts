/**
 * The MongoDB wire-protocol simulator: a TCP server the real `mongodb` driver (or pymongo) connects to. It poses as a
 * one-node replica set `rs0` and keeps real collections and an oplog behind the protocol, so clients see consistent
 * data and change streams. A test double for Highwater's tests, not a MongoDB server: see docker/README.md for what
 * it implements and for running the same tests against a real replica set (HIGHWATER_MONGODB_URL).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Timestamp } from 'bson';
import { Engine, type VisibilityLag } from './backend.js';
import type { ConnectionState, SimulatorState } from './context.js';
import { CursorRegistry } from './cursors.js';
import { dispatch } from './dispatch.js';
import type { SimulatedUser } from './scram.js';
import { encodeMsgReply, encodeQueryReply, FLAG_MORE_TO_COME, MessageReader, type WireRequest } from './wire.js';

/** Options of {@link startMongoSimulator}. */
export interface MongoSimulatorOptions {
  /** TCP port on 127.0.0.1; default a free one the system picks. */
  readonly port?: number;
  /**
   * Record pre- and post-images for every collection unless it is created or modified with
   * `changeStreamPreAndPostImages: { enabled: false }`. Default false, as on a server.
   */
  readonly preAndPostImages?: boolean;
  /** Pose as a standalone server instead of a replica set: no change streams, no transactions. Default false. */
  readonly standalone?: boolean;
  /**
   * Users that must authenticate (SCRAM-SHA-256, any auth database) before any command but the handshake; a wrong
   * password fails with AuthenticationFailed (18). Default none: no authentication.
   */
  readonly users?: readonly SimulatedUser[];
}

/** A running MongoDB simulator and its fault-injection controls. */
export interface MongoSimulator {
  /** Connection string for the driver, e.g. `mongodb://127.0.0.1:41234/?replicaSet=rs0`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Number of client connections open now. */
  readonly connectionCount: number;
  /** The latest cluster time handed out. */
  clusterTime(): Timestamp;
  /**
   * Drops every oplog entry before `ts` (default: every entry so far), as when the oplog window moves on: resuming
   * or starting a change stream from earlier fails with ChangeStreamHistoryLost (286).
   */
  truncateOplogBefore(ts?: Timestamp): void;
  /** Closes every client connection at once (a network failure); the server keeps running. */
  dropConnections(): void;
  /**
   * Makes commits reach reads late, as the memory adapter's `visibilityLag` fault: the oplog, change streams and the
   * cluster time have a commit before `find`, `count`, `aggregate` and `updateLookup` see its data. `null` stops
   * holding new commits; commits already held stay held until {@link releaseHeldCommits} (or their delay passes).
   */
  setVisibilityLag(lag: VisibilityLag | null): void;
  /** Makes every held commit visible to reads, in log order. */
  releaseHeldCommits(): void;
  /** Number of commits in the oplog whose data reads cannot see yet. */
  readonly heldCommits: number;
  /** Delays the moment a change stream sees each new write by `ms` (0 restores), e.g. a slow secondary. */
  setChangeStreamLagMs(ms: number): void;
  /**
   * Makes commands needing these privilege actions fail with Unauthorized (13), e.g. `['changeStream']`, `['find']`,
   * `['splitVector']`, `['bucketAuto']`; an empty list restores every privilege.
   */
  denyActions(actions: readonly string[]): void;
  /** How many commands of this name the simulator has received (e.g. `splitVector`, `find`). */
  commandCount(name: string): number;
  /** Stops listening, closes every connection and ends waiting cursors. */
  close(): Promise<void>;
}

class Connection {
  private readonly reader = new MessageReader();
  private queue: Promise<void> = Promise.resolve();
  private readonly session: ConnectionState;

  constructor(
    private readonly socket: Socket,
    private readonly state: SimulatorState,
    id: number,
  ) {
    this.session = { id, user: undefined, conversation: undefined };
    socket.on('data', (chunk) => {
      let requests: WireRequest[];
      try {
        requests = this.reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const request of requests) this.queue = this.queue.then(() => this.handle(request));
    });
    socket.on('error', () => socket.destroy());
  }

  private async handle(request: WireRequest): Promise<void> {
    if (this.socket.destroyed) return;
    try {
      if (request.kind === 'query') {
        const db = request.collection.split('.')[0] ?? 'admin';
        const reply = await dispatch(this.state, request.query, this.session, db);
        this.socket.write(encodeQueryReply(request.requestId, reply));
        return;
      }
      const reply = await dispatch(this.state, request.body, this.session);
      if ((request.flags & FLAG_MORE_TO_COME) === 0 && !this.socket.destroyed) {
        this.socket.write(encodeMsgReply(request.requestId, reply));
      }
    } catch (error) {
      // A bug in the simulator: say so to the client instead of hanging it.
      const message = error instanceof Error ? error.message : String(error);
      const reply = {
        ok: 0,
        errmsg: `MongoDB simulator internal error: ${message}`,
        code: 1,
        codeName: 'InternalError',
      };
      if (!this.socket.destroyed) {
        this.socket.write(
          request.kind === 'query'
            ? encodeQueryReply(request.requestId, reply)
            : encodeMsgReply(request.requestId, reply),
        );
      }
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Starts a MongoDB simulator on 127.0.0.1. */
export async function startMongoSimulator(options: MongoSimulatorOptions = {}): Promise<MongoSimulator> {
  const engine = new Engine({ preAndPostImagesByDefault: options.preAndPostImages ?? false });
  const connections = new Set<Connection>();
  const server: Server = createServer();
  let nextConnectionId = 1;
  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const state: SimulatorState = {
    engine,
    cursors: new CursorRegistry(),
    port,
    standalone: options.standalone ?? false,
    deniedActions: new Set(),
    commandCounts: new Map(),
    transactions: new Map(),
    committed: new Map(),
    startedAt: new Date(),
    users: options.users ?? [],
  };
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    const connection = new Connection(socket, state, nextConnectionId++);
    connections.add(connection);
    socket.on('close', () => connections.delete(connection));
  });
  let closed: Promise<void> | undefined;
  return {
    url: state.standalone ? `mongodb://${host}:${port}/` : `mongodb://${host}:${port}/?replicaSet=rs0`,
    host,
    port,
    get connectionCount() {
      return connections.size;
    },
    clusterTime: () => engine.clock.current(),
    truncateOplogBefore(ts) {
      engine.oplog.truncateBefore(ts ?? engine.clock.tick());
    },
    dropConnections() {
      for (const connection of connections) connection.destroy();
    },
    setVisibilityLag(lag) {
      engine.visibilityLag = lag;
    },
    releaseHeldCommits() {
      engine.releaseHeldCommits();
    },
    get heldCommits() {
      return engine.heldCommitCount;
    },
    setChangeStreamLagMs(ms) {
      engine.changeStreamLagMs = ms;
    },
    denyActions(actions) {
      state.deniedActions.clear();
      for (const action of actions) state.deniedActions.add(action);
    },
    commandCount: (name) => state.commandCounts.get(name) ?? 0,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) connection.destroy();
        state.cursors.clear();
        engine.oplog.wakeAll();
      });
      return closed;
    },
  };
}
