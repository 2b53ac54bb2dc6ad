import type { ColumnSchema, LogicalType } from '@highwater/core';

/** A column as `ALL_TAB_COLUMNS` describes it. */
export interface OracleColumn {
  readonly name: string;
  /** `DATA_TYPE`, e.g. `NUMBER`, `VARCHAR2`, `TIMESTAMP(6) WITH TIME ZONE`, `INTERVAL DAY(2) TO SECOND(6)`. */
  readonly dataType: string;
  readonly precision: number | null;
  readonly scale: number | null;
  /** `CHAR_LENGTH` for character types, `DATA_LENGTH` otherwise. */
  readonly length: number | null;
  readonly nullable: boolean;
}

/** A column definition, for code that builds tables rather than reading them from the catalog. */
export function oracleColumn(
  name: string,
  dataType: string,
  size: { readonly precision?: number; readonly scale?: number; readonly length?: number } = {},
  nullable = true,
): OracleColumn {
  return {
    name,
    dataType,
    precision: size.precision ?? null,
    scale: size.scale ?? null,
    length: size.length ?? null,
    nullable,
  };
}

/** What family of decoding a column needs; one decoder per family serves both the snapshot and the redo path. */
export type ColumnFamily =
  | 'int'
  | 'decimal'
  | 'float32'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'interval-ym'
  | 'interval-ds'
  | 'clob'
  | 'blob'
  /** The ROWID pseudo-column, the key of a table without one (`rowidKeys`): its extended text. */
  | 'rowid'
  | 'unsupported';

const fractionDigits = (dataType: string, fallback: number): number => {
  const m = /\((\d)\)/.exec(dataType);
  return m === null ? fallback : Number(m[1]);
};

export function familyOf(column: OracleColumn): ColumnFamily {
  const t = column.dataType.toUpperCase();
  if (t === 'NUMBER')
    return column.scale === 0 && column.precision !== null && column.precision <= 19 ? 'int' : 'decimal';
  if (t === 'FLOAT' || t === 'INTEGER') return 'decimal';
  if (t === 'BINARY_FLOAT') return 'float32';
  if (t === 'BINARY_DOUBLE') return 'float64';
  if (t === 'VARCHAR2' || t === 'NVARCHAR2' || t === 'CHAR' || t === 'NCHAR') return 'string';
  if (t === 'RAW') return 'bytes';
  if (t === 'DATE') return 'date';
  if (/^TIMESTAMP(\(\d\))?$/.test(t)) return 'timestamp';
  if (/^TIMESTAMP(\(\d\))? WITH (LOCAL )?TIME ZONE$/.test(t)) return 'timestamptz';
  if (t.startsWith('INTERVAL YEAR')) return 'interval-ym';
  if (t.startsWith('INTERVAL DAY')) return 'interval-ds';
  if (t === 'CLOB' || t === 'NCLOB') return 'clob';
  if (t === 'BLOB') return 'blob';
  // Only the pseudo-column (`rowidColumn`): an ordinary column of type ROWID is not read as one.
  if (t === 'ROWID' && column.name === ROWID) return 'rowid';
  return 'unsupported';
}

/** The logical type of an Oracle column (see docs/adapters/oracle.md, "Type mapping"). */
export function logicalTypeOf(column: OracleColumn): LogicalType {
  const t = column.dataType.toUpperCase();
  switch (familyOf(column)) {
    case 'int': {
      const p = column.precision ?? 38;
      return { kind: p <= 4 ? 'int16' : p <= 9 ? 'int32' : 'int64' };
    }
    case 'decimal':
      return column.precision === null || t !== 'NUMBER'
        ? { kind: 'decimal' }
        : { kind: 'decimal', precision: column.precision, scale: column.scale ?? 0 };
    case 'float32':
      return { kind: 'float32' };
    case 'float64':
      return { kind: 'float64' };
    case 'string':
    case 'clob':
      return column.length === null || familyOf(column) === 'clob'
        ? { kind: 'string' }
        : { kind: 'string', length: column.length };
    case 'bytes':
    case 'blob':
      return { kind: 'bytes' };
    case 'date':
      return { kind: 'timestamp', precision: 0 };
    case 'timestamp':
      return { kind: 'timestamp', precision: fractionDigits(t, 6) };
    case 'timestamptz':
      return { kind: 'timestamptz', precision: fractionDigits(t, 6) };
    case 'interval-ym':
    case 'interval-ds':
      return { kind: 'interval' };
    case 'rowid':
      return { kind: 'string', length: 18 };
    default:
      return { kind: 'other' };
  }
}

export function columnSchemaOf(column: OracleColumn): ColumnSchema {
  const t = column.dataType;
  const native =
    t === 'NUMBER' && column.precision !== null
      ? `NUMBER(${column.precision},${column.scale ?? 0})`
      : (t === 'VARCHAR2' || t === 'NVARCHAR2' || t === 'CHAR' || t === 'NCHAR' || t === 'RAW') &&
          column.length !== null
        ? `${t}(${column.length})`
        : t;
  return { name: column.name, type: logicalTypeOf(column), nativeType: native, nullable: column.nullable };
}

/** The name of the ROWID pseudo-column as a column of a table keyed by it (see `rowidColumn`). */
export const ROWID = 'ROWID';

/**
 * The ROWID pseudo-column as a column: the key of a table without a primary key when the adapter's
 * `rowidKeys` is on. Read as `ROWID` (the driver returns it as its 18-character text), never quoted:
 * `"ROWID"` would name an ordinary column.
 */
export function rowidColumn(): OracleColumn {
  return oracleColumn(ROWID, 'ROWID', {}, false);
}

/** How a statement refers to a column: quoted, or the bare ROWID pseudo-column. */
export function columnRef(column: OracleColumn): string {
  return familyOf(column) === 'rowid' ? 'ROWID' : quoteIdent(column.name);
}

/** Quotes an identifier the way Oracle (and LogMiner's SQL_REDO) writes it. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** NLS formats set by `SESSION_SETUP`: the text both paths see. */
export const DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS';
export const TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9';
export const TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM';

/**
 * The select-list expression that reads a column on the snapshot path: the bare column where the
 * driver's value is already what `decodeColumn` takes, `TO_CHAR` where the text is the common form
 * (dates, timestamps, intervals — the same text SQL_REDO carries).
 */
export function selectExpression(column: OracleColumn): string {
  const q = quoteIdent(column.name);
  switch (familyOf(column)) {
    case 'date':
      return `TO_CHAR(${q}, '${DATE_FORMAT}') AS ${q}`;
    case 'timestamp':
      return `TO_CHAR(${q}, '${TIMESTAMP_FORMAT}') AS ${q}`;
    case 'timestamptz':
      return `TO_CHAR(${q}, '${TIMESTAMP_TZ_FORMAT}') AS ${q}`;
    case 'interval-ym':
    case 'interval-ds':
      return `TO_CHAR(${q}) AS ${q}`;
    case 'rowid':
      return 'ROWID';
    default:
      return q;
  }
}
