import {
  type ColumnSchema,
  JsonText,
  type Key,
  type LogicalType,
  type Row,
  type TableId,
  type TableSchema,
  type Value,
} from '@highwater/core';
import { BSON, Binary, Decimal128, type Document, Double, Int32, Long, UUID } from 'mongodb';
import { plainDecimal } from '../bson/decimal-text.js';
import { bsonToValue, uuidText, valueToBson } from './document-form.js';
import { bsonDocumentJson, bsonJson } from './document-json.js';

/**
 * How the documents of one collection become rows — the one module that decides it.
 *
 * - `document` (any collection): two columns, `_id` (the key, in the form of `document-form.ts`) and
 *   `document` (every other field, as JSON text: a core `JsonText`, see `document-json.ts`). Nothing is
 *   lost, whatever the documents hold.
 * - `fields` (a collection whose `$jsonSchema` validator declares `properties` and
 *   `additionalProperties: false`, so every field is known): one column per declared top-level field,
 *   typed from its `bsonType`. When `_id` is declared as an object with `properties` (a compound
 *   `_id` such as `{region, seq}`), its fields are the key columns; otherwise `_id` is.
 *
 * Keys are compared and queried as the `_id` value they come from (see `idOf`), so a range of
 * compound keys is a range of `_id` documents — which holds when every `_id` lists its fields in the
 * declared order (the server compares documents field by field, in stored order).
 */
export interface CollectionRows {
  readonly schema: TableSchema;
  readonly shape: 'document' | 'fields';
  /** The row of a whole document. */
  rowOf(doc: Document): Row;
  /** The chunk key of an `_id`. */
  keyOf(id: unknown): Key;
  /** The `_id` of a chunk key (inverse of {@link keyOf}). */
  idOf(key: Key): unknown;
  /** The key columns of an `_id`, as a row (a delete's key-only before-image). */
  keyRowOf(id: unknown): Row;
}

/** The `$jsonSchema` of a collection's validator, as `listCollections` reports it in `options.validator`. */
interface JsonSchema {
  readonly bsonType?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
}

/** The table schema of a collection from its `listCollections` options. `forceDocument` ignores any validator. */
export function describeCollection(id: TableId, options: Document | undefined, forceDocument = false): TableSchema {
  const json = (options?.validator as Document | undefined)?.$jsonSchema as JsonSchema | undefined;
  if (forceDocument || json?.properties === undefined || json.additionalProperties !== false) {
    return {
      id,
      columns: [
        { name: '_id', type: ANY_ID, nativeType: 'bson', nullable: false },
        { name: 'document', type: { kind: 'json' }, nativeType: DOCUMENT, nullable: false },
      ],
      primaryKey: ['_id'],
      chunkKey: ['_id'],
    };
  }
  const properties = json.properties;
  const required = new Set(json.required ?? []);
  const idSchema = properties._id;
  const compound = idSchema !== undefined && firstType(idSchema) === 'object' && idSchema.properties !== undefined;
  const keyColumns = compound
    ? Object.entries(idSchema.properties ?? {}).map(([name, s]) => column(name, s, false))
    : [idColumn(idSchema ?? { bsonType: 'objectId' })];
  const others = Object.entries(properties)
    .filter(([name]) => name !== '_id')
    .map(([name, s]) => column(name, s, !required.has(name)));
  const keyNames = keyColumns.map((c) => c.name);
  return { id, columns: [...keyColumns, ...others], primaryKey: keyNames, chunkKey: keyNames };
}

/** `nativeType` of the `document` column of the document shape (not a BSON type name, so never mistaken for a field). */
const DOCUMENT = 'highwater:document';

const models = new WeakMap<TableSchema, CollectionRows>();

/** The row model of a table schema from {@link describeCollection} (works on any copy of it: it reads the columns). */
export function rowsOf(schema: TableSchema): CollectionRows {
  let model = models.get(schema);
  if (model === undefined) {
    model = schema.columns.some((c) => c.nativeType === DOCUMENT) ? documentRows(schema) : fieldRows(schema);
    models.set(schema, model);
  }
  return model;
}

function documentRows(schema: TableSchema): CollectionRows {
  const name = schema.columns.find((c) => c.nativeType === DOCUMENT)?.name ?? 'document';
  return {
    schema,
    shape: 'document',
    rowOf(doc) {
      return { _id: bsonToValue(doc._id), [name]: bsonDocumentJson(doc, '_id') };
    },
    keyOf: (value) => [bsonToValue(value)],
    idOf: (key) => valueToBson(key[0] ?? null),
    keyRowOf: (value) => ({ _id: bsonToValue(value) }),
  };
}

/** A declared field: its column, and how its values convert. */
interface Field {
  readonly column: ColumnSchema;
  readonly bsonType: string;
}

