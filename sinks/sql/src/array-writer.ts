import type { Row, Value } from '@highwater/core';
import type { ArrayColumn, ArrayStatements, SqlSession } from './dialect.js';
import type { TargetTable } from './target-table.js';

/**
 * A value of one column as the dialect binds or loads it; `source` is its row, or its key values in
 * key order, named in the error when the target cannot hold the value.
 */
export type ValueEncoder = (value: Value, source: Row | readonly Value[]) => unknown;

/** Runs one statement of `table` (errors wrapped by the sink, naming the table). */
export type RunStatement = (sql: string, params: readonly unknown[], table: string) => Promise<void>;

/**
 * Rows per array statement at most: one statement per group up to here, whatever the batch joins
 * (16,384 events at most), while a group of wide rows still goes in pieces.
 */
export const ARRAY_STATEMENT_ROWS = 16_384;

/**
 * Writes a batch's upsert and delete groups with {@link ArrayStatements}: each column's values as
 * one array parameter, so a group is one prepared statement whatever its size, and the server
 * neither parses a statement per batch nor plans thousands of parameters. Column types come from
 * the target's catalog, read once per table and kept until the sink changes the table's DDL (or a
 * write fails).
 */
export class ArrayWriter {
  /** Per qualified target table: its columns' types as the catalog had them. */
  private readonly types = new Map<string, ReadonlyMap<string, ArrayColumn>>();

  constructor(private readonly statements: ArrayStatements) {}

  /** Forgets the types of `qualified` (its DDL changed), or of every table. */
  forget(qualified?: string): void {
    if (qualified === undefined) this.types.clear();
    else this.types.delete(qualified);
  }

  /** Upserts `rows` (values of `columns`); false when a column is not in the target's catalog (the caller writes them otherwise). */
  async upsert(
    session: SqlSession,
    table: TargetTable,
    columns: readonly string[],
    rows: readonly Row[],
    encoders: readonly ValueEncoder[],
    run: RunStatement,
  ): Promise<boolean> {
    const types = await this.typesOf(session, table, columns);
    if (types === null) return false;
    const sql = this.statements.upsert(table.qualified, columns, types, table.key);
    for (let from = 0; from < rows.length; from += ARRAY_STATEMENT_ROWS) {
      const to = Math.min(rows.length, from + ARRAY_STATEMENT_ROWS);
      const params = columns.map((column, j) => {
        const encode = encoders[j] as ValueEncoder;
        const values = new Array<unknown>(to - from);
        for (let i = from; i < to; i++) {
          const row = rows[i] as Row;
          values[i - from] = encode(row[column] ?? null, row);
        }
        return this.statements.array(values);
      });
      await run(sql, params, table.qualified);
    }
    return true;
  }

  /** Deletes the rows of `keys` (key values in key order); false when a key column is not in the target's catalog. */
  async delete(
    session: SqlSession,
    table: TargetTable,
    keys: readonly (readonly Value[])[],
    encoders: readonly ValueEncoder[],
    run: RunStatement,
  ): Promise<boolean> {
    const types = await this.typesOf(session, table, table.key);
    if (types === null) return false;
    const sql = this.statements.delete(table.qualified, table.key, types);
    for (let from = 0; from < keys.length; from += ARRAY_STATEMENT_ROWS) {
      const to = Math.min(keys.length, from + ARRAY_STATEMENT_ROWS);
      const params = table.key.map((_, j) => {
        const encode = encoders[j] as ValueEncoder;
        const values = new Array<unknown>(to - from);
        for (let i = from; i < to; i++) {
          const key = keys[i] as readonly Value[];
          values[i - from] = encode(key[j] ?? null, key);
        }
        return this.statements.array(values);
      });
      await run(sql, params, table.qualified);
    }
    return true;
  }

  /** The types of `columns`, read again once when one is missing from what was read before; null when still missing. */
  private async typesOf(
    session: SqlSession,
    table: TargetTable,
    columns: readonly string[],
  ): Promise<ArrayColumn[] | null> {
    const cached = this.types.get(table.qualified);
    const found = cached === undefined ? null : pick(cached, columns);
    if (found !== null) return found;
    const known = await this.statements.columnTypes(session, table.qualified);
    this.types.set(table.qualified, known);
    return pick(known, columns);
  }
}

function pick(types: ReadonlyMap<string, ArrayColumn>, columns: readonly string[]): ArrayColumn[] | null {
  const out: ArrayColumn[] = [];
  for (const column of columns) {
    const type = types.get(column);
    if (type === undefined) return null;
    out.push(type);
  }
  return out;
}
