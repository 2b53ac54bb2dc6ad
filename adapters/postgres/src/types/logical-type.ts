import type { LogicalType } from '@highwater/core';
import type { PgType } from './pg-type.js';

/** Precision of `time(p)`, `timestamp(p)`, …: the typmod itself, absent when unconstrained (-1). */
function precisionOf(typmod: number): { precision?: number } {
  return typmod >= 0 ? { precision: typmod } : {};
}

/**
 * Highwater's logical type for a Postgres type and typmod (the column keeps Postgres's own name as
 * `nativeType`). Types with no logical kind of their own are `other`, their values the text
 * Postgres prints.
 */
export function logicalTypeOf(type: PgType, typmod: number): LogicalType {
  switch (type.kind) {
    case 'enum':
      return { kind: 'enum', values: type.labels };
    case 'array':
      return { kind: 'array', element: logicalTypeOf(type.element, typmod) };
    case 'other':
      return { kind: 'other' };
    case 'base':
      break;
  }
  switch (type.name) {
    case 'bool':
      return { kind: 'boolean' };
    case 'int2':
      return { kind: 'int16' };
    case 'int4':
      return { kind: 'int32' };
    case 'int8':
    case 'oid':
    case 'xid':
      return { kind: 'int64' };
    case 'float4':
      return { kind: 'float32' };
    case 'float8':
      return { kind: 'float64' };
    case 'numeric': {
      if (typmod < 4) return { kind: 'decimal' };
      const t = typmod - 4;
      return { kind: 'decimal', precision: (t >> 16) & 0xffff, scale: t & 0xffff };
    }
    case 'text':
    case 'name':
    case 'citext':
    case 'char':
      return { kind: 'string' };
    case 'varchar':
    case 'bpchar':
      return typmod >= 4 ? { kind: 'string', length: typmod - 4 } : { kind: 'string' };
    case 'bytea':
      return { kind: 'bytes' };
    case 'uuid':
      return { kind: 'uuid' };
    case 'json':
      return { kind: 'json' };
    case 'jsonb':
      return { kind: 'json', normalised: true };
    case 'date':
      return { kind: 'date' };
    case 'interval':
      return { kind: 'interval' };
    case 'time':
      return { kind: 'time', ...precisionOf(typmod) };
    case 'timetz':
      return { kind: 'time', ...precisionOf(typmod), withTimeZone: true };
    case 'timestamp':
      return { kind: 'timestamp', ...precisionOf(typmod) };
    case 'timestamptz':
      return { kind: 'timestamptz', ...precisionOf(typmod) };
    case 'bit':
      return typmod >= 0 ? { kind: 'bits', length: typmod } : { kind: 'bits' };
    case 'varbit':
      return typmod >= 0 ? { kind: 'bits', length: typmod, varying: true } : { kind: 'bits', varying: true };
    default:
      return { kind: 'other' };
  }
}
