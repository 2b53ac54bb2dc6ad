import { JsonText, type LogicalType, type SourceAdapter, type Value } from '@highwater/core';
import { mysqlAdapter } from '@highwater/mysql';
import { postgresAdapter } from '@highwater/postgres';
import type { ConnectionConfig, SqlSinkConfig } from '../../src/pipeline/pipeline-schema.js';

/**
 * (Test helper: what verify compared before it read the servers' own text.) One text per logical
 * value, whichever database it was read from: the source's values and the
 * target's (read back through the target's own decoder, after the sink's type mapping) give the
 * same text exactly when they hold the same data. So a MariaDB `BIGINT UNSIGNED` read as a bigint
 * and the Postgres `numeric(20)` it was copied to, read as a decimal string, compare equal.
 */
export function canonicalValue(type: LogicalType, value: Value): string {
  if (value === null) return 'N';
  switch (type.kind) {
    case 'boolean':
      return value === true || value === 1 || value === '1' || value === 't' || value === 'true' ? 'T' : 'F';
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint64':
      return `i${typeof value === 'string' ? BigInt(value.replace(/\.0*$/, '')).toString() : String(value)}`;
    case 'decimal':
      return `d${decimal(String(value))}`;
    case 'float32':
      return `f${String(Math.fround(Number(value)))}`;
    case 'float64':
      return `f${String(Number(value))}`;
    case 'bytes':
      return `b${hex(value)}`;
    case 'uuid':
      return `s${String(value).toLowerCase()}`;
    case 'json':
      // A document: the database's own text on each side, byte for byte (see docs/verify.md); inside
      // an array stored as a MySQL JSON array, a document is a string holding its text.
      if (value instanceof JsonText) return `j${value.text}`;
      if (typeof value === 'string') return `j${value}`;
      return `j${stable(typeof value === 'string' && looksSerialised(value) ? parseOr(value) : value)}`;
    case 'time':
      return `t${trimFraction(String(value))}`;
    case 'timestamp':
    case 'timestamptz':
      return `t${trimFraction(
        String(value)
          .replace(' ', 'T')
          .replace(/(Z|[+-]00(:?00)?)$/, ''),
      )}`;
    case 'bits':
      return `B${bits(value).replace(/^0+(?=.)/, '')}`;
    case 'array': {
      const items =
        typeof value === 'string' ? parseOr(value) : value instanceof JsonText ? parseOr(value.text) : value;
      if (!Array.isArray(items)) return `s${String(value)}`;
      return `[${items.map((v) => canonicalValue(type.element, v as Value)).join(',')}]`;
    }
    case 'enum':
    case 'set':
      return `s${Array.isArray(value) ? value.join(',') : String(value)}`;
    default:
      return `s${typeof value === 'string' ? value : value instanceof Uint8Array ? hex(value) : stable(value)}`;
  }
}

/** `-0012.3400` → `-12.34`; `1E+3` stays as written (exact decimals never use exponents). */
function decimal(text: string): string {
  const m = /^([+-]?)0*(\d*)(?:\.(\d*?)0*)?$/.exec(text.trim());
  if (m === null) return text;
  const [, sign = '', int = '', frac = ''] = m;
  const whole = int === '' ? '0' : int;
  const out = frac === '' ? whole : `${whole}.${frac}`;
  return out === '0' ? '0' : `${sign === '-' ? '-' : ''}${out}`;
}

function trimFraction(text: string): string {
  return text.replace(/\.(\d*?)0+$/, (_m, kept: string) => (kept === '' ? '' : `.${kept}`));
}

function hex(value: Value): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  const text = String(value);
  return text.startsWith('\\x') ? text.slice(2).toLowerCase() : Buffer.from(text, 'utf8').toString('hex');
}

function bits(value: Value): string {
  if (value instanceof Uint8Array) return [...value].map((b) => b.toString(2).padStart(8, '0')).join('');
  if (typeof value === 'number' || typeof value === 'bigint') return BigInt(value).toString(2);
  return String(value);
}

function looksSerialised(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** JSON with sorted object keys, bigints as numbers and bytes as hex: equal data, equal text. */
export function stable(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (value instanceof Uint8Array) return JSON.stringify(`\\x${Buffer.from(value).toString('hex')}`);
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
}

/**
 * Reads the target with the target database's own adapter: its chunk reader runs the same key-range
 * query the snapshot runs and decodes values into the logical representation, which the canonical
 * form then compares with the source's. Only chunk readers are opened: no slot, no publication, no
 * binlog check, nothing written.
 */
export function targetAdapter(config: SqlSinkConfig): SourceAdapter<unknown> {
  if (config.type === 'postgres') {
    return postgresAdapter({
      connection: withPort(config.connection, 5432),
      createSlot: false,
      createPublication: false,
    }) as SourceAdapter<unknown>;
  }
  return mysqlAdapter({ connection: withPort(config.connection, 3306) }) as SourceAdapter<unknown>;
}

function withPort(connection: ConnectionConfig, port: number) {
  return typeof connection === 'string' ? connection : { ...connection, port: connection.port ?? port };
}
