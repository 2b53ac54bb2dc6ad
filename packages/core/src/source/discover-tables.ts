import { ConfigError, MissingKeyError, TableNotFoundError } from '../errors/errors.js';
import type { TableFilter } from '../schema/table-filter.js';
import { compileTableFilter, isLiteralPattern } from '../schema/table-filter.js';
import type { TableSchema } from '../schema/table-schema.js';
import { tableName } from '../schema/table-schema.js';
import type { Introspector } from '../spi/source-adapter.js';

/**
 * The tables a filter selects, with their chunk keys settled. A name given literally that does
 * not exist, or patterns that select nothing, are errors: a typo must not become an empty capture.
 */
export async function discoverTables<O>(
  introspector: Introspector<O>,
  filter: TableFilter,
  chunkKeys: { readonly [table: string]: readonly string[] } = {},
): Promise<TableSchema[]> {
  const ids = await introspector.listTables();
  const names = ids.map(tableName);
  const matches = compileTableFilter(filter);
  for (const pattern of filter.include) {
    if (isLiteralPattern(pattern) && !names.includes(pattern)) {
      throw new TableNotFoundError(
        pattern,
        `table ${pattern} (tables.include) does not exist or is not visible to this user${nearby(names, pattern)}`,
      );
    }
  }
  const selected = ids.filter((id) => matches(tableName(id)));
  if (selected.length === 0) {
    throw new TableNotFoundError(
      filter.include.join(', '),
      `tables.include [${filter.include.join(', ')}] matches no table${nearby(names, filter.include[0] ?? '')}`,
    );
  }
  const schemas = await introspector.describeTables(selected);
  return schemas.map((schema) => withChunkKey(schema, chunkKeys[tableName(schema.id)]));
}

/** Applies a configured chunk key, checking its columns exist. */
export function withChunkKey(schema: TableSchema, configured: readonly string[] | undefined): TableSchema {
  if (configured === undefined) return schema;
  const name = tableName(schema.id);
  for (const column of configured) {
    if (!schema.columns.some((c) => c.name === column)) {
      throw new ConfigError(
        `chunkKeys['${name}']: column ${column} does not exist (columns: ${schema.columns.map((c) => c.name).join(', ')})`,
      );
    }
  }
  return { ...schema, chunkKey: configured };
}

/** Refuses to snapshot a table with no key: its chunks could not be told apart or merged. */
export function requireChunkKey(schema: TableSchema): void {
  if (schema.chunkKey.length > 0) return;
  const name = tableName(schema.id);
  throw new MissingKeyError(
    name,
    `table ${name} has no primary key, so it cannot be snapshotted without locking: add a primary key, or set chunkKeys: { '${name}': ['<unique column>'] }, or exclude it with tables.exclude`,
  );
}

function nearby(names: readonly string[], wanted: string): string {
  const tail = wanted.split('.').pop() ?? wanted;
  const similar = names.filter((n) => n.split('.').pop() === tail || n.includes(tail.replace(/[*?]/g, '')));
  const shown = (similar.length > 0 ? similar : names).slice(0, 8);
  return shown.length === 0 ? ' (no tables are visible at all)' : `; visible tables include: ${shown.join(', ')}`;
}
