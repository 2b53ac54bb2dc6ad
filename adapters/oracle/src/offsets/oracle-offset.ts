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
 * - `thread`: the redo thread (`THREAD#`) of the commit; 1 on a single instance.
 * - `threads`: per redo thread (RAC: one per instance), the last commit the reader emitted from it at
 *   or before this position — its commit SCN and which of that thread's commits at that SCN it was.
 *   A resumed reader decides per thread what it already delivered, so it does not depend on the
 *   order LogMiner gives records of different threads at one SCN (not documented). Not compared.
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
  readonly threads: Readonly<Record<string, ThreadPosition>>;
}

/** A redo thread's last emitted commit: its SCN and which of the thread's commits at that SCN (from 0). */
export interface ThreadPosition {
  readonly commitScn: string;
  readonly txSeq: number;
}

/** The position just after everything committed at or before SCN `scn`; mining resumes at `restartScn`. */
export function watermarkAt(scn: bigint, restartScn: bigint): OracleOffset {
  return { commitScn: String(scn + 1n), txSeq: -1, index: -1, restartScn: String(restartScn), thread: 1, threads: {} };
}

/**
 * Whether change `index` of the transaction committed on redo `thread` at `commitScn`, as that
 * thread's `threadSeq`-th commit at that SCN, lies at or before `offset` (was delivered before a
 * restart). Commits at lower SCNs are; at higher SCNs are not; at the offset's own SCN each thread's
 * last emitted commit decides, and only the offset's own transaction can be partly delivered.
 */
export function isDelivered(
  offset: OracleOffset,
  thread: number,
  commitScn: string,
  threadSeq: number,
  index: number,
): boolean {
  const c = compareScn(commitScn, offset.commitScn);
  if (c !== 0) return c < 0;
  const last = offset.threads[String(thread)];
  if (last === undefined || last.commitScn !== offset.commitScn || threadSeq > last.txSeq) return false;
  if (threadSeq < last.txSeq) return true;
  return thread !== offset.thread || index <= offset.index;
}

export function compareScn(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export function compareOracleOffsets(a: OracleOffset, b: OracleOffset): number {
  return compareScn(a.commitScn, b.commitScn) || a.txSeq - b.txSeq || a.index - b.index;
}

function invalid(json: JsonValue): CheckpointError {
  return new CheckpointError(
    `oracle: ${JSON.stringify(json)} is not an Oracle offset (expected {"commitScn": "…", "txSeq": n, "index": n, "restartScn": "…", "thread": n, "threads": {"1": {"commitScn": "…", "txSeq": n}}}); ` +
      'was the checkpoint written by another adapter?',
  );
}

const SCN = /^(0|[1-9]\d{0,19})$/;
const isIndex = (v: JsonValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;

function threadsOf(
  json: JsonValue | undefined,
  offset: Omit<OracleOffset, 'threads'>,
): Record<string, ThreadPosition> | null {
  // Offsets written before `threads` existed were single-thread: the offset's own commit is its thread's last.
  if (json === undefined)
    return offset.txSeq < 0 ? {} : { [String(offset.thread)]: { commitScn: offset.commitScn, txSeq: offset.txSeq } };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const out: Record<string, ThreadPosition> = {};
  for (const [thread, p] of Object.entries(json)) {
    if (!/^[1-9]\d*$/.test(thread) || p === null || typeof p !== 'object' || Array.isArray(p)) return null;
    const { commitScn, txSeq } = p as { readonly [key: string]: JsonValue };
    if (typeof commitScn !== 'string' || !SCN.test(commitScn) || !isIndex(txSeq) || txSeq < 0) return null;
    out[thread] = { commitScn, txSeq };
  }
  return out;
}

/** Offsets serialised as `{"commitScn": "123", "txSeq": 0, "index": 2, "restartScn": "120", "thread": 1, "threads": {"1": {"commitScn": "123", "txSeq": 0}}}`. */
export const oracleOffsets: OffsetCodec<OracleOffset> = {
  compare: compareOracleOffsets,
  toJSON: (o) => ({
    commitScn: o.commitScn,
    txSeq: o.txSeq,
    index: o.index,
    restartScn: o.restartScn,
    thread: o.thread,
    threads: Object.fromEntries(
      Object.entries(o.threads).map(([t, p]) => [t, { commitScn: p.commitScn, txSeq: p.txSeq }]),
    ),
  }),
  fromJSON(json: JsonValue): OracleOffset {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid(json);
    const o = json as { readonly [key: string]: JsonValue };
    const keys = Object.keys(o);
    const known = ['commitScn', 'txSeq', 'index', 'restartScn', 'thread', 'threads'];
    if (keys.length < 5 || keys.some((k) => !known.includes(k))) throw invalid(json);
    const { commitScn, txSeq, index, restartScn, thread } = o;
    if (typeof commitScn !== 'string' || !SCN.test(commitScn)) throw invalid(json);
    if (typeof restartScn !== 'string' || !SCN.test(restartScn) || compareScn(restartScn, commitScn) > 0)
      throw invalid(json);
    if (!isIndex(txSeq) || !isIndex(index)) throw invalid(json);
    if (typeof thread !== 'number' || !Number.isSafeInteger(thread) || thread < 1) throw invalid(json);
    const threads = threadsOf(o.threads, { commitScn, txSeq, index, restartScn, thread });
    if (threads === null) throw invalid(json);
    return { commitScn, txSeq, index, restartScn, thread, threads };
  },
};
