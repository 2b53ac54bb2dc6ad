import type { ChangeEvent, SchemaChangeEvent, SourceInfo } from '../../src/events/source-event.js';
import type { Row } from '../../src/values/value.js';

export const streamSource: SourceInfo = {
  connector: 'postgres',
  table: 'shop.public.users',
  tableId: { database: 'shop', schema: 'public', name: 'users' },
  opTs: 1_717_243_200_123,
  offset: { commitLsn: '0/16B3748', lsn: '0/16B3790', seq: 2 },
  txId: '5741',
  snapshot: false,
};

export const snapshotSource: SourceInfo = {
  ...streamSource,
  opTs: 1_717_243_100_000,
  offset: { commitLsn: '0/16B0000', lsn: '0/16B0000', seq: 0 },
  txId: null,
  snapshot: true,
};

/** A change event on `shop.public.users` keyed by `id`. */
export function change(
  op: ChangeEvent['op'],
  rows: { before?: Row | null; after?: Row | null; key?: Row },
  extra: Partial<ChangeEvent> = {},
): ChangeEvent {
  const before = rows.before ?? null;
  const after = rows.after ?? null;
  const keySource = after ?? before ?? {};
  return {
    kind: 'change',
    op,
    key: rows.key ?? { id: keySource.id ?? null },
    before,
    after,
    beforeImage: before === null ? 'none' : 'full',
    unknownColumns: [],
    source: op === 'r' ? snapshotSource : streamSource,
    ...extra,
  };
}

/** `DROP TABLE users`: the schema change that ends `shop.public.users`. */
export function usersDropped(source: SourceInfo = streamSource): SchemaChangeEvent {
  return {
    kind: 'schema',
    table: 'shop.public.users',
    schema: null,
    before: null,
    changes: [],
    ddl: 'DROP TABLE users',
    source,
  };
}
