import type { ColumnSchema, Key, LogicalType, Row, TableId, TableSchema, Value } from '@highwater/core';
import { canonicalValue, nativeTypeName } from './column-types.js';
import { compareValues } from './compare.js';
import { MemoryDatabaseError } from './errors.js';
import { SortedMap } from './sorted-map.js';

/** A column as given to `createTable` or `alterTable`. */
export interface ColumnDefinition {
  readonly name: string;
  readonly type: LogicalType;
  /** Defaults to true; primary-key columns are never nullable. */
  readonly nullable?: boolean;
  /** Defaults to the memory database's name for `type`, e.g. `decimal(10,2)`. */
  readonly nativeType?: string;
  /** Stored when an insert leaves the column out, and in existing rows when the column is added. Defaults to null. */
  readonly default?: Value;
}

/** What `createTable` takes. */
export interface TableDefinition {
  /** Qualified name: `schema.table` (or `table`, or `database.schema.table`). */
  readonly name: string;
  readonly columns: readonly ColumnDefinition[];
  /** Primary-key column names in key order. Leave out (or empty) for a table without a key. */
  readonly primaryKey?: readonly string[];
}

/** Splits a qualified name into a `TableId` whose `tableName()` is the same string. */
export function parseTableName(name: string): TableId {
  const parts = name.split('.');
  if (parts.some((p) => p.length === 0) || parts.length > 3) {
    throw new MemoryDatabaseError('invalid_definition', `invalid table name "${name}": expected "schema.table"`);
  }
  if (parts.length === 1) return { name };
  if (parts.length === 2) return { schema: parts[0] as string, name: parts[1] as string };
  return { database: parts[0] as string, schema: parts[1] as string, name: parts[2] as string };
}

/**
 * One table: its definition and its *visible* rows, keyed by primary key in key order.
 *
 * Rows are stored with exactly the table's columns, in column order, with canonical values, and are
 * never mutated afterwards: the same object is in the table and in the change log, and is handed to
 * readers as is. A table without a primary key keys its rows by a hidden row id, returned by insert.
 */
export class MemoryTable {
  readonly name: string;
  readonly id: TableId;
  readonly primaryKey: readonly string[];
  readonly rows = new SortedMap<Row>();
  private columnList: ColumnSchema[];
  private defaults: Value[];
  private byName: Map<string, number>;
  private currentSchema: TableSchema;
  private nextRowId = 1;

  constructor(definition: TableDefinition) {
    this.name = definition.name;
    this.id = parseTableName(definition.name);
    this.primaryKey = [...(definition.primaryKey ?? [])];
    this.columnList = [];
    this.defaults = [];
    this.byName = new Map();
    if (definition.columns.length === 0) {
      throw new MemoryDatabaseError('invalid_definition', `table ${this.name}: a table needs at least one column`);
    }
    for (const c of definition.columns) this.addColumnDefinition(c);
    for (const k of this.primaryKey) {
      if (!this.byName.has(k)) {
        throw new MemoryDatabaseError(
          'invalid_definition',
          `table ${this.name}: primary key column "${k}" is not a column`,
        );
      }
    }
    if (new Set(this.primaryKey).size !== this.primaryKey.length) {
      throw new MemoryDatabaseError('invalid_definition', `table ${this.name}: primary key names a column twice`);
    }
    this.currentSchema = this.buildSchema();
  }

  /** The definition in the core's terms; the chunk key is the primary key. A new object after each change. */
  get schema(): TableSchema {
    return this.currentSchema;
  }

  get columns(): readonly ColumnSchema[] {
    return this.columnList;
  }

  /** True when the table has no primary key and rows are keyed by a hidden row id. */
  get keyless(): boolean {
    return this.primaryKey.length === 0;
  }

  /** The primary key of a stored row. Not for keyless tables (their key is not in the row). */
  keyOf(row: Row): Key {
    const pk = this.primaryKey;
    if (pk.length === 1) return [row[pk[0] as string] as Value];
    const key: Value[] = new Array(pk.length);
    for (let i = 0; i < pk.length; i++) key[i] = row[pk[i] as string] as Value;
    return key;
  }

  /** True when a stored row's primary key equals `key` (no allocation: the update path calls it for every row). */
  hasKey(row: Row, key: Key): boolean {
    const pk = this.primaryKey;
    for (let i = 0; i < pk.length; i++) {
      if (compareValues(row[pk[i] as string] as Value, key[i] as Value) !== 0) return false;
    }
    return true;
  }

  /** The key a new row is stored under: its primary key, or a fresh row id for a keyless table. */
  keyForNewRow(row: Row): Key {
    return this.keyless ? [this.nextRowId++] : this.keyOf(row);
  }

  /** Validates a key given by a caller and returns it canonical (so `[1n]` finds the row stored as `[1]`). */
  checkKey(key: Key): Key {
    if (!Array.isArray(key)) {
      throw new MemoryDatabaseError('invalid_key', `${this.name}: a key is an array of values, got ${String(key)}`);
    }
    if (this.keyless) {
      if (key.length !== 1 || typeof key[0] !== 'number') {
        throw new MemoryDatabaseError('invalid_key', `${this.name} has no primary key: use the row id insert returned`);
      }
      return key;
    }
    if (key.length !== this.primaryKey.length) {
      throw new MemoryDatabaseError(
        'invalid_key',
        `${this.name}: key has ${key.length} values, primary key (${this.primaryKey.join(', ')}) has ${this.primaryKey.length}`,
      );
    }
    let out: Value[] | undefined;
    for (let i = 0; i < key.length; i++) {
      const column = this.columnList[this.byName.get(this.primaryKey[i] as string) as number] as ColumnSchema;
      const v = key[i] as Value;
      const c = v === null ? undefined : canonicalValue(column.type, v);
      if (c === undefined) {
        throw new MemoryDatabaseError(
          'invalid_key',
          `${this.name}: ${describe(v)} is not a valid ${column.name} key value`,
        );
      }
      if (c !== v) {
        out ??= key.slice();
        out[i] = c;
      }
    }
    return out ?? key;
  }

