import { ConfigError } from '../errors/errors.js';

/**
 * Which tables a source captures. Patterns match the qualified table name (`schema.table`, or
 * `db.schema.table` where the database has three levels): `*` matches any run of characters
 * except `.`, `?` one such character, and a pattern written `/…/` is a regular expression.
 *
 * @example { include: ['public.*'], exclude: ['public.audit_*'] }
 */
export interface TableFilter {
  readonly include: readonly string[];
  readonly exclude?: readonly string[];
}

/** Compiles a filter into a predicate over qualified table names. */
export function compileTableFilter(filter: TableFilter): (qualifiedName: string) => boolean {
  if (filter.include.length === 0) {
    throw new ConfigError('tables.include is empty: name at least one table or pattern, e.g. "public.*"');
  }
  const include = filter.include.map((p) => compilePattern(p, 'tables.include'));
  const exclude = (filter.exclude ?? []).map((p) => compilePattern(p, 'tables.exclude'));
  return (name) => include.some((re) => re.test(name)) && !exclude.some((re) => re.test(name));
}

/** True when a pattern names exactly one table (no wildcard), so a miss is an error, not an empty match. */
export function isLiteralPattern(pattern: string): boolean {
  return !/[*?]/.test(pattern) && !(pattern.startsWith('/') && pattern.endsWith('/'));
}

function compilePattern(pattern: string, field: string): RegExp {
  if (pattern.length > 1 && pattern.startsWith('/') && pattern.endsWith('/')) {
    try {
      return new RegExp(`^(?:${pattern.slice(1, -1)})$`);
    } catch (cause) {
      throw new ConfigError(`${field}: ${pattern} is not a valid regular expression`, { cause });
    }
  }
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '[^.]*' : ch === '?' ? '[^.]' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}