function fieldRows(schema: TableSchema): CollectionRows {
  const fieldOf = (c: ColumnSchema): Field => ({ column: c, bsonType: c.nativeType });
  const keyFields = schema.primaryKey.map((name) => {
    const c = schema.columns.find((x) => x.name === name);
    if (c === undefined) throw new TypeError(`key column ${name} is not a column of ${schema.id.name}`);
    return fieldOf(c);
  });
  const compound = !(keyFields.length === 1 && keyFields[0]?.column.name === '_id');
  const keyNames = new Set(schema.primaryKey);
  const others = schema.columns.filter((c) => !keyNames.has(c.name)).map(fieldOf);

  const keyOf = (value: unknown): Key => {
    if (!compound) return [fieldValue(keyFields[0] as Field, value)];
    const doc = (value ?? {}) as Document;
    return keyFields.map((f) => fieldValue(f, doc[f.column.name]));
  };
  const idOf = (key: Key): unknown => {
    if (!compound) return fieldBson(keyFields[0] as Field, key[0] ?? null);
    const doc: Record<string, unknown> = {};
    keyFields.forEach((f, i) => {
      doc[f.column.name] = fieldBson(f, key[i] ?? null);
    });
    return doc;
  };
  const keyRowOf = (value: unknown): Row => {
    const key = keyOf(value);
    const row: Record<string, Value> = {};
    keyFields.forEach((f, i) => {
      row[f.column.name] = key[i] ?? null;
    });
    return row;
  };
  return {
    schema,
    shape: 'fields',
    rowOf(doc) {
      const row = keyRowOf(doc._id) as Record<string, Value>;
      for (const f of others) row[f.column.name] = fieldValue(f, doc[f.column.name]);
      return row;
    },
    keyOf,
    idOf,
    keyRowOf,
  };
}

function firstType(s: JsonSchema): string {
  const t = s.bsonType;
  if (t === undefined) return 'any';
  if (typeof t === 'string') return t;
  return t.find((x) => x !== 'null') ?? 'null';
}

const LOGICAL: Readonly<Record<string, LogicalType>> = {
  int: { kind: 'int32' },
  long: { kind: 'int64' },
  double: { kind: 'float64' },
  decimal: { kind: 'decimal' },
  string: { kind: 'string' },
  bool: { kind: 'boolean' },
  date: { kind: 'timestamptz', precision: 3 },
  binData: { kind: 'bytes' },
  object: { kind: 'json' },
  array: { kind: 'json' },
};

/**
 * The type of an `_id` that may hold values of several BSON types: JSON, so a target stores its
 * JSON text (`1`, `"1"`, `{"$oid":"…"}`) and `_id`s of different types never share a text there
 * (as `other`, text, the number 1 and the string '1' were both `1`). `normalised`: BSON keeps no
 * text of its own, and a Postgres target then uses `jsonb`, which has the equality a key needs.
 */
const ANY_ID: LogicalType = { kind: 'json', normalised: true };

/** The `_id` column of the fields shape: JSON when the validator allows several types (or says none). */
function idColumn(s: JsonSchema): ColumnSchema {
  const types = (typeof s.bsonType === 'string' ? [s.bsonType] : (s.bsonType ?? [])).filter((t) => t !== 'null');
  const c = column('_id', s, false);
  return types.length === 1 ? c : { ...c, type: ANY_ID };
}

function column(name: string, s: JsonSchema, nullable: boolean): ColumnSchema {
  const bsonType = firstType(s);
  const types = typeof s.bsonType === 'string' ? [s.bsonType] : (s.bsonType ?? []);
  return {
    name,
    type: LOGICAL[bsonType] ?? { kind: 'other' },
    nativeType: bsonType,
    nullable: nullable || types.includes('null'),
  };
}

/**
 * A field's value as its column carries it: decimals as exact strings, dates as ISO-8601 strings,
 * a UUID binary (subtype 4) as a UUID string; anything else (and a value of another type than
 * declared) in the form of `document-form.ts`. An absent field is `null`.
 */
function fieldValue(f: Field, v: unknown): Value {
  if (v === undefined || v === null) return null;
  switch (f.bsonType) {
    case 'object':
    case 'array':
      return bsonJson(v);
    case 'decimal':
      if ((v as { _bsontype?: string })._bsontype === 'Decimal128') return plainDecimal((v as Decimal128).toString());
      break;
    case 'date':
      if (v instanceof Date) return v.toISOString();
      break;
    case 'binData': {
      const b = v as Binary;
      if (b._bsontype === 'Binary' && b.sub_type === Binary.SUBTYPE_UUID && b.position === 16) return uuidText(b);
      break;
    }
  }
  return bsonToValue(v);
}

/** Inverse of {@link fieldValue}: the BSON value a column value is stored as. */
function fieldBson(f: Field, v: Value): unknown {
  if (v === null) return null;
  // Extended JSON text (a JSON-kind column): its BSON, numbers typed as they are written.
  if (v instanceof JsonText) return BSON.EJSON.parse(v.text, { relaxed: false });
  switch (f.bsonType) {
    case 'decimal':
      if (typeof v === 'string') return Decimal128.fromString(v);
      break;
    case 'date':
      if (typeof v === 'string') return new Date(v);
      break;
    case 'binData':
      if (typeof v === 'string') return new UUID(v);
      break;
    case 'long':
      if (typeof v === 'number' || typeof v === 'bigint') return Long.fromBigInt(BigInt(v));
      break;
    case 'int':
      if (typeof v === 'number') return new Int32(v);
      break;
    case 'double':
      if (typeof v === 'number') return new Double(v);
      break;
  }
  return valueToBson(v);
}

/** The BSON value of a column value (for writers that hold rows, e.g. the test harness). */
export function columnBson(schema: TableSchema, columnName: string, v: Value): unknown {
  const c = schema.columns.find((x) => x.name === columnName);
  if (c === undefined) throw new TypeError(`${columnName} is not a column of ${schema.id.name}`);
  return fieldBson({ column: c, bsonType: c.nativeType }, v);
}
