import type { LogicalType, Value } from '@highwater/core';
import { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import type { ConnectionConfig } from '@highwater/sink-sql';
import type { Dialect, SqlSession, TargetColumn } from '@highwater/sink-sql';
import { valuesList } from '@highwater/sink-sql';
import {
  bitBytes,
  bitString,
  exactJsonText,
  float32Text,
  isoYear,
  isTrue,
  jsonText,
  plainText,
  type RejectValue,
} from '@highwater/sink-sql';
import { LoadDuplicateError, loadDataStatement, loadLine, loadWarningsError } from './load-data.js';
import { sendStatements } from './multi-statement.js';

/** Longest VARCHAR a key column gets: utf8mb4 takes 4 bytes a character, InnoDB keys 3072 bytes. */
const KEY_CHARS = 255;

/** `HH:MM:SS.ffffff+HH:MM:SS`, the longest text of a Postgres timetz. */
const TIMETZ_CHARS = 24;

/** MySQL DECIMAL's limits: 65 digits, 30 after the point. */
const DECIMAL_DIGITS = 65;
const DECIMAL_SCALE = 30;

/**
 * MySQL/MariaDB target column types. Tables use utf8mb4 with a binary collation, so text keys that
 * differ only in case or accents stay distinct rows, as they are in the source.
 */
export function mysqlColumnType(type: LogicalType, isKey: boolean): string {
  switch (type.kind) {
    case 'boolean':
      return 'BOOLEAN';
    case 'int16':
      return 'SMALLINT';
    case 'int32':
      return 'INT';
    case 'int64':
      return 'BIGINT';
    case 'uint64':
      return 'BIGINT UNSIGNED';
    case 'float32':
      return 'FLOAT';
    case 'float64':
      return 'DOUBLE';
    case 'decimal':
      return fitsMysqlDecimal(type)
        ? `DECIMAL(${type.precision},${type.scale ?? 0})`
        : `DECIMAL(${DECIMAL_DIGITS},${DECIMAL_SCALE})`;
    case 'string':
      if (isKey) return `VARCHAR(${Math.min(type.length ?? KEY_CHARS, KEY_CHARS)})`;
      return type.length !== undefined && type.length <= 16_383 ? `VARCHAR(${type.length})` : 'LONGTEXT';
    case 'bytes':
      // VARBINARY, not BINARY: BINARY(n) pads shorter values with zero bytes (a BINARY(n) source's values all have n).
      if (isKey) return `VARBINARY(${Math.min(type.length ?? KEY_CHARS * 4, KEY_CHARS * 4)})`;
      return type.length !== undefined && type.length <= 16_383 ? `VARBINARY(${type.length})` : 'LONGBLOB';
    case 'uuid':
      return 'CHAR(36)';
    case 'json':
    case 'array':
      // A JSON column cannot be indexed: a JSON key (a MongoDB `_id` of mixed types) is kept as its text.
      return isKey ? `VARCHAR(${KEY_CHARS})` : 'JSON';
    case 'date':
      return 'DATE';
    case 'time':
      // MySQL TIME has no offset: a Postgres timetz keeps its exact text (`13:45:00.5+02`) instead.
      return type.withTimeZone === true ? `VARCHAR(${TIMETZ_CHARS})` : `TIME(${precision(type.precision)})`;
    case 'timestamp':
    case 'timestamptz':
      // DATETIME, in UTC for timestamptz: TIMESTAMP would end in 2038 and shift with the session zone.
      return `DATETIME(${precision(type.precision)})`;
    case 'bits':
      // BIT(n) pads every value to n bits, so a varying bit string (Postgres varbit) is kept as text.
      if (type.varying === true && type.length !== undefined && type.length <= 16_383) return `VARCHAR(${type.length})`;
      return type.varying !== true && type.length !== undefined && type.length >= 1 && type.length <= 64
        ? `BIT(${type.length})`
        : isKey
          ? `VARCHAR(${KEY_CHARS})`
          : 'LONGTEXT';
    case 'interval':
    case 'enum':
    case 'set':
    case 'other':
      return isKey ? `VARCHAR(${KEY_CHARS})` : 'LONGTEXT';
  }
}

function precision(p: number | undefined): number {
  return p === undefined ? 6 : Math.min(Math.max(p, 0), 6);
}

/** True when the source's decimal type maps to the same `DECIMAL(p,s)` (so every value fits). */
function fitsMysqlDecimal(type: { precision?: number; scale?: number }): type is { precision: number } {
  return type.precision !== undefined && type.precision <= DECIMAL_DIGITS && (type.scale ?? 0) <= DECIMAL_SCALE;
}

/**
 * A decimal for `DECIMAL(65,30)` (an unbounded or too wide source type): MySQL would round away
 * digits past the 30th after the point with only a note, so such values, and NaN/±Infinity
 * (Postgres numeric), are rejected.
 */
function mysqlDecimal(text: string, reject: RejectValue): string {
  const m = /^[+-]?(\d*)(?:\.(\d*?)0*)?$/.exec(text);
  if (m === null) return reject(`MySQL DECIMAL has no ${text}`);
  const integer = (m[1] ?? '').replace(/^0+/, '');
  const fraction = m[2] ?? '';
  if (fraction.length > DECIMAL_SCALE || integer.length > DECIMAL_DIGITS - DECIMAL_SCALE) {
    reject(
      `MySQL DECIMAL(${DECIMAL_DIGITS},${DECIMAL_SCALE}) holds at most ${DECIMAL_DIGITS - DECIMAL_SCALE} digits before the point and ${DECIMAL_SCALE} after it`,
    );
  }
  return text;
}

/**
 * An ISO date or date-time as a MySQL literal: a space for `T`, no zone (the session and the values
 * are UTC). MySQL's DATE and DATETIME hold years 0000–9999 and nothing infinite.
 */
function mysqlDateTime(kind: 'DATE' | 'DATETIME', text: string, reject: RejectValue): string {
  if (text === 'infinity' || text === '-infinity') return reject(`MySQL ${kind} has no ${text}`);
  const parts = isoYear(text);
  if (parts !== null && (parts.year < 0 || parts.year > 9999 || /^[+-]/.test(text))) {
    reject(`MySQL ${kind} holds years 0000 to 9999`);
  }
  return text.replace('T', ' ').replace(/(Z|[+-]00(:?00)?)$/, '');
}

/** A value as a mysql2 parameter (escaped client-side) for a column of `type`. */
export function mysqlParam(type: LogicalType, value: Value, reject: RejectValue): unknown {
  if (value === null) return null;
  switch (type.kind) {
    case 'boolean':
      return isTrue(value) ? 1 : 0;
    case 'float32':
    case 'float64': {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) reject(`MySQL ${type.kind === 'float32' ? 'FLOAT' : 'DOUBLE'} has no NaN or infinities`);
      // float32 as the shortest text that reads back as the same float32 within FLOAT's range.
      return type.kind === 'float32' ? float32Text(n) : n;
    }
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint64':
      return String(value);
    case 'decimal':
      return fitsMysqlDecimal(type) ? String(value) : mysqlDecimal(String(value), reject);
    case 'bytes':
      return value instanceof Uint8Array ? Buffer.from(value) : value;
    case 'json':
      return exactJsonText(value);
    case 'array':
      return jsonText(value);
    case 'date':
      return mysqlDateTime('DATE', String(value), reject);
    case 'timestamp':
    case 'timestamptz':
      return mysqlDateTime('DATETIME', String(value), reject);
    case 'bits':
      return type.varying !== true && type.length !== undefined && type.length >= 1 && type.length <= 64
        ? bitBytes(value, type.length)
        : bitString(value, type.varying === true ? undefined : type.length);
    case 'interval':
    case 'enum':
    case 'set':
    case 'other':
      return plainText(value);
    default:
      return typeof value === 'string' ? value : plainText(value);
  }
}

