import type {
  Checkpoint,
  ColumnSchema,
  EventBatch,
  LogicalType,
  Row,
  SinkLogger,
  SourceEvent,
  SourceInfo,
  TableId,
  TableSchema,
} from '@highwater/core';
import { diffTableSchemas } from '@highwater/core';
import type { Random } from '../support/random.js';

/** The schema the suite's tables live in at the source. */
export const SOURCE_SCHEMA = 'cf';

function column(name: string, type: LogicalType, nullable = true): ColumnSchema {
  return { name, type, nativeType: type.kind, nullable };
}

/** `cf.items`: a one-column integer key. */
export const ITEMS: TableSchema = {
  id: { schema: SOURCE_SCHEMA, name: 'items' },
  columns: [
    column('id', { kind: 'int64' }, false),
    column('name', { kind: 'string', length: 100 }),
    column('qty', { kind: 'int32' }),
    column('price', { kind: 'decimal', precision: 12, scale: 2 }),
  ],
  primaryKey: ['id'],
  chunkKey: ['id'],
};

/** `cf.orders`: a two-column key, text first. */
export const ORDERS: TableSchema = {
  id: { schema: SOURCE_SCHEMA, name: 'orders' },
  columns: [
    column('region', { kind: 'string', length: 20 }, false),
    column('no', { kind: 'int32' }, false),
    column('status', { kind: 'string', length: 20 }),
  ],
  primaryKey: ['region', 'no'],
  chunkKey: ['region', 'no'],
};

export function qualified(table: TableSchema): string {
  return `${table.id.schema}.${table.id.name}`;
}

/** The checkpoint of the `n`th batch (1-based) of a case: its position is `n`. */
export function checkpointAt(position: number): Checkpoint {
  return { version: 1, connector: 'conformance', position, complete: false, tables: {} };
}

/** The position of a checkpoint the suite wrote (0 for none). */
export function positionOf(checkpoint: Checkpoint | null): number {
  if (checkpoint === null) return 0;
  if (typeof checkpoint.position !== 'number') {
    throw new Error(`the stored checkpoint is not one the suite wrote: ${JSON.stringify(checkpoint)}`);
  }
  return checkpoint.position;
}

/**
 * Builds a case's batches: events as a source emits them (keys, before images, source info), each
 * batch with the next checkpoint. Keeps the tables' current schemas, so a case can add a column.
 */
export class Workload {
  readonly batches: EventBatch[] = [];
  /** The tables as of the end of each batch (same index as `batches`). */
  readonly #schemas: TableSchema[][] = [];
  readonly #tables = new Map<string, TableSchema>();
  #pending: SourceEvent[] = [];
  #offset = 0;

  readonly #initial: TableSchema[];

  constructor(tables: readonly TableSchema[] = [ITEMS, ORDERS]) {
    for (const t of tables) this.#tables.set(qualified(t), t);
    this.#initial = [...tables];
  }

  /** The tables as of the last schema change added. */
  get tables(): TableSchema[] {
    return [...this.#tables.values()];
  }

  read(table: TableSchema, row: Row): this {
    return this.#change(table, 'r', null, row);
  }

  insert(table: TableSchema, row: Row): this {
    return this.#change(table, 'c', null, row);
  }

  /** An update from `before` (whose key may differ: a key change moves the row) to `after`. */
  update(table: TableSchema, before: Row, after: Row): this {
    return this.#change(table, 'u', before, after);
  }

  delete(table: TableSchema, before: Row): this {
    return this.#change(table, 'd', before, null);
  }

  truncate(table: TableSchema): this {
    this.#pending.push({ kind: 'truncate', table: qualified(table), source: this.#info(table, false) });
    return this;
  }

  /** The tables as of the end of the first `batches` batches (the initial ones for 0). */
  tablesAfter(batches: number): TableSchema[] {
    return batches === 0 ? this.#initial : (this.#schemas[batches - 1] ?? this.tables);
  }

  /** Adds a nullable column to `table` (what later rows of it carry). Returns the new schema. */
  addColumn(table: TableSchema, name: string, type: LogicalType): TableSchema {
    const current = this.#tables.get(qualified(table)) ?? table;
    const schema: TableSchema = { ...current, columns: [...current.columns, column(name, type)] };
    this.#tables.set(qualified(table), schema);
    this.#pending.push({
      kind: 'schema',
      table: qualified(table),
      schema,
      before: current,
      changes: diffTableSchemas(current, schema),
      ddl: `ALTER TABLE ${qualified(table)} ADD COLUMN ${name}`,
      source: this.#info(table, false),
    });
    return schema;
  }

  /** Closes the events added since the last call into a batch with the next checkpoint. */
  commit(): this {
    this.batches.push({ events: this.#pending, checkpoint: checkpointAt(this.batches.length + 1) });
    this.#schemas.push(this.tables);
    this.#pending = [];
    return this;
  }

  #change(table: TableSchema, op: 'r' | 'c' | 'u' | 'd', before: Row | null, after: Row | null): this {
    const key = Object.fromEntries(table.primaryKey.map((k) => [k, (after ?? before)?.[k] ?? null]));
    this.#pending.push({
      kind: 'change',
      op,
      key,
      before,
      after,
      beforeImage: before === null ? 'none' : 'full',
      unknownColumns: [],
      source: this.#info(table, op === 'r'),
    });
    return this;
  }

  #info(table: TableSchema, snapshot: boolean): SourceInfo {
    return {
      connector: 'conformance',
      table: qualified(table),
      tableId: table.id,
      opTs: 0,
      offset: ++this.#offset,
      txId: null,
      snapshot,
    };
  }
}

/** An `items` row for key `id`, its values drawn from `random`. */
export function itemRow(id: number, random: Random): Row {
  return {
    id,
    name: `item ${id} ${random.pick(['red', 'green', 'blue', 'tab\there', 'quote\'"', 'back\\slash', 'line\nbreak', 'ünïcødé ✓'])}`,
    qty: random.chance(0.1) ? null : random.between(-1000, 100_000),
    price: `${random.between(0, 99_999)}.${String(random.between(0, 99)).padStart(2, '0')}`,
  };
}

export function orderRow(region: string, no: number, random: Random): Row {
  return { region, no, status: random.pick(['new', 'paid', 'sent', null]) };
}

/**
 * A `describeTables` answering from a case's tables (by table name), for sinks that create target
 * tables from the source's definitions.
 */
export function describeFrom(tables: readonly TableSchema[]): (ids: readonly TableId[]) => Promise<TableSchema[]> {
  return async (ids) =>
    ids.map((id) => {
      const found = tables.find((t) => t.id.name === id.name);
      if (found === undefined) throw new Error(`sink conformance: the case has no table ${id.name}`);
      return found;
    });
}

/** A logger that drops everything: sinks under the suite log to nowhere. */
export const silentLogger: SinkLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
