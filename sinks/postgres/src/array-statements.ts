import type { ArrayColumn, ArrayStatements } from '@highwater/sink-sql';

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/**
 * The parameter of a column that is not an array itself: `$n::type[]`, its text parsed by the
 * element type's input function as a bound text value would be. An array column travels as `text[]`
 * and each element is cast afterwards (`unnest` of an `integer[][]` would flatten it).
 */
function paramType(type: ArrayColumn): string {
  return type.isArray ? 'text[]' : `${type.type}[]`;
}

/** The value of column `name` of the unnested row `u`, cast where it travelled as text. */
function element(name: string, type: ArrayColumn): string {
  return type.isArray ? `u.${quote(name)}::${type.type}` : `u.${quote(name)}`;
}

function unnest(columns: readonly string[], types: readonly ArrayColumn[]): string {
  const params = types.map((t, i) => `$${i + 1}::${paramType(t)}`).join(', ');
  return `unnest(${params}) AS u(${columns.map(quote).join(', ')})`;
}

const NEEDS_QUOTES = /["\\]/;

/**
 * A Postgres array literal of text values (null → NULL): each element quoted, `"` and `\`
 * escaped, so any text (commas, braces, spaces, `NULL` as a word) stays one element as it is.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) {
      out += 'NULL';
      continue;
    }
    const text = String(value);
    out += NEEDS_QUOTES.test(text) ? `"${text.replace(/[\\"]/g, '\\$&')}"` : `"${text}"`;
  }
  return `${out}}`;
}

/** Postgres statements over array parameters: `INSERT … SELECT … FROM unnest(…) ON CONFLICT`, `DELETE … = ANY`. */
export const postgresArrayStatements: ArrayStatements = {
  async columnTypes(session, qualified) {
    const rows = await session.query<{ name: string; type: string; is_array: string }>(
      `SELECT a.attname AS name, format_type(a.atttypid, -1) AS type, t.typcategory = 'A' AS is_array
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [qualified],
    );
    return new Map(rows.map((r) => [r.name, { type: r.type, isArray: r.is_array === 't' || r.is_array === 'true' }]));
  },
  upsert(qualified, columns, types, key) {
    const list = columns.map(quote).join(', ');
    const values = columns.map((c, i) => element(c, types[i] as ArrayColumn)).join(', ');
    const keys = new Set(key);
    const update = columns.filter((c) => !keys.has(c));
    const conflict = `ON CONFLICT (${key.map(quote).join(', ')})`;
    const action =
      update.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${update.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')}`;
    return `INSERT INTO ${qualified} (${list}) SELECT ${values} FROM ${unnest(columns, types)} ${conflict} ${action}`;
  },
  delete(qualified, key, types) {
    if (key.length === 1 && !(types[0] as ArrayColumn).isArray) {
      return `DELETE FROM ${qualified} WHERE ${quote(key[0] as string)} = ANY($1::${paramType(types[0] as ArrayColumn)})`;
    }
    const list = key.map(quote).join(', ');
    const values = key.map((c, i) => element(c, types[i] as ArrayColumn)).join(', ');
    return `DELETE FROM ${qualified} WHERE (${list}) IN (SELECT ${values} FROM ${unnest(key, types)})`;
  },
  array: arrayLiteral,
};
