import type { ColumnSchema, LogicalType, TableSchema } from './table-schema.js';

/**
 * How a column's new type relates to its old one: `widening` when the new type holds every value of
 * the old one (INT → BIGINT, VARCHAR(50) → VARCHAR(500)), `narrowing` when the old type holds every
 * value of the new one (the reverse), `incompatible` when neither holds the other (TEXT → INT,
 * TIMESTAMP → TIMESTAMPTZ).
 */
export type TypeChange = 'widening' | 'narrowing' | 'incompatible';

/**
 * One change a schema event makes to a table, as sinks act on it. A schema event may carry several
 * (a Postgres relation message shows every DDL since the previous one at once).
 */
export type DdlChange =
  | { readonly kind: 'create-table' }
  | { readonly kind: 'drop-table' }
  /** The table now has another name (`to`, qualified like `SourceInfo.table`); the event's table is the old name. */
  | { readonly kind: 'rename-table'; readonly to: string }
  /** A new column; `column.default` set is "add with default": existing rows hold that value in the source. */
  | { readonly kind: 'add-column'; readonly column: ColumnSchema }
  | { readonly kind: 'drop-column'; readonly column: ColumnSchema }
  | { readonly kind: 'rename-column'; readonly from: string; readonly column: ColumnSchema }
  | {
      readonly kind: 'change-type';
      readonly column: ColumnSchema;
      readonly from: ColumnSchema;
      readonly change: TypeChange;
    }
  | { readonly kind: 'change-nullability'; readonly column: ColumnSchema; readonly nullable: boolean }
  | {
      readonly kind: 'change-default';
      readonly column: ColumnSchema;
      /** The source's default expressions before and after; absent where the column had none. */
      readonly from?: string;
      readonly to?: string;
    };

/** The name of a kind of DDL change, plus `truncate-table` (which arrives as its own event). */
export type DdlKind = DdlChange['kind'] | 'truncate-table';

/**
 * What changed from `before` to `after` (null before: a new table; null after: a dropped table).
 * `renamedColumns` maps a new column name to its old one, where the adapter knows a column was
 * renamed (MySQL's DDL text, Postgres's column numbers); without it a rename shows as a drop and an
 * add. `renamedTo` names the table's new name when a dropped table was in fact renamed.
 */
export function diffTableSchemas(
  before: TableSchema | null,
  after: TableSchema | null,
  hints: { readonly renamedColumns?: Readonly<Record<string, string>>; readonly renamedTo?: string } = {},
): DdlChange[] {
  if (after === null) {
    if (before === null) return [];
    return hints.renamedTo === undefined ? [{ kind: 'drop-table' }] : [{ kind: 'rename-table', to: hints.renamedTo }];
  }
  if (before === null) return [{ kind: 'create-table' }];
  const old = new Map(before.columns.map((c) => [c.name, c]));
  const renamed = new Set<string>();
  const changes: DdlChange[] = [];
  for (const column of after.columns) {
    let previous = old.get(column.name);
    const from = hints.renamedColumns?.[column.name];
    if (previous === undefined && from !== undefined && old.has(from)) {
      previous = old.get(from) as ColumnSchema;
      renamed.add(from);
      changes.push({ kind: 'rename-column', from, column });
    }
    if (previous === undefined) {
      changes.push({ kind: 'add-column', column });
      continue;
    }
    const change = compareTypes(previous.type, column.type);
    if (change !== 'same') changes.push({ kind: 'change-type', column, from: previous, change });
    if (previous.nullable !== column.nullable)
      changes.push({ kind: 'change-nullability', column, nullable: column.nullable });
    if (previous.default !== column.default) {
      changes.push({
        kind: 'change-default',
        column,
        ...(previous.default === undefined ? {} : { from: previous.default }),
        ...(column.default === undefined ? {} : { to: column.default }),
      });
    }
  }
  const current = new Set(after.columns.map((c) => c.name));
  for (const column of before.columns) {
    if (!current.has(column.name) && !renamed.has(column.name)) changes.push({ kind: 'drop-column', column });
  }
  return changes;
}

