import { describe, expect, it } from 'vitest';
import { type AppliedChange, checkExactlyOnce, type SourceWrite } from './exactly-once.js';

// The checker the end-to-end tests rely on, on hand-made histories: it must pass what a correct
// pipeline can do (one outcome per key inside a batch, a delete kept before a re-insert, writes made
// before a row's snapshot copy skipped) and fail duplicates, losses, phantoms and reordering.

const initial = new Map([['t', ['a', 'b']]]);
const w = (seq: number, key: string, op: SourceWrite['op'], ver = seq): SourceWrite => ({
  seq,
  table: 't',
  key,
  op,
  ver,
});
let n = 0;
const applied = (tx: number, key: string, op: AppliedChange['op'], ver: number): AppliedChange => ({
  n: ++n,
  tx: String(tx),
  table: 't',
  key,
  op,
  ver,
});
const snapshot = [applied(0, 'a', 'INSERT', 0), applied(0, 'b', 'INSERT', 0)];

describe('checkExactlyOnce', () => {
  it('passes every write applied once, in order', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'b', 'update'), w(3, 'a', 'delete', 1), w(4, 'a', 'insert')];
    const audit = [
      ...snapshot,
      applied(1, 'a', 'UPDATE', 1),
      applied(1, 'b', 'UPDATE', 2),
      applied(2, 'a', 'DELETE', 1),
      applied(2, 'a', 'INSERT', 4),
    ];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toEqual([]);
  });

  it('passes upserts of one key merged inside one batch', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'a', 'update'), w(3, 'b', 'update'), w(4, 'a', 'update')];
    const audit = [
      ...snapshot,
      applied(1, 'a', 'UPDATE', 1),
      applied(2, 'b', 'UPDATE', 3),
      applied(2, 'a', 'UPDATE', 4),
    ];
    const report = checkExactlyOnce(initial, writes, audit, 0);
    expect(report.problems).toEqual([]);
    expect(report.merged).toBe(1);
  });

  it('passes writes made before the row was snapshotted', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'a', 'update')];
    const audit = [applied(0, 'b', 'INSERT', 0), applied(1, 'a', 'INSERT', 2)];
    const report = checkExactlyOnce(initial, writes, audit, 5);
    expect(report.problems).toEqual([]);
    expect(report.beforeSnapshot).toBe(1);
  });

  it('fails a version applied twice', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'b', 'update')];
    const audit = [
      ...snapshot,
      applied(1, 'a', 'UPDATE', 1),
      applied(2, 'a', 'UPDATE', 1),
      applied(2, 'b', 'UPDATE', 2),
    ];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toEqual([
      `t:a: UPDATE of version 1 (audit #${audit[3]!.n}) applied twice or out of order`,
    ]);
  });

  it('fails a snapshot row applied again after a later change', () => {
    const writes = [w(1, 'a', 'update')];
    const audit = [...snapshot, applied(1, 'a', 'UPDATE', 1), applied(2, 'a', 'UPDATE', 0)];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toHaveLength(1);
  });

  it('fails a write lost between batches even when a later write of the key arrives', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'a', 'update'), w(3, 'b', 'update'), w(4, 'a', 'update')];
    // Batch 1 covered writes up to #3 (b's update) without a's #2: #2 was not merged into #4.
    const audit = [
      ...snapshot,
      applied(1, 'a', 'UPDATE', 1),
      applied(1, 'b', 'UPDATE', 3),
      applied(2, 'a', 'UPDATE', 4),
    ];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toEqual([
      't:a: update of version 2 (write #2) was never applied',
    ]);
  });

  it('fails a lost delete', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'a', 'delete', 1), w(3, 'a', 'insert')];
    const audit = [...snapshot, applied(1, 'a', 'UPDATE', 1), applied(2, 'a', 'INSERT', 3)];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toEqual([
      't:a: delete of version 1 (write #2) was never applied',
    ]);
  });

  it('fails a row inserted and deleted in different batches after the snapshot that never arrived', () => {
    // b's updates #6 and #7 went to two transactions: a batch ended between c's insert and delete.
    const writes = [w(5, 'c', 'insert'), w(6, 'b', 'update'), w(7, 'b', 'update'), w(8, 'c', 'delete', 5)];
    const audit = [...snapshot, applied(1, 'b', 'UPDATE', 6), applied(2, 'b', 'UPDATE', 7)];
    expect(checkExactlyOnce(initial, writes, audit, 4).problems).toEqual([
      't:c: insert of version 5 (write #5) was never applied',
      // The delete of a row the target never had leaves no audit entry either way.
    ]);
  });

  it('passes a row inserted and deleted inside one batch: it never reaches the target', () => {
    const writes = [w(5, 'c', 'insert'), w(6, 'b', 'update'), w(7, 'c', 'delete', 5)];
    const audit = [...snapshot, applied(1, 'b', 'UPDATE', 6)];
    const report = checkExactlyOnce(initial, writes, audit, 4);
    expect(report.problems).toEqual([]);
    expect(report.merged).toBe(2);
  });

  it('passes an update and a delete of one key in one batch: the DELETE deletes the stored version', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'b', 'update'), w(3, 'a', 'delete', 1)];
    const audit = [...snapshot, applied(1, 'b', 'UPDATE', 2), applied(1, 'a', 'DELETE', 0)];
    const report = checkExactlyOnce(initial, writes, audit, 0);
    expect(report.problems).toEqual([]);
    expect(report.merged).toBe(1);
  });

  it('passes a delete and a re-insert of one key in one batch, and fails a DELETE of a version the target did not hold', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'a', 'delete', 1), w(3, 'a', 'insert')];
    const kept = [...snapshot, applied(1, 'a', 'DELETE', 0), applied(1, 'a', 'INSERT', 3)];
    expect(checkExactlyOnce(initial, writes, kept, 0).problems).toEqual([]);
    const wrong = [...snapshot, applied(1, 'a', 'DELETE', 7), applied(1, 'a', 'INSERT', 3)];
    expect(checkExactlyOnce(initial, writes, wrong, 0).problems).toEqual([
      `t:a: DELETE of version 7 (audit #${wrong[2]!.n}) matches no source write`,
      't:a: delete of version 1 (write #2) was never applied',
    ]);
  });

  it('fails a delete of a held row dropped in favour of a later insert of the same batch', () => {
    // The target held a (snapshot copy): the sink keeps the delete, so the audit must show it.
    const writes = [w(1, 'a', 'delete', 0), w(2, 'a', 'insert')];
    const audit = [...snapshot, applied(1, 'a', 'INSERT', 2)];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toEqual([
      't:a: delete of version 0 (write #1) was never applied',
    ]);
  });

  it('fails a version no source write made', () => {
    const audit = [...snapshot, applied(1, 'a', 'UPDATE', 99)];
    expect(checkExactlyOnce(initial, [], audit, 0).problems).toEqual([
      `t:a: UPDATE of version 99 (audit #${audit[2]!.n}) matches no source write`,
    ]);
  });

  it('fails versions applied out of order', () => {
    const writes = [w(1, 'a', 'update'), w(2, 'a', 'update')];
    const audit = [...snapshot, applied(1, 'a', 'UPDATE', 2), applied(2, 'a', 'UPDATE', 1)];
    expect(checkExactlyOnce(initial, writes, audit, 0).problems).toEqual([
      `t:a: UPDATE of version 1 (audit #${audit[3]!.n}) applied twice or out of order`,
    ]);
  });
});
