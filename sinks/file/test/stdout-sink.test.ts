import type { ChangeEvent, EventBatch, SourceEvent } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { EventLineEncoder } from '@highwater/core';
import { StdoutSink } from '../src/stdout-sink.js';

const change: ChangeEvent = {
  kind: 'change',
  op: 'u',
  key: { id: 12345678901234567890n },
  before: { id: 12345678901234567890n, photo: new Uint8Array([1, 2, 255]), score: Number.NaN },
  after: { id: 12345678901234567890n, photo: Buffer.from([7]), score: 1.5 },
  beforeImage: 'full',
  unknownColumns: [],
  source: {
    connector: 'postgres',
    table: 'public.users',
    tableId: { schema: 'public', name: 'users' },
    opTs: 1_700_000_000_000,
    offset: { lsn: '0/16B3748' },
    txId: '771',
    snapshot: false,
  },
};
const heartbeat: SourceEvent = { kind: 'heartbeat', offset: { lsn: '0/1' }, at: 1 };
const schemaChange: SourceEvent = {
  kind: 'schema',
  table: 'public.users',
  schema: null,
  before: null,
  changes: [],
  ddl: 'DROP TABLE users',
  source: change.source,
};

function capture() {
  const chunks: string[] = [];
  return {
    chunks,
    output: {
      write(chunk: Uint8Array, callback: (error?: Error | null) => void) {
        chunks.push(Buffer.from(chunk).toString('utf8'));
        callback();
        return true;
      },
    },
  };
}

const batchOf = (events: SourceEvent[]): EventBatch => ({
  events,
  checkpoint: { version: 1, connector: 'postgres', position: null, complete: false, tables: {} },
});

describe('stdout sink', () => {
  it('writes native events as JSON lines: bigint as a decimal string, bytes as base64, NaN as a string', async () => {
    const { chunks, output } = capture();
    const sink = new StdoutSink({ format: 'native', output });
    expect(sink.storesCheckpoints).toBe(false);
    expect(await sink.open()).toBeNull();
    await sink.write(batchOf([change, heartbeat, schemaChange]));
    const out = chunks.join('').split('\n');
    expect(out).toHaveLength(3);
    expect(out[2]).toBe('');
    const first = JSON.parse(out[0]!);
    expect(first.key).toEqual({ id: '12345678901234567890' });
    expect(first.before).toEqual({ id: '12345678901234567890', photo: 'AQL/', score: 'NaN' });
    expect(first.after.photo).toBe('Bw==');
    expect(first.source.offset).toEqual({ lsn: '0/16B3748' });
    expect(JSON.parse(out[1]!).kind).toBe('schema');
  });

  it('writes Debezium envelopes named by the pipeline and schema changes in Debezium shape, leaving out heartbeats', async () => {
    const { chunks, output } = capture();
    const sink = new StdoutSink({ format: 'debezium', serverName: 'shop', output });
    await sink.write(batchOf([heartbeat, change, schemaChange]));
    const out = chunks.join('').trimEnd().split('\n');
    expect(out).toHaveLength(2);
    expect(JSON.parse(out[1]!).value).toMatchObject({ ddl: 'DROP TABLE users', tableChanges: [{ type: 'DROP' }] });
    const record = JSON.parse(out[0]!);
    expect(record.topic).toBe('shop.public.users');
    expect(record.value.op).toBe('u');
    expect(record.value.source).toMatchObject({ name: 'shop', connector: 'postgres', table: 'users', txId: '771' });
    expect(record.value.after.photo).toBe('Bw==');
  });

  it('writes nothing for a heartbeat-only batch', async () => {
    const { chunks, output } = capture();
    await new StdoutSink({ format: 'native', output }).write(batchOf([heartbeat]));
    expect(chunks).toEqual([]);
  });

  it('fails the write with a SinkError when the output does', async () => {
    const sink = new StdoutSink({
      format: 'native',
      output: {
        write(_c: Uint8Array, cb: (e?: Error | null) => void) {
          cb(new Error('EPIPE'));
          return false;
        },
      },
    });
    await expect(sink.write(batchOf([change]))).rejects.toThrow('cannot write to standard output: EPIPE');
  });

  it('encodes the same event the same way each time', () => {
    const encoder = new EventLineEncoder('native');
    expect(encoder.encode([change])).toBe(encoder.encode([change]));
  });
});
