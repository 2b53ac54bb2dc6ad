import type { LogItem, OffsetCodec } from '@highwater/core';
import { JsonText } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { decodeTableChanges, encodeLogBatch, type LogMessage } from '../src/log-codec.js';
import { chunkRecordKey, clusterNames } from '../src/names.js';

const offsets: OffsetCodec<number> = {
  compare: (a, b) => a - b,
  toJSON: (o) => o,
  fromJSON: (j) => j as number,
};

const change = (offset: number, table = 's.t', id = offset): LogItem<number> => ({
  kind: 'change',
  op: 'u',
  table,
  offset,
  before: { id, v: null },
  after: { id, v: 2n ** 70n, b: new Uint8Array([1, 2]), j: new JsonText('{"a":1}') },
  beforeImage: 'full',
  unchanged: ['x'],
  commitTime: 1000,
  txId: 't1',
});

describe('log stream messages', () => {
  it('carry changes after the last published offset, values intact, and the batch end as `last`', () => {
    const batch: LogItem<number>[] = [change(1), change(2), { kind: 'progress', offset: 3 }];
    const encoded = encodeLogBatch(batch, offsets, 1);
    expect(encoded?.last).toBe(3);
    const messages = encoded!.messages.map((m) => JSON.parse(m) as LogMessage);
    expect(messages.map((m) => m.last)).toEqual([3]);
    const changes = decodeTableChanges(messages[0]!, 's.t', offsets, 0, 10);
    expect(changes).toEqual([change(2)]);
  });

  it('are not written for a batch at or before what was published', () => {
    expect(encodeLogBatch([change(4)], offsets, 4)).toBeNull();
    expect(encodeLogBatch([], offsets, null)).toBeNull();
  });

  it('split a large batch, each message ending at its own last change', () => {
    const batch = Array.from({ length: 600 }, (_, i) => change(i + 1));
    const messages = encodeLogBatch(batch, offsets, null)!.messages.map((m) => JSON.parse(m) as LogMessage);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.map((m) => m.last)).toEqual([256, 512, 600]);
    const all = messages.flatMap((m) => decodeTableChanges(m, 's.t', offsets, 0, 1000).map((c) => c.offset));
    expect(all).toEqual(batch.map((c) => c.offset));
  });

  it('give a window only its table and offsets in (after, through]', () => {
    const message = JSON.parse(
      encodeLogBatch([change(1), change(2, 's.other'), change(3), change(4), change(5)], offsets, null)!.messages[0]!,
    ) as LogMessage;
    expect(decodeTableChanges(message, 's.t', offsets, 1, 4).map((c) => c.offset)).toEqual([3, 4]);
  });

  it('carry truncates', () => {
    const message = JSON.parse(
      encodeLogBatch([{ kind: 'truncate', table: 's.t', offset: 7, commitTime: null, txId: null }], offsets, null)!
        .messages[0]!,
    ) as LogMessage;
    expect(decodeTableChanges(message, 's.t', offsets, 0, 7)).toEqual([
      { kind: 'truncate', table: 's.t', offset: 7, commitTime: null, txId: null },
    ]);
  });
});

describe('cluster names', () => {
  it('keep pipelines apart whose names differ only in . and _', () => {
    const a = clusterNames('a.b');
    const b = clusterNames('a_b');
    expect(a.stateBucket).not.toBe(b.stateBucket);
    expect(a.logStream).not.toBe(b.logStream);
    expect(a.logStream).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('make one subject token and key per chunk id, whatever the table name', () => {
    const subject = clusterNames('p').chunkSubject('db.schema.table name:12');
    expect(subject.split('.').length).toBe(4);
    expect(chunkRecordKey('db.schema.table:12')).toMatch(/^chunk\.[A-Za-z0-9_-]+$/);
  });
});