/** InnoDB's limit on an index's key: 3072 bytes. */
const INDEX_BYTES = 3072;

/** Why MySQL cannot index these columns of these types whole, or null when it can. */
function unindexable(columns: readonly (readonly [string, string])[]): string | null {
  let bytes = 0;
  for (const [name, type] of columns) {
    if (/^(LONGTEXT|LONGBLOB|JSON)/.test(type)) {
      return `column ${name} is ${type}, which MySQL indexes only by a prefix`;
    }
    const chars = /^(?:VAR)?CHAR\((\d+)\)/.exec(type)?.[1];
    bytes += chars === undefined ? 8 : Number(chars) * 4;
  }
  return bytes > INDEX_BYTES ? `its columns take more than MySQL's ${INDEX_BYTES}-byte index key` : null;
}

/** `c = VALUES(c)` for the non-key columns (the first key column when there are none: a no-op that keeps the statement valid). */
function updateList(columns: readonly string[], key: readonly string[]): string {
  const keys = new Set(key);
  const update = columns.filter((c) => !keys.has(c));
  return (update.length === 0 ? [key[0] as string] : update)
    .map((c) => `${mysqlDialect.quote(c)} = VALUES(${mysqlDialect.quote(c)})`)
    .join(', ');
}

const LOST_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

function fieldOf(error: unknown, field: string): unknown {
  return typeof error === 'object' && error !== null && field in error
    ? (error as Record<string, unknown>)[field]
    : undefined;
}

function mysqlOptions(connection: ConnectionConfig): mysql.ConnectionOptions {
  if (typeof connection !== 'string') return { ...connection, port: connection.port ?? 3306 };
  const url = new URL(connection);
  return {
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
  };
}

