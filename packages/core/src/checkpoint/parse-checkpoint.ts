import { CheckpointError } from '../errors/errors.js';
import type { TableSchema } from '../schema/table-schema.js';
import type { JsonValue } from '../values/value.js';
import type { Checkpoint, SplitterState, StoredSplit, TableCheckpoint } from './checkpoint.js';

/**
 * Checks that `json` is a {@link Checkpoint} and returns a fresh deep copy of it holding only the
 * known fields (unknown fields are dropped, so a checkpoint written by a later minor version with
 * extra fields still loads).
 *
 * Throws a `CheckpointError` naming `where` (a file path, or what the value is), the field
 * (`tables["public.users"].splitter.nextIndex`) and what was found there.
 */
export function parseCheckpoint(json: unknown, where: string): Checkpoint {
  return new Parser(where).checkpoint(json);
}

type Fields = { readonly [key: string]: unknown };

/** Where a value is in the checkpoint, or how to say it (built only for an error message). */
type Path = string | (() => string);

const pathText = (path: Path): string => (typeof path === 'string' ? path : path());

class Parser {
  constructor(private readonly where: string) {}

  checkpoint(json: unknown): Checkpoint {
    if (!isPlainObject(json)) this.fail('the checkpoint', 'a JSON object', json);
    if (json.version !== 1) this.fail('version', '1 (the only checkpoint format this release reads)', json.version);
    const connector = this.string(json.connector, 'connector');
    if (connector === '') this.fail('connector', 'the adapter name', connector);
    const position = this.json(json.position, 'position');
    const complete = this.boolean(json.complete, 'complete');
    const rawTables = json.tables;
    if (!isPlainObject(rawTables)) this.fail('tables', 'an object of table name to table progress', rawTables);
    const tables = Object.fromEntries(
      Object.entries(rawTables).map(([name, table]) => [name, this.table(table, `tables[${JSON.stringify(name)}]`)]),
    );
    const rawSchemas = json.schemas;
    if (rawSchemas === undefined) return { version: 1, connector, position, complete, tables };
    if (!isPlainObject(rawSchemas)) this.fail('schemas', 'an object of table name to table definition', rawSchemas);
    const schemas = Object.fromEntries(
      Object.entries(rawSchemas).map(([name, schema]) => [
        name,
        this.schema(schema, `schemas[${JSON.stringify(name)}]`),
      ]),
    );
    return { version: 1, connector, position, complete, tables, schemas };
  }

  /** A table definition: the fields the source relies on are checked; the rest is copied as JSON. */
  private schema(json: unknown, path: string): TableSchema {
    if (!isPlainObject(json)) this.fail(path, 'an object', json);
    if (!isPlainObject(json.id)) this.fail(`${path}.id`, 'an object', json.id);
    this.string(json.id.name, `${path}.id.name`);
    if (!Array.isArray(json.columns)) this.fail(`${path}.columns`, 'an array of columns', json.columns);
    json.columns.forEach((column: unknown, i) => {
      const at = `${path}.columns[${i}]`;
      if (!isPlainObject(column)) this.fail(at, 'an object', column);
      this.string(column.name, `${at}.name`);
      this.string(column.nativeType, `${at}.nativeType`);
      this.boolean(column.nullable, `${at}.nullable`);
      if (!isPlainObject(column.type)) this.fail(`${at}.type`, 'a logical type object', column.type);
      this.string(column.type.kind, `${at}.type.kind`);
      if (column.default !== undefined) this.string(column.default, `${at}.default`);
    });
    for (const field of ['primaryKey', 'chunkKey'] as const) {
      const names = json[field];
      if (!Array.isArray(names)) this.fail(`${path}.${field}`, 'an array of column names', names);
      names.forEach((name: unknown, i) => {
        this.string(name, `${path}.${field}[${i}]`);
      });
    }
    return this.json(json, path) as unknown as TableSchema;
  }

