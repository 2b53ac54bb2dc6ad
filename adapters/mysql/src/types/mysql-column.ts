import type { LogicalType } from '@highwater/core';

/** What `information_schema.COLUMNS` says about a column, as the decoders need it. */
export interface MysqlColumn {
  readonly name: string;
  /** `DATA_TYPE`, lower case: `int`, `varchar`, `datetime`, … */
  readonly dataType: string;
  /**
   * `COLUMN_TYPE` with its keywords in lower case and its quoted ENUM/SET values as declared:
   * `int(10) unsigned`, `enum('Red','green')`, … (see `columnTypeText`).
   */
  readonly columnType: string;
  /** `CHARACTER_SET_NAME` (null for non-text columns). */
  readonly charset: string | null;
  /** `COLLATION_NAME` (null for non-text columns). */
  readonly collation: string | null;
  /** `NUMERIC_SCALE` (decimals) or `DATETIME_PRECISION` (temporal), 0 when absent. */
  readonly scale: number;
  readonly precision: number;
  readonly nullable: boolean;
  /** MariaDB `JSON` is `LONGTEXT` with a `json_valid()` check; true when such a check exists (or MySQL `json`). */
  readonly json: boolean;
}

/**
 * `COLUMN_TYPE` as the decoders read it: keywords in lower case (the patterns here match `unsigned`,
 * `zerofill`, `varchar(…)`), quoted ENUM/SET values untouched — they are the values a row carries,
 * and a definition stored with a checkpoint decodes a dropped table's rows from this text.
 */
export function columnTypeText(columnType: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < columnType.length; i++) {
    const ch = columnType[i] as string;
    if (quoted && ch === '\\' && i + 1 < columnType.length) {
      out += ch + columnType[++i];
      continue;
    }
    // A doubled quote inside a value toggles twice: it stays inside.
    if (ch === "'") quoted = !quoted;
    out += quoted ? ch : ch.toLowerCase();
  }
  return out;
}

/** The values of an `enum(...)` or `set(...)` column type, unquoted. */
export function enumValues(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const body = columnType.slice(open + 1, columnType.lastIndexOf(')'));
  const out: string[] = [];
  let i = 0;
  while (i < body.length) {
    if (body[i] !== "'") {
      i++;
      continue;
    }
    let value = '';
    i++;
    while (i < body.length) {
      const ch = body[i] as string;
      if (ch === "'" && body[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (ch === "'") {
        i++;
        break;
      } else if (ch === '\\' && i + 1 < body.length) {
        value += body[i + 1];
        i += 2;
      } else {
        value += ch;
        i++;
      }
    }
    out.push(value);
  }
  return out;
}

const unsigned = (c: MysqlColumn) => /\bunsigned\b/.test(c.columnType);

/** The logical type of a column. */
export function logicalTypeOf(c: MysqlColumn): LogicalType {
  // MySQL's JSON type stores binary JSON and prints its normalised text; MariaDB's (LONGTEXT with a
  // json_valid check, data type `longtext`) keeps the text as written.
  if (c.json) return c.dataType === 'json' ? { kind: 'json', normalised: true } : { kind: 'json' };
  switch (c.dataType) {
    case 'tinyint':
      return { kind: 'int16' };
    case 'smallint':
      // SMALLINT UNSIGNED reaches 65535, past int16.
      return unsigned(c) ? { kind: 'int32' } : { kind: 'int16' };
    case 'mediumint':
      return { kind: 'int32' };
    case 'int':
    case 'integer':
      return unsigned(c) ? { kind: 'int64' } : { kind: 'int32' };
    case 'bigint':
      return unsigned(c) ? { kind: 'uint64' } : { kind: 'int64' };
    case 'decimal':
    case 'numeric':
      return { kind: 'decimal', precision: c.precision, scale: c.scale };
    case 'float':
      return { kind: 'float32' };
    case 'double':
    case 'real':
      return { kind: 'float64' };
    case 'bit':
      return { kind: 'bits', length: c.precision };
    case 'char':
    case 'varchar': {
      // The declared length, in characters: a sink recreating the table keeps it.
      const length = /^(?:var)?char\((\d+)\)/.exec(c.columnType)?.[1];
      return length === undefined ? { kind: 'string' } : { kind: 'string', length: Number(length) };
    }
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return { kind: 'string' };
    case 'binary':
    case 'varbinary': {
      // The declared length in bytes, kept as strings keep theirs.
      const length = /^(?:var)?binary\((\d+)\)/.exec(c.columnType)?.[1];
      return length === undefined ? { kind: 'bytes' } : { kind: 'bytes', length: Number(length) };
    }
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return { kind: 'bytes' };
    case 'date':
      return { kind: 'date' };
    case 'time':
      return { kind: 'time', precision: c.scale };
    case 'datetime':
      return { kind: 'timestamp', precision: c.scale };
    case 'timestamp':
      return { kind: 'timestamptz', precision: c.scale };
    case 'year':
      return { kind: 'int16' };
    case 'enum':
      return { kind: 'enum', values: enumValues(c.columnType) };
    case 'set':
      return { kind: 'set', values: enumValues(c.columnType) };
    case 'json':
      return { kind: 'json', normalised: true };
    case 'uuid':
      return { kind: 'uuid' };
    // Spatial values are JSON-shaped (see types/geometry.ts).
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
    case 'geomcollection':
      return { kind: 'json' };
    default:
      return { kind: 'other' };
  }
}
