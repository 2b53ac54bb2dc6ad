/**
 * Command dispatch of the MongoDB simulator: finds the handler, resolves the session's transaction, and shapes the
 * reply — `ok: 1` plus `$clusterTime` and `operationTime` as a replica-set member gossips them
 * (https://www.mongodb.com/docs/manual/reference/command/#response), or `{ ok: 0, errmsg, code, codeName }`.
 */
import { Binary, type Document, Long } from 'bson';
import { Transaction } from './backend.js';
import { authCommands } from './commands/auth.js';
import { ddlCommands } from './commands/ddl.js';
import { handshakeCommands } from './commands/handshake.js';
import { readCommands } from './commands/read.js';
import { splitCommands } from './commands/split.js';
import { sessionKey, transactionCommands } from './commands/transactions.js';
import { writeCommands } from './commands/write.js';
import type { CommandContext, CommandHandler, ConnectionState, SimulatorState } from './context.js';
import { CommandError } from './errors.js';
import { isPlainDocument } from './paths.js';

const handlers: Record<string, CommandHandler> = {
  ...handshakeCommands,
  ...writeCommands,
  ...readCommands,
  ...ddlCommands,
  ...transactionCommands,
  ...splitCommands,
  ...authCommands,
};
// Command names are matched as sent, except the few the server also accepts in lower case.
handlers.findandmodify = handlers.findAndModify as CommandHandler;

const ZERO_SIGNATURE = { hash: new Binary(Buffer.alloc(20)), keyId: Long.ZERO };

function resolveTransaction(
  state: SimulatorState,
  name: string,
  body: Document,
): Transaction | undefined | 'alreadyCommitted' {
  if (body.autocommit !== false || !isPlainDocument(body.lsid)) return undefined;
  if (state.standalone) {
    throw new CommandError(
      'IllegalOperation',
      'Transaction numbers are only allowed on a replica set member or mongos',
    );
  }
  const key = sessionKey(body.lsid);
  const txnNumber = String(body.txnNumber);
  if (body.startTransaction === true) {
    const txn = new Transaction(body.lsid, body.txnNumber);
    state.transactions.set(key, txn);
    return txn;
  }
  const txn = state.transactions.get(key);
  if (txn !== undefined && String(txn.txnNumber) === txnNumber) return txn;
  if (name === 'commitTransaction' && state.committed.get(key) === txnNumber) return 'alreadyCommitted';
  throw new CommandError(
    'NoSuchTransaction',
    `Transaction with txnNumber ${txnNumber} has been aborted or was never started on this session`,
    ['TransientTransactionError'],
  );
}

/** Reads that take a read concern (https://www.mongodb.com/docs/manual/reference/read-concern/ "Read Concern Support"). */
const MAJORITY_READS = new Set(['find', 'aggregate', 'count', 'distinct']);

/** Commands a client may send before it authenticates. */
const UNAUTHENTICATED = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'endSessions',
]);

export async function dispatch(
  state: SimulatorState,
  body: Document,
  connection: ConnectionState,
  defaultDb = 'admin',
): Promise<Document> {
  const name = Object.keys(body)[0] ?? '';
  state.commandCounts.set(name, (state.commandCounts.get(name) ?? 0) + 1);
  let reply: Document;
  try {
    const handler = handlers[name];
    if (handler === undefined) {
      throw new CommandError(
        'CommandNotFound',
        `no such command: '${name}' (the MongoDB simulator does not implement it)`,
      );
    }
    if (state.users.length > 0 && connection.user === undefined && !UNAUTHENTICATED.has(name)) {
      throw new CommandError('Unauthorized', `Command ${name} requires authentication`);
    }
    const txn = resolveTransaction(state, name, body);
    const db = typeof body.$db === 'string' ? body.$db : defaultDb;
    if (txn === 'alreadyCommitted') {
      reply = { ok: 1 };
    } else {
      const context: CommandContext = { state, db, body, connection, txn };
      reply = { ...(await handler(context)), ok: 1 };
    }
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    reply = { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName };
    if (error.errorLabels.length > 0) reply.errorLabels = error.errorLabels;
    if (isPlainDocument(body.lsid) && body.autocommit === false && error.codeName !== 'NoSuchTransaction') {
      // A failed statement aborts its transaction, as on the server.
      state.transactions.delete(sessionKey(body.lsid));
    }
  }
  if (!state.standalone) {
    const clusterTime = state.engine.clock.current();
    reply.$clusterTime = { clusterTime, signature: ZERO_SIGNATURE };
    // A majority read's operationTime is the majority commit point it read at; it trails $clusterTime while
    // commits are held (the visibility-lag fault, backend.ts).
    const majorityRead = MAJORITY_READS.has(name) && (body.readConcern as Document | undefined)?.level === 'majority';
    reply.operationTime = majorityRead ? state.engine.majorityCommitPoint() : clusterTime;
  }
  return reply;
}