  private table(json: unknown, path: string): TableCheckpoint {
    if (!isPlainObject(json)) this.fail(path, 'an object', json);
    if (json.phase === 'stream') return { phase: 'stream' };
    if (json.phase !== 'snapshot') this.fail(`${path}.phase`, "'snapshot' or 'stream'", json.phase);
    const splitter = this.splitter(json.splitter, `${path}.splitter`);
    if (!Array.isArray(json.unfinished)) this.fail(`${path}.unfinished`, 'an array of splits', json.unfinished);
    const unfinished = json.unfinished.map((split, i) => this.split(split, `${path}.unfinished[${i}]`));
    const seen = new Set<number>();
    unfinished.forEach((split, i) => {
      const at = `${path}.unfinished[${i}].index`;
      if (split.index >= splitter.nextIndex)
        this.fail(
          at,
          `below the splitter's nextIndex (${splitter.nextIndex}): only produced splits can be unfinished`,
          split.index,
        );
      if (seen.has(split.index)) this.fail(at, 'unique among the unfinished splits', split.index);
      seen.add(split.index);
    });
    return {
      phase: 'snapshot',
      splitter,
      unfinished,
      splitsDone: this.count(json.splitsDone, `${path}.splitsDone`),
      rowsRead: this.count(json.rowsRead, `${path}.rowsRead`),
    };
  }

  private splitter(json: unknown, path: string): SplitterState {
    if (!isPlainObject(json)) this.fail(path, 'an object', json);
    return {
      nextIndex: this.count(json.nextIndex, `${path}.nextIndex`),
      nextStart: this.json(json.nextStart, `${path}.nextStart`),
      done: this.boolean(json.done, `${path}.done`),
      strategy: this.strategy(json.strategy, `${path}.strategy`),
    };
  }

  private strategy(json: unknown, path: string): SplitterState['strategy'] {
    if (!isPlainObject(json)) this.fail(path, 'an object', json);
    switch (json.kind) {
      case 'undecided':
        return { kind: 'undecided' };
      case 'walk':
        return { kind: 'walk' };
      case 'even':
        return {
          kind: 'even',
          step: this.string(json.step, `${path}.step`),
          max: this.string(json.max, `${path}.max`),
        };
      default:
        return this.fail(`${path}.kind`, "'undecided', 'even' or 'walk'", json.kind);
    }
  }

  private split(json: unknown, path: string): StoredSplit {
    if (!isPlainObject(json)) this.fail(path, 'an object', json);
    return {
      index: this.count(json.index, `${path}.index`),
      start: this.json(json.start, `${path}.start`),
      end: this.json(json.end, `${path}.end`),
    };
  }

  private string(json: unknown, path: string): string {
    if (typeof json !== 'string') this.fail(path, 'a string', json);
    return json;
  }

  private boolean(json: unknown, path: string): boolean {
    if (typeof json !== 'boolean') this.fail(path, 'true or false', json);
    return json;
  }

  private count(json: unknown, path: string): number {
    if (typeof json !== 'number' || !Number.isSafeInteger(json) || json < 0)
      this.fail(path, 'a non-negative integer', json);
    return json;
  }

  /**
   * A JSON value, copied; `undefined` (a missing field) is refused rather than read as null. A
   * nested value's path is built only if it fails: the definitions make a checkpoint thousands of
   * values, checked on every save by the file store, and building each path cost most of the check.
   */
  private json(json: unknown, path: Path, ancestors: unknown[] = []): JsonValue {
    if (json === null || typeof json === 'string' || typeof json === 'boolean') return json;
    if (typeof json === 'number') {
      if (!Number.isFinite(json)) this.fail(pathText(path), 'JSON (a finite number)', json);
      return json;
    }
    if (typeof json !== 'object' || (!Array.isArray(json) && !isPlainObject(json)))
      this.fail(pathText(path), 'JSON', json);
    if (ancestors.includes(json)) this.fail(pathText(path), 'JSON (not a cyclic structure)', json);
    ancestors.push(json);
    try {
      if (Array.isArray(json)) {
        const items: JsonValue[] = new Array(json.length);
        for (let i = 0; i < json.length; i++) items[i] = this.json(json[i], () => `${pathText(path)}[${i}]`, ancestors);
        return items;
      }
      const fields: { [key: string]: JsonValue } = {};
      for (const key of Object.keys(json)) {
        const value = this.json(json[key], () => `${pathText(path)}[${JSON.stringify(key)}]`, ancestors);
        // A plain assignment to `__proto__` would set the prototype instead of a field.
        if (key === '__proto__')
          Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
        else fields[key] = value;
      }
      return fields;
    } finally {
      ancestors.pop();
    }
  }

  private fail(path: string, expected: string, found: unknown): never {
    throw new CheckpointError(`${this.where}: ${path} must be ${expected}, found ${describe(found)}`);
  }
}

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How a found value reads in an error message: short, and unambiguous about its type. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const quoted = JSON.stringify(value);
    return quoted.length > 60 ? `the string ${quoted.slice(0, 57)}..."` : `the string ${quoted}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `the bigint ${value}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
  }
  return `a ${typeof value}`;
}
