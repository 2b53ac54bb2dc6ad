import { describe, expect, it } from 'vitest';
import type { HeartbeatEvent, SchemaChangeEvent, TruncateEvent } from '../../src/events/source-event.js';
import { type DebeziumOptions, toDebeziumEnvelope } from '../../src/output/debezium.js';
import type { ColumnSchema, LogicalType, TableSchema } from '../../src/schema/table-schema.js';
import { JsonText } from '../../src/values/json-text.js';
import type { Row } from '../../src/values/value.js';
import { change, snapshotSource, streamSource, usersDropped } from './events.js';

const NOW = 1_717_243_300_456;
const options: DebeziumOptions = { name: 'shop-server', version: '0.1.0', now: () => NOW };
const alice: Row = { id: 1, name: 'Alice', email: 'alice@example.com' };
const alice2: Row = { id: 1, name: 'Alice B.', email: 'alice@example.com' };

function column(name: string, type: LogicalType): ColumnSchema {
  return { name, type, nativeType: type.kind, nullable: true };
}

describe('toDebeziumEnvelope', () => {
  it('writes a snapshot read as Debezium does: op r, snapshot "true", no before', () => {
    expect(toDebeziumEnvelope(change('r', { after: alice }), options)).toEqual({
      topic: 'shop-server.public.users',
      key: { id: 1 },
      value: {
        before: null,
        after: { id: 1, name: 'Alice', email: 'alice@example.com' },
        source: {
          version: '0.1.0',
          connector: 'postgres',
          name: 'shop-server',
          ts_ms: snapshotSource.opTs,
          ts_us: (snapshotSource.opTs as number) * 1000,
          snapshot: 'true',
          db: 'shop',
          sequence: null,
          schema: 'public',
          table: 'users',
          txId: null,
          offset: snapshotSource.offset,
        },
        op: 'r',
        ts_ms: NOW,
        ts_us: NOW * 1000,
        transaction: null,
      },
    });
  });

  it("uses Debezium's field names, in Debezium's order", () => {
    const { value } = toDebeziumEnvelope(change('c', { after: alice }), options);
    expect(Object.keys(value)).toEqual(['before', 'after', 'source', 'ts_ms', 'ts_us', 'transaction', 'op']);
    expect(Object.keys(value.source)).toEqual([
      'version',
      'connector',
      'name',
      'ts_ms',
      'ts_us',
      'snapshot',
      'db',
      'sequence',
      'schema',
      'table',
      'txId',
      'offset',
    ]);
  });

  it('writes an insert: op c, snapshot "false", the commit time and transaction id', () => {
    const { value } = toDebeziumEnvelope(change('c', { after: alice }), options);
    expect(value).toMatchObject({ op: 'c', before: null, after: alice, ts_ms: NOW });
    expect(value.source).toMatchObject({
      snapshot: 'false',
      ts_ms: streamSource.opTs,
      txId: '5741',
      offset: { commitLsn: '0/16B3748', lsn: '0/16B3790', seq: 2 },
    });
  });

  it('writes an update with both images', () => {
    const { key, value } = toDebeziumEnvelope(change('u', { before: alice, after: alice2 }), options);
    expect(key).toEqual({ id: 1 });
    expect(value).toMatchObject({ op: 'u', before: alice, after: alice2 });
  });

  it('writes a key-only before-image as it is: the key columns, nothing else', () => {
    const event = change('u', { before: { id: 1 }, after: alice2 }, { beforeImage: 'key' });
    const { value } = toDebeziumEnvelope(event, options);
    expect(value.before).toEqual({ id: 1 });
    expect(Object.keys(value.before ?? {})).toEqual(['id']);
    const removal = toDebeziumEnvelope(change('d', { before: { id: 1 } }, { beforeImage: 'key' }), options);
    expect(removal.value).toMatchObject({ op: 'd', before: { id: 1 }, after: null });
  });

  it('keeps an update without before-image at before: null, as Debezium does', () => {
    const { value } = toDebeziumEnvelope(change('u', { after: alice2, key: { id: 1 } }), options);
    expect(value.before).toBeNull();
    expect(value.after).toEqual(alice2);
  });

  it('writes a delete: op d, after null; without before-image the key stands in', () => {
    expect(toDebeziumEnvelope(change('d', { before: alice }), options).value).toMatchObject({
      op: 'd',
      before: alice,
      after: null,
    });
    const bare = toDebeziumEnvelope(change('d', { key: { id: 1 } }), options);
    expect(bare.value.before).toEqual({ id: 1 });
    expect(bare.key).toEqual({ id: 1 });
  });

  it('writes a truncate as op t with a null key and no rows', () => {
    const truncate: TruncateEvent = { kind: 'truncate', table: 'shop.public.users', source: streamSource };
    expect(toDebeziumEnvelope(truncate, options)).toEqual({
      topic: 'shop-server.public.users',
      key: null,
      value: expect.objectContaining({ op: 't', before: null, after: null, ts_ms: NOW, transaction: null }),
    });
  });

  it('returns null for schema changes and heartbeats', () => {
    const schemaChange: SchemaChangeEvent = usersDropped();
    const heartbeat: HeartbeatEvent = { kind: 'heartbeat', offset: { lsn: '0/1' }, at: NOW };
    expect(toDebeziumEnvelope(schemaChange, options)).toBeNull();
    expect(toDebeziumEnvelope(heartbeat, options)).toBeNull();
  });

  it('writes a null key for a table without a primary key', () => {
    expect(toDebeziumEnvelope(change('c', { after: alice, key: {} }), options).key).toBeNull();
  });

  it('has defaults for name, version, connector and clock', () => {
    const before = Date.now();
    const record = toDebeziumEnvelope(change('c', { after: alice }));
    expect(record.topic).toBe('highwater.public.users');
    expect(record.value.source).toMatchObject({ name: 'highwater', version: 'highwater', connector: 'postgres' });
    expect(record.value.ts_ms).toBeGreaterThanOrEqual(before);
    expect(record.value.ts_ms).toBeLessThanOrEqual(Date.now());
    expect(toDebeziumEnvelope(change('c', { after: alice }), { connector: 'postgresql' }).value.source.connector).toBe(
      'postgresql',
    );
  });

  it('falls back to the processing time when the event has no commit time', () => {
    const event = change('c', { after: alice }, { source: { ...streamSource, opTs: null } });
    expect(toDebeziumEnvelope(event, options).value.source).toMatchObject({ ts_ms: NOW, ts_us: NOW * 1000 });
  });

  describe('values', () => {
    const row: Row = {
      id: 9_007_199_254_740_993n,
      small: 42n,
      edge: 9_007_199_254_740_991n,
      past: 9_007_199_254_740_992n,
      negative: -9_223_372_036_854_775_808n,
      price: '12345678901234567890.0123456789',
      photo: new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]),
      empty: new Uint8Array([]),
      name: 'Zoë 🚀 東京 עברית e\u0301 \u0000 "quoted" \\ \n',
      missing: null,
      flag: true,
      ratio: 0.5,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      tags: ['a', null, 7n],
      doc: { nested: { big: 12_345_678_901_234_567_890n, bytes: new Uint8Array([104, 105]) }, list: [1, 'ü'] },
      uuid: '0b7b1a52-7a3b-4c5e-9c1d-8f2a6c3e4d5f',
      '名前 🚀': 'unicode column',
    };

    it('turns every value into a JSON-safe form', () => {
      const after = toDebeziumEnvelope(change('c', { after: row, key: { id: 9_007_199_254_740_993n } }), options).value
        .after;
      expect(after).toEqual({
        id: '9007199254740993',
        small: 42,
        edge: 9_007_199_254_740_991,
        past: '9007199254740992',
        negative: '-9223372036854775808',
        price: '12345678901234567890.0123456789',
        photo: 'AAEC+vv8/f7/',
        empty: '',
        name: 'Zoë 🚀 東京 עברית e\u0301 \u0000 "quoted" \\ \n',
        missing: null,
        flag: true,
        ratio: 0.5,
        nan: 'NaN',
        inf: 'Infinity',
        ninf: '-Infinity',
        tags: ['a', null, 7],
        doc: { nested: { big: '12345678901234567890', bytes: 'aGk=' }, list: [1, 'ü'] },
        uuid: '0b7b1a52-7a3b-4c5e-9c1d-8f2a6c3e4d5f',
        '名前 🚀': 'unicode column',
      });
    });

    it('survives JSON.stringify and JSON.parse unchanged, key included', () => {
      const record = toDebeziumEnvelope(
        change('u', { before: row, after: row, key: { id: 9_007_199_254_740_993n } }),
        options,
      );
      expect(JSON.parse(JSON.stringify(record))).toEqual(record);
      expect(record.key).toEqual({ id: '9007199254740993' });
    });

    it('encodes only the viewed bytes of a Uint8Array that is a view into a larger buffer', () => {
      const buffer = new Uint8Array([9, 9, 104, 105, 9]);
      const after = toDebeziumEnvelope(change('c', { after: { id: 1, b: buffer.subarray(2, 4) } }), options).value
        .after;
      expect(after?.b).toBe('aGk=');
    });

    it('keeps a column named __proto__ as a column', () => {
      const hostile = JSON.parse('{"id": 1, "__proto__": {"polluted": true}}') as Row;
      const after = toDebeziumEnvelope(change('c', { after: hostile }), options).value.after;
      expect(Object.keys(after ?? {})).toEqual(['id', '__proto__']);
      expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('with table schemas', () => {
    const users: TableSchema = {
      id: { database: 'shop', name: 'users' },
      columns: [
        column('id', { kind: 'int64' }),
        column('born', { kind: 'date' }),
        column('wakes', { kind: 'time', precision: 6 }),
        column('alarm', { kind: 'time', precision: 3 }),
        column('span', { kind: 'time' }),
        column('seen', { kind: 'timestamp', precision: 6 }),
        column('seen_ms', { kind: 'timestamp', precision: 3 }),
        column('seen_ns', { kind: 'timestamp', precision: 9 }),
        column('seen_default', { kind: 'timestamp' }),
        column('updated', { kind: 'timestamptz', precision: 6 }),
        column('profile', { kind: 'json' }),
        column('roles', { kind: 'set', values: ['admin', 'dev', 'ops'] }),
        column('days', { kind: 'array', element: { kind: 'date' } }),
        column('price', { kind: 'decimal', precision: 30, scale: 10 }),
      ],
      primaryKey: ['id'],
      chunkKey: ['id'],
    };
    const schemas = new Map([['shop.users', users]]);
    const row: Row = {
      id: 1,
      born: '2024-02-29',
      wakes: '13:45:00.123456',
      alarm: '07:30:00.250',
      span: '-838:59:59',
      seen: '2024-02-29T13:45:00.123456',
      seen_ms: '2024-02-29T13:45:00.123',
      seen_ns: '2024-02-29T13:45:00.123456789',
      seen_default: '1969-12-31T23:59:59.999999',
      updated: '2024-02-29T13:45:00.123456Z',
      profile: { lang: 'ü', big: 12_345_678_901_234_567_890n, tags: ['a'] },
      roles: ['admin', 'ops'],
      days: ['1970-01-01', '1969-12-31', '0001-01-01'],
      price: '0.0000000001',
    };
    const event = change(
      'c',
      { after: row },
      {
        source: {
          ...streamSource,
          table: 'shop.users',
          tableId: { database: 'shop', name: 'users' },
          connector: 'mysql',
        },
      },
    );
    const ms = Date.UTC(2024, 1, 29, 13, 45, 0, 123);

    it('takes db, schema and table from the schema id, and names the topic after the database', () => {
      const record = toDebeziumEnvelope(event, { ...options, schemas });
      expect(record.topic).toBe('shop-server.shop.users');
      expect(record.value.source).toMatchObject({ db: 'shop', schema: null, table: 'users' });
    });

    it("puts a MySQL or MariaDB table's database in db, with no schema, as Debezium's MySQL connector does", () => {
      const mysqlId = { schema: 'shop', name: 'users' };
      const mysqlEvent = change(
        'c',
        { after: alice },
        { source: { ...streamSource, table: 'shop.users', tableId: mysqlId, connector: 'mysql' } },
      );
      expect(toDebeziumEnvelope(mysqlEvent, options)).toMatchObject({
        topic: 'shop-server.shop.users',
        value: { source: { connector: 'mysql', db: 'shop', schema: null, table: 'users' } },
      });
      const mysqlSchemas = new Map([['shop.users', { ...users, id: mysqlId }]]);
      expect(toDebeziumEnvelope(mysqlEvent, { ...options, schemas: mysqlSchemas }).value.source).toMatchObject({
        db: 'shop',
        schema: null,
      });
      // Named as Debezium's MariaDB connector: the same.
      expect(toDebeziumEnvelope(mysqlEvent, { ...options, connector: 'mariadb' }).value.source).toMatchObject({
        db: 'shop',
        schema: null,
      });
      // A Postgres table's schema stays a schema.
      const pg = change(
        'c',
        { after: alice },
        { source: { ...streamSource, tableId: { schema: 'public', name: 'users' } } },
      );
      expect(toDebeziumEnvelope(pg, options).value.source).toMatchObject({ db: '', schema: 'public' });
    });

    it('takes db, schema and table from the event when no schema is given', () => {
      expect(toDebeziumEnvelope(event, options).value.source).toMatchObject({
        db: 'shop',
        schema: null,
        table: 'users',
      });
      const bare = change(
        'c',
        { after: alice },
        { source: { ...streamSource, table: 'users', tableId: { name: 'users' } } },
      );
      expect(toDebeziumEnvelope(bare, options)).toMatchObject({
        topic: 'shop-server.users',
        value: { source: { db: '', schema: null, table: 'users' } },
      });
    });

    it("writes JSON columns as JSON text and sets as comma-separated strings, as Debezium's converters do", () => {
      const after = toDebeziumEnvelope(event, { ...options, schemas }).value.after;
      expect(after?.profile).toBe('{"lang":"ü","big":"12345678901234567890","tags":["a"]}');
      expect(after?.roles).toBe('admin,ops');
      expect(after?.price).toBe('0.0000000001');
    });

    it('writes a JSON document as its exact text, with or without the schema, a null document as "null"', () => {
      const doc = '{"id": 12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1e400}';
      const documents = change(
        'c',
        { after: { id: 3, profile: new JsonText(doc), nothing: new JsonText('null'), absent: null } },
        { source: event.source },
      );
      for (const schemasOption of [{ schemas }, {}]) {
        const after = toDebeziumEnvelope(documents, { ...options, ...schemasOption }).value.after;
        expect(after).toEqual({ id: 3, profile: doc, nothing: 'null', absent: null });
      }
      const arrays = change('c', { after: { id: 4, docs: [new JsonText('1.10'), null] } }, { source: event.source });
      expect(toDebeziumEnvelope(arrays, options).value.after).toEqual({ id: 4, docs: ['1.10', null] });
    });

    it('keeps dates and times as ISO strings by default', () => {
      const after = toDebeziumEnvelope(event, { ...options, schemas }).value.after;
      expect(after).toMatchObject({ born: '2024-02-29', seen: '2024-02-29T13:45:00.123456', span: '-838:59:59' });
    });

    it("writes Debezium's adaptive temporal types", () => {
      const after = toDebeziumEnvelope(event, { ...options, schemas, temporal: 'adaptive' }).value.after;
      expect(after).toMatchObject({
        born: Date.UTC(2024, 1, 29) / 86_400_000,
        wakes: (13 * 3600 + 45 * 60) * 1_000_000 + 123_456,
        alarm: (7 * 3600 + 30 * 60) * 1000 + 250,
        span: -(838 * 3600 + 59 * 60 + 59) * 1_000_000,
        seen: ms * 1000 + 456,
        seen_ms: ms,
        seen_ns: `${ms}456789`,
        seen_default: -1,
        updated: '2024-02-29T13:45:00.123456Z',
        days: [0, -1, -719_162],
      });
    });

    it('writes every time in microseconds with adaptive_time_microseconds', () => {
      const after = toDebeziumEnvelope(event, { ...options, schemas, temporal: 'adaptive_time_microseconds' }).value
        .after;
      expect(after).toMatchObject({ alarm: (7 * 3600 + 30 * 60) * 1_000_000 + 250_000, seen_ms: ms });
    });

    it('keeps a temporal string it cannot read (Postgres infinity) as it is', () => {
      const odd = change('c', { after: { id: 2, seen: 'infinity', born: '-infinity' } }, { source: event.source });
      const after = toDebeziumEnvelope(odd, { ...options, schemas, temporal: 'adaptive' }).value.after;
      expect(after).toEqual({ id: 2, seen: 'infinity', born: '-infinity' });
    });

    it('converts key columns the same way', () => {
      const keyed: TableSchema = { ...users, primaryKey: ['born', 'id'] };
      const record = toDebeziumEnvelope(
        change(
          'c',
          { after: row, key: { born: '2024-02-29', id: 1 } },
          {
            source: event.source,
          },
        ),
        { ...options, schemas: new Map([['shop.users', keyed]]), temporal: 'adaptive' },
      );
      expect(record.key).toEqual({ born: 19_782, id: 1 });
    });
  });
});
