import type { Checkpoint, EventBatch, Row, TableSchema } from '@highwater/core';

/** A checkpoint at `position` of a test source. */
export const checkpoint = (position: number): Checkpoint => ({
  version: 1,
  connector: 'test',
  position,
  complete: false,
  tables: {},
});

/** A change of `table` (keyed by its primary key): a snapshot read, insert, update (key before-image) or delete. */
export function change(table: TableSchema, op: 'r' | 'c' | 'u' | 'd', row: Row): EventBatch['events'][number] {
  const key = Object.fromEntries(table.primaryKey.map((k) => [k, row[k] ?? null]));
  const before = op === 'r' || op === 'c' ? null : key;
  return {
    kind: 'change',
    op,
    key,
    before,
    after: op === 'd' ? null : row,
    beforeImage: before === null ? 'none' : 'key',
    unknownColumns: [],
    source: {
      connector: 'test',
      table: `${table.id.schema}.${table.id.name}`,
      tableId: table.id,
      opTs: 0,
      offset: null,
      txId: null,
      snapshot: op === 'r',
    },
  };
}
