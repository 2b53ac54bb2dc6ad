import {
  compileTableFilter,
  type Introspector,
  type TableFilter,
  type TableSchema,
  tableName,
  withChunkKey,
} from '@highwater/core';

/** The part of a pipeline's `source` that says which tables it captures and how they are keyed. */
export interface CapturedTablesConfig {
  readonly tables: TableFilter;
  readonly chunkKeys?: { readonly [table: string]: readonly string[] };
}

/**
 * The definitions of the tables a pipeline captures (narrowed to `only` when given), with their
 * configured chunk keys: what the source snapshots, what a SQL sink creates, what verify compares.
 */
export async function describeCapturedTables(
  introspector: Pick<Introspector<unknown>, 'listTables' | 'describeTables'>,
  source: CapturedTablesConfig,
  only?: readonly string[],
): Promise<readonly TableSchema[]> {
  const captured = compileTableFilter(source.tables);
  const wanted = only === undefined || only.length === 0 ? () => true : compileTableFilter({ include: only });
  const ids = (await introspector.listTables()).filter((id) => captured(tableName(id)) && wanted(tableName(id)));
  if (ids.length === 0) return [];
  const schemas = await introspector.describeTables(ids);
  // A table with neither a primary key nor a chunk key is not captured (the source skips it with a
  // warning, or refuses to start, per keylessTables): nothing to create or compare.
  return schemas.map((s) => withChunkKey(s, source.chunkKeys?.[tableName(s.id)])).filter((s) => s.chunkKey.length > 0);
}
