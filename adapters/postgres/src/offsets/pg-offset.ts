import { CheckpointError, type JsonValue, type OffsetCodec } from '@highwater/core';
import { formatLsn, isLsn, type Lsn, parseLsn } from './lsn.js';

/**
 * A position in the logical replication stream, ordered the way pgoutput delivers it: by commit.
 *
 * - `commitLsn`: where the transaction's commit record starts (pgoutput sends transactions whole,
 *   in the order of their commit records).
 * - `lsn`: the WAL record of the change inside the transaction (non-decreasing inside it).
 * - `seq`: the change's position inside the transaction, from 0; one WAL record can hold several
 *   rows (multi-insert), so `lsn` alone is not fine enough to resume inside a transaction.
 *
 * A **watermark** (and a keepalive or marker position) at LSN `L` is `{commitLsn: L, lsn: 0, seq: -1}`:
 * it sorts after every change of a transaction whose commit record starts before `L` and before
 * every change of a transaction committed at or after `L`.
 */
export interface PgOffset {
  readonly commitLsn: Lsn;
  readonly lsn: Lsn;
  readonly seq: number;
}

/** The position just before LSN `lsn`: after every transaction committed before it. */
export function positionAt(lsn: Lsn): PgOffset {
  return { commitLsn: lsn, lsn: 0n, seq: -1 };
}

export function compareOffsets(a: PgOffset, b: PgOffset): number {
  if (a.commitLsn !== b.commitLsn) return a.commitLsn < b.commitLsn ? -1 : 1;
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return a.seq - b.seq;
}

function invalid(json: JsonValue): CheckpointError {
  return new CheckpointError(
    `postgres: ${JSON.stringify(json)} is not a Postgres offset (expected {"commitLsn": "X/Y", "lsn": "X/Y", "seq": n}); ` +
      'was the checkpoint written by another adapter?',
  );
}

/**
 * The last commit LSN formatted, and its text: every change event's offset is serialised, and the
 * changes of one transaction share their commit LSN.
 */
let lastCommit: Lsn = 0n;
let lastCommitText = formatLsn(0n);

function formatCommit(lsn: Lsn): string {
  if (lsn !== lastCommit) {
    lastCommitText = formatLsn(lsn);
    lastCommit = lsn;
  }
  return lastCommitText;
}

/** Offsets serialised as `{"commitLsn": "16/B374D848", "lsn": "16/B374D900", "seq": 3}`. */
export const pgOffsets: OffsetCodec<PgOffset> = {
  compare: compareOffsets,
  toJSON: (o) => ({ commitLsn: formatCommit(o.commitLsn), lsn: formatLsn(o.lsn), seq: o.seq }),
  fromJSON(json: JsonValue): PgOffset {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid(json);
    const o = json as { readonly [key: string]: JsonValue };
    const { commitLsn, lsn, seq } = o;
    if (typeof commitLsn !== 'string' || !isLsn(commitLsn)) throw invalid(json);
    if (typeof lsn !== 'string' || !isLsn(lsn)) throw invalid(json);
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < -1) throw invalid(json);
    return { commitLsn: parseLsn(commitLsn), lsn: parseLsn(lsn), seq };
  },
};