/** Server errors meaning `LOAD DATA LOCAL` is not allowed here (`local_infile` off on either side). */
const LOCAL_INFILE_REFUSED = new Set([1148, 3948, 4166]);

export const mysqlDialect: Dialect = {
  name: 'mysql',
  transactionalDdl: false,
  maxParams: 20_000,
  keyChars: KEY_CHARS,
  begin: 'START TRANSACTION',
  bulkLoad: {
    statement: (qualified, columns, types) =>
      loadDataStatement(qualified, columns, types, (c) => mysqlDialect.quote(c)),
    line: loadLine,
    isDuplicateKey: (error) => error instanceof LoadDuplicateError,
    isUnavailable: (error) => LOCAL_INFILE_REFUSED.has(Number(fieldOf(error, 'errno'))),
    // Updates ride in the batch's one multi-statement query (see multi-statement.ts).
    stagesUpdates: false,
    // CREATE/DROP TEMPORARY TABLE do not commit the transaction, unlike other DDL on MySQL.
    createStage(qualified, stage, columns) {
      const list = columns.map((c) => mysqlDialect.quote(c)).join(', ');
      return `CREATE TEMPORARY TABLE ${mysqlDialect.quote(stage)} ENGINE=InnoDB AS SELECT ${list} FROM ${qualified} LIMIT 0`;
    },
    upsertFromStage(qualified, stage, columns, key) {
      const list = columns.map((c) => mysqlDialect.quote(c)).join(', ');
      return `INSERT INTO ${qualified} (${list}) SELECT ${list} FROM ${mysqlDialect.quote(stage)} ON DUPLICATE KEY UPDATE ${updateList(columns, key)}`;
    },
    dropStage: (stage) => `DROP TEMPORARY TABLE IF EXISTS ${mysqlDialect.quote(stage)}`,
  },
  async connect(connection: ConnectionConfig): Promise<SqlSession> {
    const db = await mysql.createConnection({
      ...mysqlOptions(connection),
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
      charset: 'UTF8MB4_BIN',
      // A batch's statements go in one query (`pipeline`). Nothing a source sends reaches the text
      // unescaped: values are parameters escaped by mysql2, identifiers quoted by `quote`.
      multipleStatements: true,
    });
    db.on('error', () => {
      // Reported again by the next query on this connection.
    });
    try {
      // Strict mode: a value that does not fit fails the batch instead of being silently truncated.
      await db.query("SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
    } catch (error) {
      db.destroy();
      throw error;
    }
    return {
      async query<T>(sql: string, params?: readonly unknown[]) {
        const [rows] = await db.query(sql, params as unknown[] | undefined);
        return (Array.isArray(rows) ? rows : []) as T[];
      },
      pipeline: (statements) => sendStatements(db, statements),
      async load(sql: string, data: Iterable<Uint8Array>) {
        // The server asks for the file by name; the sink's rows are sent whatever it names (mysql2
        // sends each piece of the stream as one packet).
        const stream = () => Readable.from(data);
        const [result] = await db.query({ sql, infileStreamFactory: stream });
        const warnings = (result as { warningStatus?: number }).warningStatus ?? 0;
        if (warnings === 0) return;
        const [shown] = await db.query('SHOW WARNINGS');
        throw loadWarningsError(shown as { Code: number; Message: string }[], warnings);
      },
      close: () => db.end().catch(() => db.destroy()),
    };
  },
  async currentSchema(session) {
    const rows = await session.query<{ s: string | null }>('SELECT DATABASE() AS s');
    const schema = rows[0]?.s ?? null;
    if (schema === null)
      throw new Error('the target connection names no database: add one to the URL or set sink.schema');
    return schema;
  },
  quote: (identifier) => `\`${identifier.replace(/`/g, '``')}\``,
  param: () => '?',
  columnType: mysqlColumnType,
  encode: mysqlParam,
  async schemaExists(session, schema) {
    return (
      (await session.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema])).length > 0
    );
  },
  createSchema(schema) {
    // Commits implicitly, like all DDL on MySQL; harmless, since it only ever creates an empty database.
    return `CREATE DATABASE IF NOT EXISTS ${this.quote(schema)}`;
  },
  async columnsOf(session, schema, table) {
    const rows = await session.query<{ c: string; n: string }>(
      `SELECT COLUMN_NAME AS c, IS_NULLABLE AS n FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [schema, table],
    );
    return rows.length === 0 ? null : rows.map((r) => ({ name: r.c, nullable: r.n === 'YES' }));
  },
  createTable(qualified, columns, key) {
    const keys = new Set(key);
    const defs = columns.map(
      (c) =>
        `${this.quote(c.name)} ${mysqlColumnType(c.type, keys.has(c.name))}${keys.has(c.name) || !c.nullable ? ' NOT NULL' : ' NULL'}${c.defaultLiteral == null ? '' : ` DEFAULT ${c.defaultLiteral}`}`,
    );
    defs.push(`PRIMARY KEY (${key.map((k) => this.quote(k)).join(', ')})`);
    return `CREATE TABLE IF NOT EXISTS ${qualified} (${defs.join(', ')}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
  },
  createIndexes(qualified, _name, columns, indexes) {
    const types = new Map(columns.map((c) => [c.name, mysqlColumnType(c.type, false)]));
    const statements: string[] = [];
    const skipped: { index: string; why: string }[] = [];
    for (const index of indexes) {
      const why = unindexable(index.columns.map((c) => [c, types.get(c) ?? 'LONGTEXT'] as const));
      if (why !== null) {
        skipped.push({ index: index.name, why });
        continue;
      }
      // Unique indexes become plain ones: MySQL checks uniqueness row by row, and the sink applies a
      // batch's changes grouped by kind, not in the source's order (the source keeps them unique).
      statements.push(
        `ALTER TABLE ${qualified} ADD INDEX ${this.quote(index.name)} (${index.columns.map((c) => this.quote(c)).join(', ')})`,
      );
    }
    return { statements, skipped };
  },
  dropNotNull(qualified, column) {
    return `ALTER TABLE ${qualified} MODIFY COLUMN ${this.quote(column.name)} ${mysqlColumnType(column.type, false)} NULL${defaultClause(column)}`;
  },
  addColumn(qualified, column, defaultLiteral) {
    // MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB has); the sink checks the catalog first.
    const value = defaultLiteral == null ? '' : ` DEFAULT ${defaultLiteral}`;
    return `ALTER TABLE ${qualified} ADD COLUMN ${this.quote(column.name)} ${mysqlColumnType(column.type, false)} NULL${value}`;
  },
  // MODIFY restates the whole column: its default goes too unless given again.
  setNotNull(qualified, column, isKey) {
    return `ALTER TABLE ${qualified} MODIFY COLUMN ${this.quote(column.name)} ${mysqlColumnType(column.type, isKey)} NOT NULL${defaultClause(column)}`;
  },
  // The sink checks the catalog first (MySQL 8 has no DROP COLUMN IF EXISTS).
  dropColumn(qualified, column) {
    return `ALTER TABLE ${qualified} DROP COLUMN ${this.quote(column)}`;
  },
  renameColumn(qualified, from, to) {
    return `ALTER TABLE ${qualified} RENAME COLUMN ${this.quote(from)} TO ${this.quote(to)}`;
  },
  alterType(qualified, column, isKey) {
    const nullable = column.nullable && !isKey ? 'NULL' : 'NOT NULL';
    return `ALTER TABLE ${qualified} MODIFY COLUMN ${this.quote(column.name)} ${mysqlColumnType(column.type, isKey)} ${nullable}${defaultClause(column)}`;
  },
  setDefault(qualified, column, defaultLiteral) {
    const action = defaultLiteral === null ? 'DROP DEFAULT' : `SET DEFAULT ${defaultLiteral}`;
    return `ALTER TABLE ${qualified} ALTER COLUMN ${this.quote(column)} ${action}`;
  },
  dropTable: (qualified) => `DROP TABLE IF EXISTS ${qualified}`,
  renameTable(qualified, schema, name) {
    return `RENAME TABLE ${qualified} TO ${this.quote(schema)}.${this.quote(name)}`;
  },
  upsert(qualified, columns, key, rows) {
    return `INSERT INTO ${qualified} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES ${valuesList(this, columns.length, rows)} ON DUPLICATE KEY UPDATE ${updateList(columns, key)}`;
  },
  // TRUNCATE commits implicitly in MySQL; DELETE stays inside the batch's transaction.
  truncate: (qualified) => `DELETE FROM ${qualified}`,
  createCheckpointTable: (qualified) =>
    `CREATE TABLE IF NOT EXISTS ${qualified} (pipeline VARCHAR(255) NOT NULL PRIMARY KEY, checkpoint LONGTEXT NOT NULL, stored_at DATETIME(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  storeCheckpoint: (qualified) =>
    `INSERT INTO ${qualified} (pipeline, checkpoint, stored_at) VALUES (?, ?, UTC_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE checkpoint = VALUES(checkpoint), stored_at = VALUES(stored_at)`,
  isConnectionLost(error) {
    const code = String(fieldOf(error, 'code') ?? '');
    return LOST_CODES.has(code) || fieldOf(error, 'fatal') === true;
  },
  isTransient: (error) => [1213, 1205].includes(Number(fieldOf(error, 'errno'))),
};

function defaultClause(column: TargetColumn): string {
  return column.defaultLiteral == null ? '' : ` DEFAULT ${column.defaultLiteral}`;
}
