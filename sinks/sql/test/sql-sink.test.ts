import { type LogicalType, SinkError, type TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { BULK_MIN_ROWS } from '../src/sql-sink.js';
import {
  type CapturedLog,
  checkpoint,
  context,
  createSqlSink,
  insert,
  q,
  readSqlSinkCheckpoint,
  remove,
  schemaChange,
  sinkConfig,
  table,
  type TargetKind,
  throwawayTarget,
  truncate,
  update,
} from './helpers.js';

const items = table(
  'items',
  [
    ['id', { kind: 'int32' }],
    ['name', { kind: 'string' }],
    ['note', { kind: 'string' }],
  ],
  ['id'],
);
const others = table('others', [...items.columns.map((c): [string, LogicalType] => [c.name, c.type])], ['id']);

describe.each<TargetKind>(['postgres', 'mysql'])('the %s sink', (kind) => {
  const target = throwawayTarget(kind, 't');
  let n = 0;

  async function rows(schema: string, name: string, order = 'id'): Promise<Record<string, unknown>[]> {
    return target.db.query(`SELECT * FROM ${q(kind, schema, name)} ORDER BY ${order}`);
  }

  it('open() on a fresh target returns null and creates nothing', async () => {
    const schema = await target.freshSchema();
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), context([items]));
    expect(await sink.open()).toBeNull();
    await sink.close();
    expect(await target.db.tables(schema)).toEqual([]);
    expect(await readSqlSinkCheckpoint(sinkConfig(kind, target.url, schema), 'test-pipeline')).toBeNull();
  });

  it('creates tables lazily and stores the checkpoint with the rows; open() returns it', async () => {
    const schema = await target.freshSchema();
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    await sink.write({ events: [insert(items, { id: 1, name: 'a', note: 'x' })], checkpoint: checkpoint(1) });
    await sink.close();
    expect(await target.db.tables(schema)).toEqual(['highwater_checkpoints', 'items']);
    const again = createSqlSink(config, context([items]));
    expect(await again.open()).toEqual(checkpoint(1));
    await again.close();
    const stored = await readSqlSinkCheckpoint(config, 'test-pipeline');
    expect(stored?.checkpoint).toEqual(checkpoint(1));
    expect(Math.abs((stored?.storedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it('applies upserts, deletes, key changes and truncates in order, coalesced', async () => {
    const schema = await target.freshSchema();
    const sink = createSqlSink(sinkConfig(kind, target.url, schema, 3, 'evolve'), context([items]));
    await sink.open();
    const many = Array.from({ length: 20 }, (_, i) => insert(items, { id: 100 + i, name: `n${i}`, note: null }));
    await sink.write({
      events: [
        ...many,
        insert(items, { id: 1, name: 'a', note: 'x' }),
        insert(items, { id: 2, name: 'b', note: 'y' }),
        // an insert of an existing key is an upsert (snapshot reads overlap the stream)
        insert(items, { id: 1, name: 'a2', note: 'x2' }),
        remove(items, { id: 2 }),
        insert(items, { id: 2, name: 'b-again', note: null }),
        update(items, { id: 1 }, { id: 3, name: 'moved', note: 'x2' }),
        remove(items, { id: 105 }),
        update(items, { id: 106 }, { id: 106, name: 'six', note: 'upd' }),
      ],
      checkpoint: checkpoint(1),
    });
    const after = await rows(schema, 'items');
    expect(after.map((r) => [Number(r.id), r.name])).toEqual([
      [2, 'b-again'],
      [3, 'moved'],
      ...many.filter((_, i) => i !== 5).map((e, i) => [Number(e.after?.id), i === 5 ? 'six' : e.after?.name]),
    ]);
    await sink.write({
      events: [truncate(items), insert(items, { id: 7, name: 'after', note: null })],
      checkpoint: checkpoint(2),
    });
    expect((await rows(schema, 'items')).map((r) => Number(r.id))).toEqual([7]);
    await sink.close();
  });

  it('loads many rows in bulk, and replaces (never doubles) rows the target has already', async () => {
    const schema = await target.freshSchema();
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    const chunk = (from: number, name: string) =>
      Array.from({ length: BULK_MIN_ROWS * 2 }, (_, i) => insert(items, { id: from + i, name, note: `${i}\t\\\n` }));
    await sink.write({ events: chunk(1, 'first'), checkpoint: checkpoint(1) });
    expect(await rows(schema, 'items')).toHaveLength(BULK_MIN_ROWS * 2);
    // As after a crash that re-created part of a chunk: the load meets existing keys and upserts instead.
    const second = chunk(BULK_MIN_ROWS + 1, 'second');
    await sink.write({ events: second, checkpoint: checkpoint(2) });
    const after = await rows(schema, 'items');
    expect(after).toHaveLength(BULK_MIN_ROWS * 3);
    expect(after.filter((r) => r.name === 'second').map((r) => Number(r.id))).toEqual(second.map((e) => e.after?.id));
    expect(after[0]).toEqual({ id: 1, name: 'first', note: '0\t\\\n' });
    // A value longer than a piece of the load's data (256 KiB) between short rows, read back whole.
    const long = `${'ü'.repeat(100_000)}\t${'x'.repeat(100_000)}`;
    const longRows = Array.from({ length: BULK_MIN_ROWS }, (_, i) =>
      insert(items, { id: 1000 + i, name: 'long', note: i === 1 ? long : 'short' }),
    );
    await sink.write({ events: longRows, checkpoint: checkpoint(2) });
    const loaded = await rows(schema, 'items');
    expect(loaded.filter((r) => r.name === 'long').map((r) => r.note)).toEqual(longRows.map((e) => e.after?.note));
    await target.db.query(`DELETE FROM ${q(kind, schema, 'items')} WHERE name = 'long'`);
    // Many updates in one batch: upserted together (on Postgres through a stage loaded in bulk).
    const updates = after.map((r) =>
      update(items, { id: Number(r.id) }, { id: Number(r.id), name: 'third', note: null }),
    );
    await sink.write({ events: [...updates, remove(items, { id: 2 })], checkpoint: checkpoint(3) });
    const third = await rows(schema, 'items');
    expect(third).toHaveLength(BULK_MIN_ROWS * 3 - 1);
    expect(third.every((r) => r.name === 'third' && r.note === null)).toBe(true);
    await sink.close();
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(3));
  });

  it('loads a batch of new rows as it comes, and one that repeats a key keeps the last row of it', async () => {
    const schema = await target.freshSchema();
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items, others]));
    await sink.open();
    const read = (t: TableSchema, id: number, name: string) => ({
      ...insert(t, { id, name, note: null }),
      op: 'r' as const,
    });
    const reads = (t: TableSchema, name: string) =>
      Array.from({ length: BULK_MIN_ROWS }, (_, i) => read(t, i + 1, name));
    // Two tables, as a batch joining two chunks: each table's rows in one load.
    await sink.write({ events: [...reads(items, 'a'), ...reads(others, 'a')], checkpoint: checkpoint(1) });
    expect((await rows(schema, 'items')).map((r) => r.name)).toEqual(Array(BULK_MIN_ROWS).fill('a'));
    expect(await rows(schema, 'others')).toHaveLength(BULK_MIN_ROWS);
    // Key 3 twice in one batch of reads and inserts (as a chunk read again after a crash, followed by
    // its insert): the load fails as a duplicate, the rows go through the stage once per key.
    const events = [...reads(items, 'b'), insert(items, { id: 3, name: 'c', note: null })];
    await sink.write({ events, checkpoint: checkpoint(2) });
    const after = await rows(schema, 'items');
    expect(after).toHaveLength(BULK_MIN_ROWS);
    expect(after.filter((r) => r.name !== 'b').map((r) => [Number(r.id), r.name])).toEqual([[3, 'c']]);
    await sink.close();
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(2));
  });

  it('loads the new rows of a snapshot batch with changes mixed in, and applies the changed keys in order', async () => {
    const schema = await target.freshSchema();
    const config = sinkConfig(kind, target.url, schema);
    const log: CapturedLog = { warnings: [], debugs: [] };
    const sink = createSqlSink(config, context([items], log));
    await sink.open();
    const read = (id: number, name: string) => ({ ...insert(items, { id, name, note: null }), op: 'r' as const });
    const reads = (from: number, n: number, name: string) => Array.from({ length: n }, (_, i) => read(from + i, name));
    const n = BULK_MIN_ROWS;
    await sink.write({ events: reads(1, n, 'a'), checkpoint: checkpoint(1) });
    expect(log.debugs).toEqual([]);
    // A chunk read while the source is written to: its rows, and changes of keys in and out of it.
    const events = [
      ...reads(n + 1, 2 * n, 'b'),
      update(items, { id: 3 }, { id: 3, name: 'u', note: null }),
      remove(items, { id: 4 }),
      insert(items, { id: 4, name: 'again', note: null }),
      update(items, { id: n + 2 }, { id: n + 2, name: 'u2', note: null }),
      remove(items, { id: n + 3 }),
      // A key the target has: the bulk load meets it and the new rows are upserted instead.
      read(5, 'b'),
    ];
    await sink.write({ events, checkpoint: checkpoint(2) });
    const after = await rows(schema, 'items');
    const expected = Array.from({ length: 3 * n }, (_, i) => {
      const id = i + 1;
      const name = { 3: 'u', 4: 'again', 5: 'b', [n + 2]: 'u2' }[id] ?? (id <= n ? 'a' : 'b');
      return [id, name];
    }).filter(([id]) => id !== n + 3);
    expect(after.map((r) => [Number(r.id), r.name])).toEqual(expected);
    // The new rows went to the bulk load (which met key 5), not into the statements of the changes.
    expect(log.debugs).toEqual(['bulk load found rows already in the target; upserting them instead']);
    await sink.close();
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(2));
  });

  it('leaves unknown (unchanged TOAST) columns as stored', async () => {
    const schema = await target.freshSchema();
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), context([items]));
    await sink.open();
    await sink.write({ events: [insert(items, { id: 1, name: 'a', note: 'big value' })], checkpoint: checkpoint(1) });
    await sink.write({ events: [update(items, { id: 1 }, { id: 1, name: 'b' }, ['note'])], checkpoint: checkpoint(2) });
    expect(await rows(schema, 'items')).toEqual([{ id: 1, name: 'b', note: 'big value' }]);
    await sink.close();
  });

  it('adds columns and tables on schema changes and keeps a dropped table', async () => {
    const schema = await target.freshSchema();
    const log: CapturedLog = { warnings: [] };
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), context([items], log));
    await sink.open();
    await sink.write({ events: [insert(items, { id: 1, name: 'a', note: null })], checkpoint: checkpoint(1) });
    const wider: TableSchema = {
      ...items,
      columns: [...items.columns, { name: 'qty', type: { kind: 'int64' }, nativeType: 'int8', nullable: true }],
    };
    const other = table(
      'other',
      [
        ['k', { kind: 'string' }],
        ['v', { kind: 'json' }],
      ],
      ['k'],
    );
    await sink.write({
      events: [
        schemaChange(items, wider),
        insert(wider, { id: 2, name: 'b', note: null, qty: 9007199254740993n }),
        schemaChange(other, other),
        insert(other, { k: 'x', v: { a: [1, 2] } }),
        schemaChange(other, null),
      ],
      checkpoint: checkpoint(2),
    });
    const got = await rows(schema, 'items');
    expect(got.map((r) => [Number(r.id), r.qty === null ? null : String(r.qty)])).toEqual([
      [1, null],
      [2, '9007199254740993'],
    ]);
    expect(await target.db.tables(schema)).toContain('other');
    expect(log.warnings.some((w) => /src\.other .*lenient keeps a dropped table/.test(w))).toBe(true);
    await sink.close();
  });

  it('a failing batch leaves neither rows nor checkpoint, and the error names the table', async () => {
    const schema = await target.freshSchema();
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    const bad = {
      events: [
        insert(items, { id: 1, name: 'ok', note: null }),
        insert(items, { id: 'not a number', name: 'x', note: null }),
      ],
      checkpoint: checkpoint(1),
    };
    const error = await sink.write(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as SinkError).table).toContain('items');
    expect((error as SinkError).retriable).toBe(false);
    expect(await readSqlSinkCheckpoint(config, 'test-pipeline')).toBeNull();
    // Postgres rolls the DDL back with the rows; MySQL keeps the (idempotent) CREATE TABLEs, empty.
    const tables = await target.db.tables(schema);
    if (kind === 'postgres') expect(tables).toEqual([]);
    if (tables.includes('items')) expect(await rows(schema, 'items')).toEqual([]);
    // The sink goes on: a good batch commits, then a failing one leaves it in place.
    await sink.write({ events: [insert(items, { id: 1, name: 'ok', note: null })], checkpoint: checkpoint(2) });
    await expect(sink.write({ ...bad, checkpoint: checkpoint(3) })).rejects.toBeInstanceOf(SinkError);
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(2));
    expect(await rows(schema, 'items')).toEqual([{ id: 1, name: 'ok', note: null }]);
    await sink.close();
  });

  it('stores the checkpoint of heartbeat-only and empty batches', async () => {
    const schema = await target.freshSchema();
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    await sink.write({ events: [{ kind: 'heartbeat', offset: 5, at: Date.now() }], checkpoint: checkpoint(5) });
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(5));
    await sink.write({ events: [], checkpoint: checkpoint(6) });
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(6));
    await sink.close();
  });

  const what = kind === 'postgres' ? 'schema' : 'database';
  async function schemaExists(schema: string): Promise<boolean> {
    const found =
      kind === 'postgres'
        ? await target.db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
        : await target.db.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
    return found.length > 0;
  }

  it(`creates a missing target ${what} in the first write, not in open()`, async () => {
    const schema = `missing${++n}`;
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items]));
    expect(await sink.open()).toBeNull();
    expect(await schemaExists(schema)).toBe(false);
    await sink.write({ events: [insert(items, { id: 1, name: 'a', note: null })], checkpoint: checkpoint(1) });
    await sink.write({ events: [insert(items, { id: 2, name: 'b', note: null })], checkpoint: checkpoint(2) });
    await sink.close();
    expect(await target.db.tables(schema)).toEqual(['highwater_checkpoints', 'items']);
    expect((await rows(schema, 'items')).map((r) => Number(r.id))).toEqual([1, 2]);
    expect((await readSqlSinkCheckpoint(config, 'test-pipeline'))?.checkpoint).toEqual(checkpoint(2));
  });

  it(`a failing first batch leaves no rows nor checkpoint in a ${what} it created`, async () => {
    const schema = `missing${++n}`;
    const config = sinkConfig(kind, target.url, schema);
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    const error = await sink
      .write({ events: [insert(items, { id: 'not a number', name: 'x', note: null })], checkpoint: checkpoint(1) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    await sink.close();
    expect(await readSqlSinkCheckpoint(config, 'test-pipeline')).toBeNull();
    // Postgres rolls CREATE SCHEMA back with the batch; MySQL's CREATE DATABASE commits implicitly
    // (like its CREATE TABLEs), and the database stays, empty.
    if (kind === 'postgres') expect(await schemaExists(schema)).toBe(false);
    else if (await schemaExists(schema)) expect(await rows(schema, 'items')).toEqual([]);
  });

  it(`refuses a missing target ${what} when createTables is false, creating nothing`, async () => {
    const schema = `missing${++n}`;
    const config = { ...sinkConfig(kind, target.url, schema), createTables: false };
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    const error = await sink
      .write({ events: [insert(items, { id: 1, name: 'a', note: null })], checkpoint: checkpoint(1) })
      .catch((e: unknown) => e);
    await sink.close();
    expect(error).toBeInstanceOf(SinkError);
    expect(String(error)).toContain(`target ${what} ${schema} does not exist and sink.createTables is false`);
    expect(await schemaExists(schema)).toBe(false);
  });

  it.skipIf(kind !== 'postgres')(
    'a user with privileges on an existing schema only (no CREATE on the database) writes into it',
    async () => {
      // CREATE SCHEMA IF NOT EXISTS checks the database privilege even when the schema exists: the
      // sink must not run it for a schema that is there.
      const schema = await target.freshSchema();
      await target.db.query(`CREATE ROLE loader${n} LOGIN; REVOKE CREATE ON DATABASE postgres FROM PUBLIC;
        GRANT USAGE, CREATE ON SCHEMA ${schema} TO loader${n}`);
      const url = new URL(target.url);
      url.username = `loader${n}`;
      const config = sinkConfig(kind, url.toString(), schema);
      const sink = createSqlSink(config, context([items]));
      await sink.open();
      await sink.write({ events: [insert(items, { id: 1, name: 'a', note: null })], checkpoint: checkpoint(1) });
      await sink.close();
      expect(await rows(schema, 'items')).toEqual([{ id: 1, name: 'a', note: null }]);
    },
  );

  it('refuses a missing table when createTables is false, without writing', async () => {
    const schema = await target.freshSchema();
    const config = { ...sinkConfig(kind, target.url, schema), createTables: false };
    const sink = createSqlSink(config, context([items]));
    await sink.open();
    await expect(
      sink.write({ events: [insert(items, { id: 1, name: 'a', note: null })], checkpoint: checkpoint(1) }),
    ).rejects.toThrow(/does not exist and sink.createTables is false/);
    await sink.close();
    expect(await readSqlSinkCheckpoint(config, 'test-pipeline')).toBeNull();
  });
});
