/** What a command handler of the MongoDB simulator gets: the engine, the request and the simulator's shared state. */
import type { Document } from 'bson';
import type { Engine, Transaction } from './backend.js';
import type { CursorRegistry } from './cursors.js';
import type { ScramConversation, SimulatedUser } from './scram.js';

/** Fault injection and settings every connection sees. */
export interface SimulatorState {
  readonly engine: Engine;
  readonly cursors: CursorRegistry;
  readonly port: number;
  /** Pose as a standalone server: no `setName` in `hello`, no change streams, no transactions. */
  readonly standalone: boolean;
  /** Privilege actions that fail with Unauthorized (13), e.g. `find`, `changeStream`, `splitVector`. */
  readonly deniedActions: Set<string>;
  /** Transactions in progress, by session id (hex) — one per session, as on a server. */
  readonly transactions: Map<string, Transaction>;
  /** Session ids (hex) with a transaction that committed, by txnNumber, so a retried commit succeeds. */
  readonly committed: Map<string, string>;
  readonly startedAt: Date;
  /** Commands received, by name (for tests that check which commands a client used). */
  readonly commandCounts: Map<string, number>;
  /** When not empty, every command but the handshake needs an authenticated user. */
  readonly users: readonly SimulatedUser[];
}

/** What the simulator remembers about one client connection. */
export interface ConnectionState {
  readonly id: number;
  /** The user this connection authenticated as. */
  user: SimulatedUser | undefined;
  conversation: ScramConversation | undefined;
}

export interface CommandContext {
  readonly state: SimulatorState;
  readonly db: string;
  readonly body: Document;
  readonly connection: ConnectionState;
  /** The transaction this command runs in, when it carries `autocommit: false`. */
  readonly txn: Transaction | undefined;
}

export type CommandHandler = (context: CommandContext) => Document | Promise<Document>;