  /** A stored row built from an insert's input: every column, in column order, defaults filled, values canonical. */
  rowForInsert(input: Row): Row {
    const out: Record<string, Value> = {};
    const columns = this.columnList;
    let given = 0;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as ColumnSchema;
      const v = input[column.name];
      if (v === undefined) {
        const d = this.defaults[i] as Value;
        if (d === null && !column.nullable) {
          throw new MemoryDatabaseError('not_null', `${this.name}.${column.name} is not nullable and has no default`);
        }
        out[column.name] = d;
      } else {
        given++;
        out[column.name] = this.checkValue(column, v);
      }
    }
    this.rejectUnknownColumns(input, given);
    return out;
  }

  /** The row after applying `changes` (a partial or whole row) to `old`. */
  rowForUpdate(old: Row, changes: Row): Row {
    const out: Record<string, Value> = { ...old };
    let given = 0;
    for (const name in changes) {
      const v = changes[name];
      if (v === undefined) continue;
      const index = this.byName.get(name);
      if (index === undefined) {
        throw new MemoryDatabaseError('unknown_column', `${this.name} has no column "${name}"`);
      }
      out[name] = this.checkValue(this.columnList[index] as ColumnSchema, v);
      given++;
    }
    return given === 0 ? old : out;
  }

  /** Adds a column at the end; existing rows get its default. */
  addColumn(definition: ColumnDefinition): void {
    if (this.byName.has(definition.name)) {
      throw new MemoryDatabaseError('invalid_definition', `${this.name} already has a column "${definition.name}"`);
    }
    const index = this.columnList.length;
    this.addColumnDefinition(definition);
    const column = this.columnList[index] as ColumnSchema;
    const value = this.defaults[index] as Value;
    if (value === null && !column.nullable) {
      this.removeColumnAt(index);
      throw new MemoryDatabaseError(
        'invalid_definition',
        `${this.name}.${column.name}: a non-nullable column needs a default`,
      );
    }
    this.rows.mapValues((row) => ({ ...row, [column.name]: value }));
    this.currentSchema = this.buildSchema();
  }

  /** Drops a column (not a primary-key column); existing rows lose it. */
  dropColumn(name: string): void {
    const index = this.byName.get(name);
    if (index === undefined) throw new MemoryDatabaseError('unknown_column', `${this.name} has no column "${name}"`);
    if (this.primaryKey.includes(name)) {
      throw new MemoryDatabaseError('invalid_definition', `${this.name}.${name} is part of the primary key`);
    }
    this.removeColumnAt(index);
    const columns = this.columnList;
    this.rows.mapValues((row) => {
      const out: Record<string, Value> = {};
      for (const c of columns) out[c.name] = row[c.name] as Value;
      return out;
    });
    this.currentSchema = this.buildSchema();
  }

  private checkValue(column: ColumnSchema, v: Value): Value {
    if (v === null) {
      if (!column.nullable) throw new MemoryDatabaseError('not_null', `${this.name}.${column.name} is not nullable`);
      return null;
    }
    const c = canonicalValue(column.type, v);
    if (c === undefined) {
      throw new MemoryDatabaseError(
        'invalid_value',
        `${this.name}.${column.name}: ${describe(v)} is not a valid ${column.nativeType} value`,
      );
    }
    return c;
  }

  private rejectUnknownColumns(input: Row, given: number): void {
    let present = 0;
    for (const name in input) if (input[name] !== undefined) present++;
    if (present === given) return;
    for (const name in input) {
      if (!this.byName.has(name))
        throw new MemoryDatabaseError('unknown_column', `${this.name} has no column "${name}"`);
    }
  }

  private addColumnDefinition(c: ColumnDefinition): void {
    if (c.name.length === 0 || this.byName.has(c.name)) {
      throw new MemoryDatabaseError(
        'invalid_definition',
        `table ${this.name}: column name "${c.name}" is empty or repeated`,
      );
    }
    const nullable = this.primaryKey.includes(c.name) ? false : (c.nullable ?? true);
    const column: ColumnSchema = {
      name: c.name,
      type: c.type,
      nativeType: c.nativeType ?? nativeTypeName(c.type),
      nullable,
    };
    const given = c.default ?? null;
    const d = given === null ? null : canonicalValue(c.type, given);
    if (d === undefined) {
      throw new MemoryDatabaseError(
        'invalid_definition',
        `${this.name}.${c.name}: default ${describe(given)} does not fit`,
      );
    }
    this.byName.set(c.name, this.columnList.length);
    this.columnList.push(column);
    this.defaults.push(d);
  }

  private removeColumnAt(index: number): void {
    this.columnList.splice(index, 1);
    this.defaults.splice(index, 1);
    this.byName = new Map(this.columnList.map((c, i) => [c.name, i]));
  }

  private buildSchema(): TableSchema {
    return { id: this.id, columns: [...this.columnList], primaryKey: this.primaryKey, chunkKey: this.primaryKey };
  }
}

function describe(v: Value): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}
