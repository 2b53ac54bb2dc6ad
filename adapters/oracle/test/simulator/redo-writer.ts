import { type OracleColumn, quoteIdent } from '../../src/types/oracle-column.js';
import { familyOf } from '../../src/types/oracle-column.js';
import { type Raw, redoLiteral } from './values.js';

/**
 * SIMULATOR. SQL_REDO as LogMiner reconstructs DML (Oracle Database Utilities, "Using LogMiner to
 * Analyze Redo Log Files", the SQL_REDO examples; V$LOGMNR_CONTENTS in Oracle Database Reference):
 * lower-case keywords, `"OWNER"."TABLE"` and `"COLUMN"` quoted, an INSERT lists every column, an
 * UPDATE sets the changed columns and identifies the row by a WHERE of its before-image (every
 * non-LOB column with ALL COLUMNS supplemental logging; the key and changed columns otherwise),
 * `"C" IS NULL` for nulls, a trailing `;`. With NO_ROWID_IN_STMT there is no `and ROWID = '…'`.
 */
export type RawRow = Readonly<Record<string, Raw>>;

const table = (owner: string, name: string) => `${quoteIdent(owner)}.${quoteIdent(name)}`;
const isLob = (c: OracleColumn) => familyOf(c) === 'clob' || familyOf(c) === 'blob';

function predicate(column: OracleColumn, raw: Raw): string {
  return raw === null
    ? `${quoteIdent(column.name)} IS NULL`
    : `${quoteIdent(column.name)} = ${redoLiteral(column, raw)}`;
}

function rowid(id: string | undefined): string {
  return id === undefined ? '' : ` and ROWID = '${id}'`;
}

export function insertRedo(owner: string, name: string, columns: readonly OracleColumn[], row: RawRow): string {
  return (
    `insert into ${table(owner, name)}(${columns.map((c) => quoteIdent(c.name)).join(',')}) values ` +
    `(${columns.map((c) => redoLiteral(c, row[c.name] ?? null)).join(',')});`
  );
}

/** The WHERE of an update/delete: the before-image columns LogMiner has (see the module comment). */
function whereColumns(
  columns: readonly OracleColumn[],
  key: readonly string[],
  changed: ReadonlySet<string>,
  allColumns: boolean,
) {
  return columns.filter((c) => !isLob(c) && (allColumns || key.includes(c.name) || changed.has(c.name)));
}

export function updateRedo(
  owner: string,
  name: string,
  columns: readonly OracleColumn[],
  key: readonly string[],
  before: RawRow,
  after: RawRow,
  options: { readonly allColumns: boolean; readonly rowid?: string },
): string {
  const changed = columns.filter((c) => !sameRaw(before[c.name] ?? null, after[c.name] ?? null));
  const set = (changed.length > 0 ? changed : columns.filter((c) => key.includes(c.name))).map(
    (c) => `${quoteIdent(c.name)} = ${redoLiteral(c, after[c.name] ?? null)}`,
  );
  const where = whereColumns(columns, key, new Set(changed.map((c) => c.name)), options.allColumns);
  return `update ${table(owner, name)} set ${set.join(', ')} where ${where.map((c) => predicate(c, before[c.name] ?? null)).join(' and ')}${rowid(options.rowid)};`;
}

export function deleteRedo(
  owner: string,
  name: string,
  columns: readonly OracleColumn[],
  key: readonly string[],
  before: RawRow,
  options: { readonly allColumns: boolean; readonly rowid?: string },
): string {
  const where = whereColumns(columns, key, new Set(), options.allColumns);
  return `delete from ${table(owner, name)} where ${where.map((c) => predicate(c, before[c.name] ?? null)).join(' and ')}${rowid(options.rowid)};`;
}

export function sameRaw(a: Raw, b: Raw): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return Object.is(a, b);
}

/**
 * Splits SQL_REDO the way V$LOGMNR_CONTENTS does when a statement exceeds the column (4000 bytes):
 * every row but the last has CSF = 1. `limit` is in UTF-8 bytes; pieces end on character boundaries.
 */
export function splitCsf(sql: string, limit: number): string[] {
  const pieces: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of sql) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > limit) {
      pieces.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += size;
  }
  pieces.push(current);
  return pieces;
}
