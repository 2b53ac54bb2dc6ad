import { readFile } from 'node:fs/promises';
import type { SqlConnection } from './connections.js';

/** A table's definition as the source has it: columns (their data types) and primary key. */
export interface TableShape {
  /** Schema (Postgres) or database (MariaDB) and table name on the source. */
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly key: readonly string[];
}

/** What one table's comparison found; `equal` when the row sets are identical. */
export interface TableDiff {
  readonly table: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly missing: string[];
  readonly extra: string[];
  readonly different: string[];
  /** Streamed change events found more than once in a file (same table, offset, key, op and after-image). */
  readonly duplicates?: number;
  /** Order-independent checksum of the source rows (sum of row hashes), for the report. */
  readonly checksum: string;
  readonly equal: boolean;
}

type Rows = Map<string, string>;

const NULL = '\u2400';

export async function tableShape(db: SqlConnection, schema: string, name: string): Promise<TableShape> {
  const columns = await db.query(
    `SELECT column_name AS c, data_type AS t FROM information_schema.columns
     WHERE table_schema = '${schema}' AND table_name = '${name}' ORDER BY ordinal_position`,
  );
  const key = await db.query(
    `SELECT kcu.column_name AS c FROM information_schema.table_constraints tc
     JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name
       AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
     WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = '${schema}' AND tc.table_name = '${name}'
     ORDER BY kcu.ordinal_position`,
  );
  if (columns.length === 0 || key.length === 0) throw new Error(`${schema}.${name}: no such table or no primary key`);
  return {
    schema,
    name,
    columns: columns.map((r) => ({ name: String(r.c), type: String(r.t).toLowerCase() })),
    key: key.map((r) => String(r.c)),
  };
}

/**
 * One value as comparable text: NULL marked, fixed-width `char` padding dropped (MariaDB drops it on
 * read, Postgres keeps it), timestamps in one spelling (the file sink writes ISO with a `T`).
 */
function canonical(value: unknown, type: string): string {
  if (value === null || value === undefined) return NULL;
  let text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (type === 'char' || type === 'character') text = text.trimEnd();
  const time = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?Z?$/.exec(text);
  if (time !== null) text = `${time[1]} ${time[2]}${(time[3] ?? '').replace(/\.?0+$/, '')}`;
  return text;
}

function rowText(shape: TableShape, row: Record<string, unknown>): string {
  return shape.columns.map((c) => canonical(row[c.name], c.type)).join('\u241f');
}

function keyText(shape: TableShape, row: Record<string, unknown>): string {
  return shape.key.map((k) => canonical(row[k], '')).join('|');
}

/** Every row of `schema.name` with the source's columns, by key. */
export async function readRows(db: SqlConnection, shape: TableShape, schema: string, name: string): Promise<Rows> {
  const q = (id: string) => (db.dialect === 'postgres' ? `"${id}"` : `\`${id}\``);
  const rows = await db.query(`SELECT ${shape.columns.map((c) => q(c.name)).join(', ')} FROM ${q(schema)}.${q(name)}`);
  const result: Rows = new Map();
  for (const row of rows) result.set(keyText(shape, row), rowText(shape, row));
  return result;
}

/** FNV-1a of each row, summed mod 2^64: equal row sets give equal sums in any order. */
function checksum(rows: Rows): string {
  let sum = 0n;
  for (const [key, row] of rows) {
    let h = 0xcbf29ce484222325n;
    for (const ch of `${key}\u241e${row}`) {
      h ^= BigInt(ch.codePointAt(0) ?? 0);
      h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    sum = (sum + h) & 0xffffffffffffffffn;
  }
  return sum.toString(16).padStart(16, '0');
}

export function diffRows(table: string, source: Rows, target: Rows, duplicates?: number): TableDiff {
  const missing: string[] = [];
  const extra: string[] = [];
  const different: string[] = [];
  for (const [key, row] of source) {
    const other = target.get(key);
    if (other === undefined) missing.push(key);
    else if (other !== row) different.push(`${key}: source ${row} / target ${other}`);
  }
  for (const key of target.keys()) if (!source.has(key)) extra.push(key);
  const sourceSum = checksum(source);
  const equal =
    missing.length === 0 &&
    extra.length === 0 &&
    different.length === 0 &&
    (duplicates ?? 0) === 0 &&
    sourceSum === checksum(target);
  return {
    table,
    sourceRows: source.size,
    targetRows: target.size,
    missing,
    extra,
    different,
    ...(duplicates !== undefined ? { duplicates } : {}),
    checksum: sourceSum,
    equal,
  };
}

interface FileEvent {
  readonly kind: string;
  readonly op?: string;
  readonly key?: Record<string, unknown>;
  readonly before?: Record<string, unknown> | null;
  readonly after?: Record<string, unknown> | null;
  readonly source: { readonly table: string; readonly offset: unknown; readonly snapshot?: boolean };
}

/**
 * Replays a `native` JSON-lines file to the last image per key of each table: reads and inserts and
 * updates set the row, deletes remove it, an update whose before-image has another key removes that
 * key, a truncate empties the table. Also counts streamed events that appear twice.
 */
export async function replayFile(
  path: string,
  shapes: readonly TableShape[],
): Promise<{ tables: Map<string, Rows>; duplicates: Map<string, number>; events: number }> {
  const tables = new Map<string, Rows>(shapes.map((s) => [`${s.schema}.${s.name}`, new Map()]));
  const shapeOf = new Map(shapes.map((s) => [`${s.schema}.${s.name}`, s]));
  const duplicates = new Map<string, number>();
  const seen = new Set<string>();
  let events = 0;
  const text = await readFile(path, 'utf8');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const event = JSON.parse(line) as FileEvent;
    const table = event.source.table;
    const rows = tables.get(table);
    const shape = shapeOf.get(table);
    if (rows === undefined || shape === undefined) continue;
    events++;
    if (event.kind === 'truncate') {
      rows.clear();
      continue;
    }
    if (event.kind !== 'change' || event.key === undefined) continue;
    const key = keyText(shape, event.key);
    if (event.source.snapshot !== true) {
      const id = `${table}|${JSON.stringify(event.source.offset)}|${key}|${event.op}|${JSON.stringify(event.after)}`;
      if (seen.has(id)) duplicates.set(table, (duplicates.get(table) ?? 0) + 1);
      else seen.add(id);
    }
    if (event.op === 'd') {
      rows.delete(key);
      continue;
    }
    const before = event.before;
    if (event.op === 'u' && before != null && shape.key.every((k) => k in before)) {
      const oldKey = keyText(shape, before);
      if (oldKey !== key) rows.delete(oldKey);
    }
    if (event.after != null) rows.set(key, rowText(shape, event.after));
  }
  return { tables, duplicates, events };
}
