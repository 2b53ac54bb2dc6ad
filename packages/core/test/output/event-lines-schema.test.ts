import { describe, expect, it } from 'vitest';
import { diffTableSchemas, EventLineEncoder, type SchemaChangeEvent, type TableSchema } from '../../src/index.js';

const before: TableSchema = {
  id: { schema: 'shop', name: 'orders' },
  columns: [
    { name: 'id', type: { kind: 'int32' }, nativeType: 'int', nullable: false },
    { name: 'qty', type: { kind: 'int32' }, nativeType: 'int', nullable: true },
  ],
  primaryKey: ['id'],
  chunkKey: ['id'],
};
const after: TableSchema = {
  ...before,
  columns: [
    { name: 'id', type: { kind: 'int32' }, nativeType: 'int', nullable: false },
    { name: 'qty', type: { kind: 'int64' }, nativeType: 'bigint', nullable: true, default: '0' },
  ],
};
const event: SchemaChangeEvent = {
  kind: 'schema',
  table: 'shop.orders',
  schema: after,
  before,
  changes: diffTableSchemas(before, after),
  ddl: 'ALTER TABLE orders MODIFY qty BIGINT DEFAULT 0',
  source: {
    connector: 'mysql',
    table: 'shop.orders',
    tableId: before.id,
    opTs: 1000,
    offset: { file: 'bin.000001', pos: 4 },
    txId: null,
    snapshot: false,
  },
};

describe('EventLineEncoder schema changes', () => {
  it('native lines carry the old and the new definition and what changed', () => {
    const line = JSON.parse(new EventLineEncoder('native').encode([event]));
    expect(line.before.columns[1].nativeType).toBe('int');
    expect(line.schema.columns[1].nativeType).toBe('bigint');
    expect(line.changes).toEqual([
      expect.objectContaining({ kind: 'change-type', change: 'widening' }),
      expect.objectContaining({ kind: 'change-default', to: '0' }),
    ]);
  });

  it("Debezium lines take Debezium's schema-change shape with the previous definition beside it", () => {
    const record = JSON.parse(new EventLineEncoder('debezium', 'shop-server').encode([event]));
    expect(record.topic).toBe('shop-server');
    expect(record.key).toEqual({ databaseName: 'shop' });
    expect(record.value).toMatchObject({
      databaseName: 'shop',
      schemaName: null,
      ddl: 'ALTER TABLE orders MODIFY qty BIGINT DEFAULT 0',
      source: { connector: 'mysql', db: 'shop', table: 'orders' },
    });
    const [change] = record.value.tableChanges;
    expect(change.type).toBe('ALTER');
    expect(change.id).toBe('"shop"."orders"');
    expect(change.table.primaryKeyColumnNames).toEqual(['id']);
    expect(change.table.columns[1]).toMatchObject({
      name: 'qty',
      jdbcType: -5,
      typeName: 'BIGINT',
      typeExpression: 'bigint',
      position: 2,
      optional: true,
      hasDefaultValue: true,
      defaultValueExpression: '0',
    });
    expect(change.previousTable.columns[1]).toMatchObject({ name: 'qty', jdbcType: 4, typeExpression: 'int' });
  });

  it('a new table is CREATE without a previous definition; a dropped one DROP with its last', () => {
    const encoder = new EventLineEncoder('debezium');
    const created = JSON.parse(encoder.encode([{ ...event, before: null, changes: [{ kind: 'create-table' }] }]));
    expect(created.value.tableChanges[0]).toMatchObject({ type: 'CREATE', previousTable: null });
    const dropped = JSON.parse(encoder.encode([{ ...event, schema: null, changes: [{ kind: 'drop-table' }] }]));
    expect(dropped.value.tableChanges[0].type).toBe('DROP');
    expect(dropped.value.tableChanges[0].table.columns).toHaveLength(2);
  });
});
