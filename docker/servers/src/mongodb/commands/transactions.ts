/**
 * commitTransaction and abortTransaction (https://www.mongodb.com/docs/manual/reference/command/commitTransaction/,
 * …/abortTransaction/). A commit applies every staged write under one cluster time; a retried commit of a
 * transaction that already committed succeeds again, as drivers expect.
 */
import type { CommandHandler } from '../context.js';
import { CommandError } from '../errors.js';

export const transactionCommands: Record<string, CommandHandler> = {
  commitTransaction(context) {
    const { txn } = context;
    if (txn === undefined)
      throw new CommandError('NoSuchTransaction', 'commitTransaction needs autocommit: false and a txnNumber');
    context.state.engine.commit(txn.changes, txn);
    const key = sessionKey(txn.lsid);
    context.state.transactions.delete(key);
    context.state.committed.set(key, String(txn.txnNumber));
    return {};
  },

  abortTransaction(context) {
    const { txn } = context;
    if (txn === undefined) throw new CommandError('NoSuchTransaction', 'abortTransaction: no transaction in progress');
    context.state.transactions.delete(sessionKey(txn.lsid));
    return {};
  },
};

/** A session's id as a map key: the hex of its UUID. */
export function sessionKey(lsid: Record<string, unknown>): string {
  const id = lsid.id as { toString(encoding: 'hex'): string } | undefined;
  return id === undefined ? '' : id.toString('hex');
}
