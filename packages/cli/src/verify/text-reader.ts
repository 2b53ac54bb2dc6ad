import type { ChunkRange, ColumnSchema, Key, LogicalType } from '@highwater/core';
import type { Dialect, SqlSession } from '@highwater/sink-sql';
import { canonicalServerText, comparesPresenceOnly, serverTextExpression } from './server-text.js';

/** One side of a comparison: a session on its database, read-only. */
export interface TextSide {
  readonly dialect: Dialect;
  readonly session: SqlSession;
}

/** A table on one side: where it is and each compared column's type there. */
export interface SideTable {
  /** Schema-qualified, quoted. */
  readonly qualified: string;
  /** The source's columns, in the source's order, with this side's native type. */
  readonly columns: readonly ColumnSchema[];
  /** The chunk-key columns (a subset of `columns`). */
  readonly key: readonly string[];
}

/** A row as canonical texts: its key, the key for reports, and the whole row. */
export interface TextRow {
  readonly key: string;
  readonly display: string;
  readonly row: string;
}

/** Between the column texts of a row (and the key columns of its key). */
export const ROW_SEPARATOR = '\u0001';

/**
 * The rows of `range` (half-open, over the chunk key, bounds in the source adapter's values) read as
 * each column's text as the server prints it, brought to canonical form (see server-text.ts).
 * Text keys are ranged with `COLLATE "C"` on Postgres, the order the source adapter splits in.
 */
export async function readTextChunk(
  side: TextSide,
  table: SideTable,
  range: ChunkRange,
  cross: boolean,
): Promise<TextRow[]> {
  const { dialect } = side;
  const columns = table.columns;
  const select = columns
    .map((c, i) => `${serverTextExpression(dialect.name, dialect.quote(c.name), c.type, c.nativeType)} AS c${i}`)
    .join(', ');
  const params: unknown[] = [];
  const where: string[] = [];
  const keyColumns = table.key.map((k) => columns.find((c) => c.name === k) as ColumnSchema);
  for (const [bound, op] of [
    [range.start, '>='],
    [range.end, '<'],
  ] as const) {
    if (bound !== null) where.push(keyPredicate(dialect, keyColumns, bound, op, params));
  }
  const sql = `SELECT ${select} FROM ${table.qualified}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}`;
  const rows = await side.session.query<Record<string, unknown>>(sql, params);
  const keyIndexes = keyColumns.map((k) => columns.indexOf(k));
  return rows.map((r) => {
    const texts = columns.map((c, i) => {
      const raw = r[`c${i}`];
      const text = raw === null || raw === undefined ? null : String(raw);
      if (comparesPresenceOnly(c)) return text === null ? 'N' : 'P';
      return canonicalServerText(c.type, text, cross);
    });
    const key = keyIndexes.map((i) => texts[i]).join(ROW_SEPARATOR);
    const display = `{${keyIndexes
      .map((i) => {
        const c = columns[i] as ColumnSchema;
        return `${JSON.stringify(c.name)}:${displayValue(c.type, r[`c${i}`])}`;
      })
      .join(',')}}`;
    return { key, display, row: texts.join(ROW_SEPARATOR) };
  });
}

/** `(a, b) >= ($1::t, $2::t)` with the bound's values appended to `params`. */
function keyPredicate(
  dialect: Dialect,
  key: readonly ColumnSchema[],
  bound: Key,
  op: '>=' | '<',
  params: unknown[],
): string {
  const left: string[] = [];
  const right: string[] = [];
  key.forEach((c, i) => {
    const value = bound[i] ?? null;
    params.push(
      dialect.encode(c.type, value, (why) => {
        throw new Error(`verify: chunk bound ${String(value)} of ${c.name}: ${why}`);
      }),
    );
    const p = dialect.param(params.length);
    const quoted = dialect.quote(c.name);
    if (dialect.name === 'postgres') {
      left.push(c.type.kind === 'string' ? `${quoted} COLLATE "C"` : quoted);
      right.push(`${p}::${c.nativeType}`);
    } else {
      left.push(quoted);
      right.push(p);
    }
  });
  const tuple = (items: string[]) => (items.length === 1 ? (items[0] as string) : `(${items.join(', ')})`);
  return `${tuple(left)} ${op} ${tuple(right)}`;
}

/** A key value for reports: numbers bare, everything else as a JSON string. */
function displayValue(type: LogicalType, raw: unknown): string {
  if (raw === null || raw === undefined) return 'null';
  const text = String(raw);
  const numeric = ['int16', 'int32', 'int64', 'uint64', 'decimal'].includes(type.kind) && /^-?\d+(\.\d+)?$/.test(text);
  return numeric ? text : JSON.stringify(text);
}
