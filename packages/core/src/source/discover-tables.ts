import { ConfigError, MissingKeyError, TableNotFoundError } from '../errors/errors.js';
import type { TableFilter } from '../schema/table-filter.js';
import { compileTableFilter, isLiteralPattern } from '../schema/table-filter.js';
import type { TableSchema } from '../schema/table-schema.js';
import { tableName } from '../schema/table-schema.js';
import type { Introspector } from '../spi/source-adapter.js';

/**
 * The tables a filter selects, with their chunk keys settled. A name given literally that does
 * not exist, or patterns that select nothing, are errors: a typo must not become an empty capture.
 * Names in `known` (tables a resumed pipeline captured before) are exempt: such a table was dropped
 * or renamed while the pipeline was down, which its log reader reports.
 */
export async function discoverTables<O>(
  introspector: Introspector<O>,
  filter: TableFilter,
  chunkKeys: { readonly [table: string]: readonly string[] } = {},
  keyless: KeylessPolicy = { mode: 'fail' },
  known: ReadonlySet<string> = new Set(),
): Promise<TableSchema[]> {
  const ids = await introspector.listTables();
  const names = ids.map(tableName);
  const matches = compileTableFilter(filter);
  for (const pattern of filter.include) {
    if (isLiteralPattern(pattern) && !names.includes(pattern) && !known.has(pattern)) {
      throw new TableNotFoundError(
        pattern,
        `table ${pattern} (tables.include) does not exist or is not visible to this user${nearby(names, pattern)}`,
      );
    }
  }
  const selected = ids.filter((id) => matches(tableName(id)));
  if (selected.length === 0 && [...known].some(matches)) return [];
  if (selected.length === 0) {
    throw new TableNotFoundError(
      filter.include.join(', '),
      `tables.include [${filter.include.join(', ')}] matches no table${nearby(names, filter.include[0] ?? '')}`,
    );
  }
  const schemas = (await introspector.describeTables(selected)).map((schema) =>
    withChunkKey(schema, chunkKeys[tableName(schema.id)]),
  );
  if (keyless.mode === 'fail') return schemas;
  const literal = new Set(filter.include.filter(isLiteralPattern));
  const kept = schemas.filter((s) => s.chunkKey.length > 0 || literal.has(tableName(s.id)));
  for (const s of schemas) {
    if (kept.includes(s)) continue;
    const name = tableName(s.id);
    keyless.onSkipped?.(
      name,
      `table ${name} matches tables.include but has no primary key and no chunkKeys entry, so its rows cannot ` +
        `be told apart: it is not captured. Add a primary key, or set chunkKeys: { '${name}': ['<unique column>'] }, ` +
        'or exclude it with tables.exclude (keylessTables: fail refuses to start instead)',
    );
  }
  if (kept.length === 0) requireChunkKey(schemas[0] as TableSchema);
  return kept;
}

/** What to do with a table that has no key: see `SourceOptions.keylessTables`. */
export interface KeylessPolicy {
  readonly mode: 'skip' | 'fail';
  readonly onSkipped?: (table: string, reason: string) => void;
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
  // A chunk key that does not identify a row makes chunks overlap and lets one row's change stand
  // for another's: refuse it now rather than fail mid-snapshot, where the database can say.
  const unique = schema.uniqueKeys;
  if (unique !== undefined && !unique.some((key) => key.every((column) => configured.includes(column)))) {
    const known =
      unique.length === 0
        ? 'the table has no primary key and no unique index on NOT NULL columns'
        : `unique on this table: ${unique.map((k) => `(${k.join(', ')})`).join(', ')}`;
    throw new ConfigError(
      `chunkKeys['${name}']: (${configured.join(', ')}) is not known to be unique (${known}): a chunk key must ` +
        'identify one row; add a unique index on NOT NULL columns (`CREATE UNIQUE INDEX … ON … (…)`) and use its columns',
    );
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
