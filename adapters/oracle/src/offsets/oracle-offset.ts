import { CheckpointError, type JsonValue, type OffsetCodec } from '@highwater/core';

/**
 * A position in Oracle's change stream as the log reader delivers it: transactions in commit order,
 * changes in redo order inside each.
 *
 * - `commitScn`: the SCN of the transaction's COMMIT record.
 * - `txSeq`: which of the transactions committed at `commitScn` (several can share one SCN), in the
 *   order their COMMIT records appear in the redo, from 0.
 * - `index`: the change inside the transaction, from 0 (-1: before its first change).
 * - `restartScn`: where mining must start to resume here — the start SCN of the oldest transaction
 *   still open at this point (or `commitScn` itself). Not compared: it is derived from the position.
 * - `thread`: the redo thread (`THREAD#`) of the commit; 1 on a single instance. Informational.
 *
 * A **watermark** at SCN `S` (the database's `CURRENT_SCN`) is `{commitScn: S + 1, txSeq: -1,
 * index: -1}`: after every transaction committed at or before `S`, before any committed later.
 * SCNs are decimal strings (they may exceed 2^53 on long-lived databases).
 */
export interface OracleOffset {
  readonly commitScn: string;
  readonly txSeq: number;
  readonly index: number;
  readonly restartScn: string;
  readonly thread: number;
}

/** The position just after everything committed at or before SCN `scn`; mining resumes at `restartScn`. */
export function watermarkAt(scn: bigint, restartScn: bigint): OracleOffset {
  return { commitScn: String(scn + 1n), txSeq: -1, index: -1, restartScn: String(restartScn), thread: 1 };
}

export function compareScn(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export function compareOracleOffsets(a: OracleOffset, b: OracleOffset): number {
  return compareScn(a.commitScn, b.commitScn) || a.txSeq - b.txSeq || a.index - b.index;
}

function invalid(json: JsonValue): CheckpointError {
  return new CheckpointError(
    `oracle: ${JSON.stringify(json)} is not an Oracle offset (expected {"commitScn": "…", "txSeq": n, "index": n, "restartScn": "…", "thread": n}); ` +
      'was the checkpoint written by another adapter?',
  );
}

const SCN = /^(0|[1-9]\d{0,19})$/;
const isIndex = (v: JsonValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;

/** Offsets serialised as `{"commitScn": "123", "txSeq": 0, "index": 2, "restartScn": "120", "thread": 1}`. */
export const oracleOffsets: OffsetCodec<OracleOffset> = {
  compare: compareOracleOffsets,
  toJSON: (o) => ({
    commitScn: o.commitScn,
    txSeq: o.txSeq,
    index: o.index,
    restartScn: o.restartScn,
    thread: o.thread,
  }),
  fromJSON(json: JsonValue): OracleOffset {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid(json);
    const o = json as { readonly [key: string]: JsonValue };
    const keys = Object.keys(o);
    if (keys.length !== 5) throw invalid(json);
    const { commitScn, txSeq, index, restartScn, thread } = o;
    if (typeof commitScn !== 'string' || !SCN.test(commitScn)) throw invalid(json);
    if (typeof restartScn !== 'string' || !SCN.test(restartScn) || compareScn(restartScn, commitScn) > 0)
      throw invalid(json);
    if (!isIndex(txSeq) || !isIndex(index)) throw invalid(json);
    if (typeof thread !== 'number' || !Number.isSafeInteger(thread) || thread < 1) throw invalid(json);
    return { commitScn, txSeq, index, restartScn, thread };
  },
};