/** Digits an integer type needs as a decimal. */
const INTEGER_DIGITS = { int16: 5, int32: 10, int64: 19, uint64: 20 } as const;
const INTEGER_RANK = { int16: 1, int32: 2, int64: 3 } as const;
/** Fractional-second digits when a type gives none (Postgres and the sinks' mapping use 6). */
const MAX_PRECISION = 6;

/**
 * How a value of `from` fits `to` (see {@link TypeChange}); `same` when the logical types are equal
 * (a native change that maps to the same logical type, e.g. `inet` → `cidr`, needs nothing in a sink).
 */
export function compareTypes(from: LogicalType, to: LogicalType): TypeChange | 'same' {
  if (sameType(from, to)) return 'same';
  if (holds(to, from)) return 'widening';
  if (holds(from, to)) return 'narrowing';
  return 'incompatible';
}

function sameType(a: LogicalType, b: LogicalType): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** True when every value of `inner` is a value of `outer`, exactly. */
function holds(outer: LogicalType, inner: LogicalType): boolean {
  if (sameType(outer, inner)) return true;
  switch (outer.kind) {
    case 'int16':
    case 'int32':
    case 'int64':
      return inner.kind in INTEGER_RANK && INTEGER_RANK[inner.kind as 'int16'] <= INTEGER_RANK[outer.kind];
    case 'uint64':
      return false;
    case 'float64':
      // A double holds every integer up to 2^53 and every float exactly.
      return inner.kind === 'float32' || inner.kind === 'int16' || inner.kind === 'int32';
    case 'decimal': {
      if (inner.kind === 'decimal') {
        if (outer.precision === undefined) return true;
        if (inner.precision === undefined) return false;
        const [os, is] = [outer.scale ?? 0, inner.scale ?? 0];
        return os >= is && outer.precision - os >= inner.precision - is;
      }
      if (inner.kind in INTEGER_DIGITS) {
        const digits = INTEGER_DIGITS[inner.kind as keyof typeof INTEGER_DIGITS];
        return outer.precision === undefined || outer.precision - (outer.scale ?? 0) >= digits;
      }
      return false;
    }
    case 'string':
      return inner.kind === 'string' && (outer.length === undefined || (inner.length ?? Infinity) <= outer.length);
    case 'bytes':
      return inner.kind === 'bytes' && (outer.length === undefined || (inner.length ?? Infinity) <= outer.length);
    case 'time':
      return (
        inner.kind === 'time' &&
        (inner.withTimeZone ?? false) === (outer.withTimeZone ?? false) &&
        (inner.precision ?? MAX_PRECISION) <= (outer.precision ?? MAX_PRECISION)
      );
    case 'timestamp':
    case 'timestamptz':
      return inner.kind === outer.kind && (inner.precision ?? MAX_PRECISION) <= (outer.precision ?? MAX_PRECISION);
    case 'enum':
    case 'set':
      return inner.kind === outer.kind && inner.values.every((v) => outer.values.includes(v));
    case 'bits':
      if (inner.kind !== 'bits' || !(outer.varying ?? false)) return false;
      return outer.length === undefined || (inner.length ?? Infinity) <= outer.length;
    case 'array':
      return inner.kind === 'array' && holds(outer.element, inner.element);
    default:
      return false;
  }
}

/**
 * A column default that is a plain constant, as SQL text both Postgres and MySQL read the same way
 * (`42`, `-1.5`, `'text'`, `TRUE`); null for an expression (`now()`, `nextval(…)`) or no default.
 * Reads the forms the adapters report: Postgres `'abc'::character varying`, MariaDB `'abc'`.
 */
export function constantDefault(expression: string | undefined): string | null {
  if (expression === undefined) return null;
  const text = expression.trim();
  if (/^\(?-?\d+(\.\d+)?([eE][+-]?\d+)?\)?$/.test(text)) return text.replace(/^\((.*)\)$/, '$1');
  if (/^(true|false)$/i.test(text)) return text.toUpperCase();
  const quoted = /^'((?:[^'\\]|'')*)'(?:::[a-z_][\w\s"().,[\]]*)?$/i.exec(text);
  if (quoted?.[1] !== undefined) return `'${quoted[1]}'`;
  return null;
}
