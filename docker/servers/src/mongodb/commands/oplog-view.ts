/**
 * `local.oplog.rs` as documents, read-only: `ts`, `t`, `v`, `op` (i/u/d/c/n), `ns`, `ui`, `o`, `o2`, `wall`,
 * `lsid`/`txnNumber`, after the shape of a replica set's oplog
 * (https://www.mongodb.com/docs/manual/core/replica-set-oplog/). Transactions appear as one entry per operation
 * rather than the server's single applyOps entry — a simplification of this simulator.
 */
import { type Document, Long } from 'bson';
import type { Engine } from '../backend.js';

const OP_CODES: Record<string, string> = {
  insert: 'i',
  update: 'u',
  replace: 'u',
  delete: 'd',
  noop: 'n',
};

export function oplogView(engine: Engine): Document[] {
  return engine.oplog.all().map((entry) => {
    const doc: Document = {
      ts: entry.ts,
      t: Long.fromNumber(1),
      v: Long.fromNumber(2),
      op: OP_CODES[entry.op] ?? 'c',
      ns: entry.coll === undefined ? `${entry.db}.$cmd` : `${entry.db}.${entry.coll}`,
      wall: entry.wall,
    };
    if (entry.uuid !== undefined) doc.ui = entry.uuid;
    switch (entry.op) {
      case 'insert':
      case 'replace':
        doc.o = entry.after;
        if (entry.op === 'replace') doc.o2 = { _id: entry.key };
        break;
      case 'update':
        doc.o = { $v: 2, diff: entry.description ?? {} };
        doc.o2 = { _id: entry.key };
        break;
      case 'delete':
        doc.o = { _id: entry.key };
        break;
      case 'noop':
        doc.o = entry.detail ?? {};
        break;
      default:
        doc.o = {
          [entry.op]: entry.coll ?? entry.db,
          ...(entry.to === undefined ? {} : { to: `${entry.to.db}.${entry.to.coll}` }),
        };
    }
    if (entry.lsid !== undefined) {
      doc.lsid = entry.lsid;
      doc.txnNumber = entry.txnNumber;
    }
    return doc;
  });
}
