import { type ColumnSchema, SinkError, type TableSchema } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import {
  checkpoint,
  context,
  createSqlSink,
  insert,
  q,
  schemaChange,
  sinkConfig,
  type TargetKind,
  throwawayTarget,
  update,
} from './helpers.js';

const column = (name: string, type: ColumnSchema['type'], nullable: boolean): ColumnSchema => ({
  name,
  type,
  nativeType: type.kind,
  nullable,
});

/** A source table as strict as the target must be: lengths, NOT NULL, a varbit, a primary key and indexes. */
const strict: TableSchema = {
  id: { schema: 'src', name: 'strict' },
  columns: [
    column('id', { kind: 'int32' }, false),
    column('code', { kind: 'string', length: 120 }, false),
    column('note', { kind: 'string' }, true),
    column('flags', { kind: 'bits', length: 20, varying: true }, true),
    column('body', { kind: 'string' }, false),
    column('hash', { kind: 'bytes', length: 16 }, true),
  ],
  primaryKey: ['id'],
  chunkKey: ['id'],
  indexes: [
    { name: 'strict_code_idx', columns: ['code', 'id'], unique: false },
    { name: 'strict_flags_key', columns: ['flags'], unique: true },
    { name: 'strict_body_idx', columns: ['body'], unique: false },
  ],
};
const empty: TableSchema = { ...strict, id: { schema: 'src', name: 'empty' }, indexes: [] };

describe.each<TargetKind>(['postgres', 'mysql'])('target tables in the %s sink', (kind) => {
  const target = throwawayTarget(kind, 'tt');

  /** Column → [type, nullable] as the target's catalog says. */
  async function catalog(schema: string, table: string): Promise<Record<string, [string, boolean]>> {
    const rows =
      kind === 'postgres'
        ? await target.db.query(
            `SELECT a.attname AS c, format_type(a.atttypid, a.atttypmod) AS t, NOT a.attnotnull AS n FROM pg_attribute a
              WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
            [`"${schema}"."${table}"`],
          )
        : await target.db.query(
            `SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, IS_NULLABLE = 'YES' AS n FROM information_schema.COLUMNS
              WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
            [schema, table],
          );
    return Object.fromEntries(rows.map((r) => [String(r.c), [String(r.t), Boolean(Number(r.n) || r.n === true)]]));
  }

  async function indexes(schema: string, table: string): Promise<string[]> {
    const rows =
      kind === 'postgres'
        ? await target.db.query(
            'SELECT indexname AS i, indexdef AS d FROM pg_indexes WHERE schemaname = $1 AND tablename = $2',
            [schema, table],
          )
        : await target.db.query(
            `SELECT INDEX_NAME AS i, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS d FROM information_schema.STATISTICS
              WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? GROUP BY INDEX_NAME`,
            [schema, table],
          );
    return rows.map((r) => `${String(r.i)}: ${String(r.d)}`).sort();
  }

  it('keeps lengths, NOT NULL, the primary key and the indexes it can', async () => {
    const schema = await target.freshSchema();
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), context([strict]));
    await sink.open();
    await sink.write({
      events: [insert(strict, { id: 1, code: 'a', note: null, flags: '101', body: 'x' })],
      checkpoint: checkpoint(1),
    });
    await sink.close();
    const columns = await catalog(schema, 'strict');
    if (kind === 'postgres') {
      expect(columns).toEqual({
        id: ['integer', false],
        code: ['character varying(120)', false],
        note: ['text', true],
        flags: ['bit varying(20)', true],
        body: ['text', false],
        // bytea has no length.
        hash: ['bytea', true],
      });
      const defs = (await indexes(schema, 'strict')).map((d) => d.replace(/ ON \S+ USING btree/, ''));
      expect(defs).toEqual([
        'strict_body_idx: CREATE INDEX strict_body_idx (body)',
        'strict_code_idx: CREATE INDEX strict_code_idx (code, id)',
        'strict_flags_key: CREATE UNIQUE INDEX strict_flags_key (flags)',
        'strict_pkey: CREATE UNIQUE INDEX strict_pkey (id)',
      ]);
      // The unique one is a constraint checked at commit.
      const [deferred] = await target.db.query(
        'SELECT condeferred AS d FROM pg_constraint WHERE conname = $1 AND connamespace = $2::regnamespace',
        ['strict_flags_key', schema],
      );
      expect(deferred?.d).toBe(true);
    } else {
      expect(columns).toEqual({
        id: ['int(11)', false],
        code: ['varchar(120)', false],
        note: ['longtext', true],
        flags: ['varchar(20)', true],
        body: ['longtext', false],
        hash: ['varbinary(16)', true],
      });
      // body is LONGTEXT, which MySQL indexes only by a prefix: that index is left out (with a warning).
      expect(await indexes(schema, 'strict')).toEqual([
        'PRIMARY: id',
        'strict_code_idx: code,id',
        'strict_flags_key: flags',
      ]);
    }
  });

  it('creates a table for every captured table in the first write, empty ones too', async () => {
    const schema = await target.freshSchema();
    const ctx = { ...context([strict, empty]), capturedTables: async () => [strict, empty] };
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), ctx);
    await sink.open();
    // A batch with no change at all (the empty table's finished snapshot) still creates both.
    await sink.write({ events: [], checkpoint: checkpoint(1) });
    await sink.close();
    expect(await target.db.tables(schema)).toEqual(['empty', 'highwater_checkpoints', 'strict']);
  });

  it('keeps a NOT NULL value a change leaves out, and lets a dropped column go empty', async () => {
    const schema = await target.freshSchema();
    const sink = createSqlSink(sinkConfig(kind, target.url, schema), context([strict]));
    await sink.open();
    const row = { id: 1, code: 'a', note: null, flags: null, body: 'long unchanged value' };
    await sink.write({ events: [insert(strict, row)], checkpoint: checkpoint(1) });
    const { body: _left, ...partial } = { ...row, code: 'b' };
    await sink.write({ events: [update(strict, row, partial, ['body'])], checkpoint: checkpoint(2) });
    const rows = () => target.db.query(`SELECT id, code, body FROM ${q(kind, schema, 'strict')} ORDER BY id`);
    expect(await rows()).toEqual([{ id: 1, code: 'b', body: 'long unchanged value' }]);

    // A row the target lost cannot take the left-out value: the batch fails, naming the key.
    const lost = { ...partial, id: 7 };
    const error = await sink
      .write({ events: [update(strict, lost, lost, ['body'])], checkpoint: checkpoint(3) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as Error).message).toMatch(/key \{"id":7\}: the change leaves out column body/);

    // The source drops body: new rows have none, so the target's NOT NULL goes.
    const dropped: TableSchema = { ...strict, columns: strict.columns.filter((c) => c.name !== 'body') };
    await sink.write({
      events: [schemaChange(strict, dropped), insert(dropped, { id: 2, code: 'c', note: null, flags: null })],
      checkpoint: checkpoint(4),
    });
    await sink.close();
    expect(await rows()).toEqual([
      { id: 1, code: 'b', body: 'long unchanged value' },
      { id: 2, code: 'c', body: null },
    ]);
    expect((await catalog(schema, 'strict')).body?.[1]).toBe(true);
  });
});
