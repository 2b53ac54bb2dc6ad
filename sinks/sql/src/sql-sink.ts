import {
  type ChangeEvent,
  type Checkpoint,
  type ColumnSchema,
  ConfigError,
  constantDefault,
  type EventBatch,
  type JsonValue,
  type Row,
  SchemaChangeRefusedError,
  type SchemaChangeEvent,
  type Sink,
  SinkError,
  type SourceInfo,
  type TruncateEvent,
  type TableId,
  type TableSchema,
  tableName,
  UnrepresentableValueError,
  type Value,
} from '@highwater/core';
import type { SqlSinkConfig } from './sink-config.js';
import type { SinkContext } from '@highwater/core';
import { ArrayWriter, type ValueEncoder as Encoder } from './array-writer.js';
import { BatchPlan, type StatementGroup, type UpsertGroup } from './batch-plan.js';
import { CHECKPOINT_TABLE, readCheckpointRow } from './checkpoint-table.js';
import { type AcceptedSchemaChange, checkpointWithNotes, type RefusedSchemaChange } from './schema-acceptance.js';
import { type FreshRows, freshRows, plannedRows } from './fresh-rows.js';
import { type BulkLoad, type Dialect, keyInList, type SqlSession, type TargetColumn } from './dialect.js';
import { connectError, sinkError } from './sql-errors.js';
import {
  DEFAULT_SCHEMA_CHANGES,
  type SchemaChangesMode,
  type SourceDdl,
  type TargetAction,
  targetActions,
} from './schema-evolution.js';
import {
  keyColumnsOf,
  renamedRow,
  sharedColumns,
  type TargetTable,
  targetTableName,
  withActions,
  withSchema,
} from './target-table.js';
import { StatementQueue } from './statement-queue.js';
import { jsonText } from './value-text.js';
import { checkFence, createFenceTable, FENCE_TABLE, passFence } from './write-fence.js';

/**
 * What a SQL sink needs besides its configuration: the source's table definitions, to create target
 * tables with mapped types. Change events carry values, not types, so without `describeTables` the
 * sink can only write to tables it has seen a schema event for.
 */
export interface SqlSinkContext extends SinkContext {
  readonly describeTables?: (tables: readonly TableId[]) => Promise<readonly TableSchema[]>;
  /**
   * Every table the pipeline captures (with configured chunk keys): the first write creates a
   * target table for each, so an empty source table has an (empty) target table too.
   */
  readonly capturedTables?: () => Promise<readonly TableSchema[]>;
  /**
   * Orders two serialised source offsets (the adapter's codec; `sourceTableDescriber` gives it): an
   * accepted schema change (`highwater schema-change accept`) then applies only up to the refused
   * DDL's offset. Without it, an acceptance applies to the table's next refused change.
   */
  readonly compareOffsets?: (a: JsonValue, b: JsonValue) => number;
}

/** Rows per multi-row statement unless the sink's `batchSize` says otherwise. */
export const DEFAULT_STATEMENT_ROWS = 500;

/** Bytes of bulk-load data sent as one piece. */
const BULK_PIECE_BYTES = 262_144;

/** Rows of one table in a batch from which they are bulk-loaded (where the dialect can) rather than written with statements. */
export const BULK_MIN_ROWS = 64;

/**
 * Table replication into Postgres or MySQL with the source checkpoint stored in the same transaction
 * as the rows: `open` reads it back, so a restart resumes exactly after the last committed batch.
 */
export class SqlSink implements Sink {
  readonly storesCheckpoints = true;
  readonly name: string;
  private session: SqlSession | null = null;
  private schema: string | null = null;
  /** Source table name → what the target has, as of the last committed batch. */
  private tables = new Map<string, TargetTable>();
  /** Target tables known to exist: their columns, true where nullable (after a commit). */
  private ensured = new Map<string, ReadonlyMap<string, boolean>>();
  private checkpointTableReady = false;
  /** True once a fenced batch committed (the fence table exists); unfenced writes never touch it. */
  private fenceTableReady = false;
  /** Target tables found holding rows at the first start and warned about (existingRows: overwrite): warned once. */
  private readonly existingRowsChecked = new Set<string>();
  /** True once the first write created a target table for every captured table. */
  private capturedCreated = false;
  /** Stages made on this sink's connections (each gets a new name; they are dropped after use). */
  private stages = 0;
  /** True once the target refused a bulk load as not allowed at all (see `BulkLoad.isUnavailable`). */
  private bulkUnavailable = false;
  /** Value encoders per target table version (a schema change makes a new `TargetTable`) and column. */
  private readonly encoders = new WeakMap<TargetTable, Map<string, Encoder>>();
  /** A schema change refused at the stored checkpoint and not accepted yet: every write refuses it again. */
  private refused: RefusedSchemaChange | null = null;
  /** Refused schema changes the user let through (`highwater schema-change accept`), not used yet. */
  private accepted: readonly AcceptedSchemaChange[] = [];
  /** Acceptances the batch being written uses; dropped from `accepted` when it commits. */
  private acceptedInBatch = new Set<AcceptedSchemaChange>();
  /** Tables whose schema change the batch passes as `ignore` by an acceptance (written with the columns both sides have). */
  private ignoredInBatch = new Set<string>();
  /** The checkpoint stored in the target (from `open`, then each write): where a restart resumes. */
  private stored: Checkpoint | null = null;
  /** Upserts and deletes with array parameters, where the dialect has them. */
  private readonly arrays: ArrayWriter | null;

  constructor(
    private readonly dialect: Dialect,
    private readonly config: SqlSinkConfig,
    private readonly context: SqlSinkContext,
  ) {
    this.name = dialect.name;
    this.arrays = dialect.arrayStatements === undefined ? null : new ArrayWriter(dialect.arrayStatements);
  }

  async open(): Promise<Checkpoint | null> {
    const session = await this.connect();
    try {
      const stored = await readCheckpointRow(this.dialect, session, await this.targetSchema(session), this.pipeline);
      this.checkpointTableReady = stored !== null;
      this.stored = stored?.checkpoint ?? null;
      this.accepted = stored?.accepted ?? [];
      this.refused = stored?.refused ?? null;
      return this.stored;
    } catch (error) {
      throw this.fail('reading the stored checkpoint', error);
    }
  }

  async write(batch: EventBatch): Promise<void> {
    try {
      await this.writeBatch(batch);
    } catch (error) {
      if (error instanceof SchemaChangeRefusedError) await this.recordRefusal(error);
      throw error;
    }
  }

  /**
   * The refusal noted at the stored checkpoint, raised again. A restarted source reports the DDL
   * again when the checkpoint holds the tables' definitions (`Checkpoint.schemas`); one stored
   * without them (an earlier release) makes it describe its tables afresh, so the DDL would be no
   * change to it: without this, such a restart would pass it unhandled.
   */
  private refusedAgain(refused: RefusedSchemaChange): SchemaChangeRefusedError {
    return new SchemaChangeRefusedError({
      sink: this.dialect.name,
      table: refused.table,
      change: refused.change,
      ...(refused.column === null ? {} : { column: refused.column }),
      ddl: null,
      offset: refused.offset,
      resumeFrom: this.stored,
      why: 'the pipeline stopped at this DDL before, and it has not been accepted since',
    });
  }

  /**
   * Notes the refused change beside the stored checkpoint (which stays as it is), for `highwater
   * schema-change accept`. Nothing when no checkpoint is stored yet; a failure to note it is logged
   * (the user then names the table to accept) and the refusal is what the caller hears.
   */
  private async recordRefusal(error: SchemaChangeRefusedError): Promise<void> {
    if (this.stored === null || !this.checkpointTableReady || error.table === null) return;
    const refused = { table: error.table, change: error.change, column: error.column, offset: error.offset };
    try {
      const session = await this.connect();
      const schema = await this.targetSchema(session);
      await session.query(this.dialect.storeCheckpoint(this.qualify(schema, CHECKPOINT_TABLE)), [
        this.pipeline,
        checkpointWithNotes(this.stored, { accepted: this.accepted, refused }),
      ]);
    } catch (cause) {
      this.context.logger.warn(
        { table: error.table },
        `could not note the refused schema change beside the stored checkpoint (${cause instanceof Error ? cause.message : String(cause)}): ` +
          `name the table when accepting it: highwater schema-change accept <pipeline file> --table ${error.table}`,
      );
    }
  }

  private async writeBatch(batch: EventBatch): Promise<void> {
    if (this.refused !== null) throw this.refusedAgain(this.refused);
    const connection = await this.connect();
    // What nothing waits for is queued and sent together; every other call on `session` sends it first.
    const queue = new StatementQueue(connection, (what, error, table) => this.fail(what, error, table));
    const { session } = queue;
    const schema = await this.targetSchema(session);
    const tables = new Map(this.tables);
    /** Per source table: the target actions its schema changes in this batch call for, in order. */
    const actions = new Map<string, TargetAction[]>();
    this.acceptedInBatch = new Set();
    this.ignoredInBatch = new Set();
    await this.learnSchemas(batch, tables, schema, actions);
    const touched = new Set<string>(this.capturedCreated ? [] : await this.learnCaptured(tables, schema));
    const truncated = new Set<TruncateEvent>();
    for (const event of batch.events) {
      if (event.kind === 'change') touched.add(event.source.table);
      else if (event.kind === 'schema' && tables.has(event.table)) touched.add(event.table);
      else if (event.kind === 'truncate') {
        touched.add(event.table);
        const truncate = { kind: 'truncate-table' } as const;
        const mode = this.modeFor(event.table, [truncate], event.source, tables);
        const [action] = this.decide(truncate, event.table, event.source, null, tables, mode);
        if (action?.kind === 'truncate') truncated.add(event);
      }
    }
    if (!this.checkpointTableReady) await this.checkExistingRows(session, schema, tables, touched);
    const ensured = new Map(this.ensured);
    /** The sink's own tables (schema, checkpoint and fence tables): harmless to make for any writer. */
    const setup: string[] = [];
    /** The batch's changes to the target tables. */
    const ddl: { sql: string; table?: string }[] = [];
    /** Source tables whose target table this batch drops: their earlier changes are not written. */
    const gone = new Set<string>();
    let inTransaction = false;
    try {
      if (this.dialect.transactionalDdl) {
        queue.add({ sql: this.dialect.begin, params: [], prepared: false });
        inTransaction = true;
      }
      if (!this.checkpointTableReady) {
        const create = await this.schemaDdl(session, schema);
        if (create !== null) setup.push(create);
        setup.push(this.dialect.createCheckpointTable(this.qualify(schema, CHECKPOINT_TABLE)));
      }
      const fenceTable = this.qualify(schema, FENCE_TABLE);
      if (batch.fence !== undefined && !this.fenceTableReady) setup.push(createFenceTable(this.dialect, fenceTable));
      for (const name of touched) {
        const table = this.tableOf(tables, name);
        const statements = await this.ddlFor(session, schema, table, ensured, actions.get(name) ?? []);
        ddl.push(...statements.sql);
        if (statements.table === null) {
          gone.add(name);
          tables.delete(name);
        } else {
          const target = ensured.get(statements.table.qualified);
          tables.set(
            name,
            (this.mode === 'ignore' || this.ignoredInBatch.has(name)) && target !== undefined
              ? sharedColumns(statements.table, target)
              : statements.table,
          );
        }
      }
      for (const statement of setup) await this.run(session, statement, []);
      // DDL that commits at once (MySQL) cannot be rolled back with a refused batch: a writer the
      // fence refuses must not run it, so the token is checked before it too (and again below).
      if (batch.fence !== undefined && !inTransaction && ddl.length > 0)
        await checkFence(this.dialect, session, fenceTable, this.pipeline, batch.fence);
      for (const statement of ddl) {
        if (statement.table !== undefined) this.arrays?.forget(statement.table);
        await this.run(session, statement.sql, [], statement.table);
      }
      if (!inTransaction) {
        queue.add({ sql: this.dialect.begin, params: [], prepared: false });
        inTransaction = true;
      }
      if (batch.fence !== undefined) await passFence(this.dialect, session, fenceTable, this.pipeline, batch.fence);
      const split = this.canBulkLoad(session)
        ? freshRows(batch.events, (name) => (gone.has(name) ? undefined : tables.get(name)), BULK_MIN_ROWS)
        : null;
      // New rows of keys nothing else in the batch touches are loaded unplanned; the rest is planned.
      for (const rows of split?.fresh ?? []) await this.loadFresh(queue, rows, ensured);
      const plan = new BatchPlan();
      for (const event of split === null ? batch.events : split.planned) {
        if (event.kind === 'change' && !gone.has(event.source.table)) {
          const table = this.tableOf(tables, event.source.table);
          plan.add(table, table.renamed === undefined ? event : renamedEvent(table, event));
        } else if (event.kind === 'truncate' && truncated.has(event) && !gone.has(event.table)) {
          plan.truncate(this.tableOf(tables, event.table));
        }
      }
      for (const group of plan.groups) await this.apply(queue, group, ensured);
      const accepted = this.acceptancesAfter(batch.checkpoint);
      queue.add({
        sql: this.dialect.storeCheckpoint(this.qualify(schema, CHECKPOINT_TABLE)),
        params: [this.pipeline, checkpointWithNotes(batch.checkpoint, { accepted })],
        prepared: true,
      });
      queue.add({ sql: 'COMMIT', params: [], prepared: false });
      await queue.flush();
      inTransaction = false;
    } catch (error) {
      // Column types read inside the rolled-back transaction may describe tables it created.
      this.arrays?.forget();
      if (inTransaction) await connection.query('ROLLBACK').catch(() => undefined);
      throw this.fail('applying a batch', error);
    }
    this.tables = tables;
    this.ensured = ensured;
    this.accepted = this.acceptancesAfter(batch.checkpoint);
    this.checkpointTableReady = true;
    if (batch.fence !== undefined) this.fenceTableReady = true;
    this.capturedCreated = true;
    this.stored = batch.checkpoint;
  }

  private get mode(): SchemaChangesMode {
    return this.config.schemaChanges ?? DEFAULT_SCHEMA_CHANGES;
  }

  /**
   * The target actions for one source change under the sink's mode; a refusal throws
   * {@link SchemaChangeRefusedError} before anything of the batch is written.
   */
  private decide(
    change: SourceDdl,
    table: string,
    source: SourceInfo,
    ddl: string | null,
    tables: ReadonlyMap<string, TargetTable>,
    mode: SchemaChangesMode,
  ): TargetAction[] {
    const key = tables.get(table)?.key ?? [];
    const out = targetActions(change, mode, this.dialect, (c) => key.includes(c));
    for (const action of out) {
      if (action.kind === 'keep')
        this.context.logger.warn({ table }, `schema change of ${table} (${change.kind}) not applied: ${action.why}`);
    }
    const refused = out.find((a) => a.kind === 'refuse');
    if (refused?.kind === 'refuse') {
      const column = 'column' in change ? change.column.name : undefined;
      throw new SchemaChangeRefusedError({
        sink: this.dialect.name,
        table,
        change: change.kind,
        ...(column === undefined ? {} : { column: change.kind === 'rename-column' ? change.from : column }),
        ddl,
        offset: source.offset,
        resumeFrom: this.stored,
        why: refused.why,
      });
    }
    return out;
  }

  /**
   * The acceptances still to keep once `checkpoint` is stored: not used by the batch, and not passed
   * (a checkpoint at or after an acceptance's DDL has the DDL behind it, with the definitions after
   * it: a restarted source does not report it again).
   */
  private acceptancesAfter(checkpoint: Checkpoint): AcceptedSchemaChange[] {
    const compare = this.context.compareOffsets;
    const position = checkpoint.position;
    return this.accepted.filter(
      (a) =>
        !this.acceptedInBatch.has(a) &&
        (a.through === null || compare === undefined || position === null || compare(position, a.through) < 0),
    );
  }

  /**
   * The mode one schema event (its `changes`) of `table` is decided under: the sink's, or, when the
   * sink's would refuse it and the user accepted the table's next refused change, the acceptance's
   * (used up by this event once the batch commits).
   */
  private modeFor(
    table: string,
    changes: readonly SourceDdl[],
    source: SourceInfo,
    tables: ReadonlyMap<string, TargetTable>,
  ): SchemaChangesMode {
    const compare = this.context.compareOffsets;
    const acceptance = this.accepted.find(
      (a) =>
        a.table === table &&
        !this.acceptedInBatch.has(a) &&
        (a.through === null ||
          compare === undefined ||
          source.offset === null ||
          compare(source.offset, a.through) <= 0),
    );
    if (acceptance === undefined) return this.mode;
    const key = tables.get(table)?.key ?? [];
    const refused = changes.some((c) =>
      targetActions(c, this.mode, this.dialect, (k) => key.includes(k)).some((a) => a.kind === 'refuse'),
    );
    if (!refused) return this.mode;
    this.acceptedInBatch.add(acceptance);
    if (acceptance.as === 'ignore') this.ignoredInBatch.add(table);
    this.context.logger.warn(
      { table },
      `schema change of ${table} (${changes.map((c) => c.kind).join(', ')}) passed as ${acceptance.as}: accepted by hand (highwater schema-change accept)`,
    );
    return acceptance.as;
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.close();
  }

  /**
   * At a pipeline's first start (no checkpoint stored for it yet), target tables that already hold
   * rows were filled by something else: the snapshot would silently overwrite the rows whose keys the
   * source has. `existingRows: 'fail'` (the default) refuses, naming every such table;
   * `'overwrite'` goes ahead with one warning per table.
   */
  private async checkExistingRows(
    session: SqlSession,
    schema: string,
    tables: ReadonlyMap<string, TargetTable>,
    touched: ReadonlySet<string>,
  ): Promise<void> {
    const filled: TargetTable[] = [];
    for (const name of touched) {
      const table = tables.get(name);
      if (table === undefined || this.existingRowsChecked.has(table.qualified)) continue;
      try {
        if ((await this.dialect.columnsOf(session, schema, table.name)) !== null) {
          const rows = await session.query(`SELECT 1 AS present FROM ${table.qualified} LIMIT 1`);
          if (rows.length > 0) filled.push(table);
        }
      } catch (error) {
        throw this.fail('reading the target tables', error, table.qualified);
      }
    }
    if (filled.length === 0) return;
    const names = filled.map((t) => t.qualified).join(', ');
    if ((this.config.existingRows ?? 'fail') === 'fail') {
      throw new ConfigError(
        `${this.dialect.name} sink: target table${filled.length > 1 ? 's' : ''} ${names} already hold${filled.length > 1 ? '' : 's'} ` +
          `rows this pipeline did not write (pipeline ${this.pipeline} has no checkpoint stored in the target yet): its ` +
          `snapshot would overwrite the rows whose keys the source has and leave the others. Empty ${filled.length > 1 ? 'them' : 'it'}, ` +
          'write into another schema (sink.schema), or set sink.existingRows: overwrite to go ahead',
      );
    }
    for (const table of filled) {
      this.existingRowsChecked.add(table.qualified);
      this.context.logger.warn(
        { table: table.qualified },
        `target table ${table.qualified} already holds rows this pipeline did not write: the snapshot of ${table.source} ` +
          'overwrites those whose keys the source has, and rows with other keys stay (sink.existingRows: overwrite)',
      );
    }
  }

  private get pipeline(): string {
    return this.context.pipelineName;
  }

  private async connect(): Promise<SqlSession> {
    if (this.session !== null) return this.session;
    try {
      this.session = await this.dialect.connect(this.config.connection);
      return this.session;
    } catch (error) {
      throw connectError(this.dialect, this.config.connection, error);
    }
  }

  private async targetSchema(session: SqlSession): Promise<string> {
    if (this.schema === null) {
      try {
        this.schema = this.config.schema ?? (await this.dialect.currentSchema(session));
      } catch (error) {
        throw this.fail('finding the target schema', error);
      }
    }
    return this.schema;
  }

  /**
   * Updates `tables` with every schema change the batch carries (decided per `sink.schemaChanges`,
   * the actions collected in `actions`) and describes source tables not seen before.
   */
  private async learnSchemas(
    batch: EventBatch,
    tables: Map<string, TargetTable>,
    schema: string,
    actions: Map<string, TargetAction[]>,
  ): Promise<void> {
    const unknown = new Map<string, TableId>();
    const seen = new Set<string>();
    for (const event of batch.events) {
      if (event.kind === 'schema') {
        seen.add(event.table);
        this.learnChange(event, tables, schema, actions);
      } else if (event.kind === 'change' && !tables.has(event.source.table) && !seen.has(event.source.table)) {
        unknown.set(event.source.table, event.source.tableId);
      } else if (event.kind === 'truncate' && !tables.has(event.table) && !seen.has(event.table)) {
        unknown.set(event.table, event.source.tableId);
      }
    }
    if (unknown.size === 0) return;
    const describe = this.context.describeTables;
    if (describe === undefined) {
      const first = [...unknown.keys()][0] as string;
      throw new SinkError(
        `${this.dialect.name} sink: no definition of source table ${first}: the sink needs the source's table definitions (SqlSinkContext.describeTables) to create and fill target tables`,
        { table: first },
      );
    }
    let described: readonly TableSchema[];
    try {
      described = await describe([...unknown.values()]);
    } catch (error) {
      throw this.fail('describing source tables', error);
    }
    const byName = new Map<string, TableSchema>();
    for (const s of described) byName.set(tableName(s.id), s);
    for (const [name, id] of unknown) {
      const found = byName.get(name) ?? byName.get(tableName(id));
      if (found === undefined) {
        throw new SinkError(`${this.dialect.name} sink: the source did not describe table ${name}`, { table: name });
      }
      // A schema event later in the batch already gave the table its model (with its changes applied).
      if (!tables.has(name)) tables.set(name, this.merge(undefined, this.lastKnown(name, found), schema));
    }
  }

  /** One schema event: the actions it calls for, and the table's model after them. */
  private learnChange(
    event: SchemaChangeEvent,
    tables: Map<string, TargetTable>,
    schema: string,
    actions: Map<string, TargetAction[]>,
  ): void {
    let table = tables.get(event.table);
    if (table === undefined) {
      // Not seen by this sink (a new table, or the first batch after a restart): the target was made from `before`.
      const start = event.before ?? event.schema;
      if (start === null) return;
      table = this.merge(undefined, start, schema);
      tables.set(event.table, table);
      if (event.before === null) return;
    }
    const list = actions.get(event.table) ?? [];
    actions.set(event.table, list);
    const next: TargetAction[] = [];
    const mode = this.modeFor(event.table, event.changes, event.source, tables);
    for (const change of event.changes) {
      next.push(...this.decide(change, event.table, event.source, event.ddl, tables, mode));
    }
    list.push(...next);
    const after = withActions(table, next);
    // A table dropped in the source: its model stays for the actions (the target table may be kept).
    tables.set(event.table, after);
  }

  /**
   * Adds every captured table to `tables` (those the batch did not already describe) and returns
   * their names, so the first write creates all target tables, empty source tables included.
   * Tables without any key are left to the first change that needs them (which names the problem).
   */
  private async learnCaptured(tables: Map<string, TargetTable>, schema: string): Promise<string[]> {
    const captured = this.context.capturedTables;
    if (captured === undefined) return [];
    let described: readonly TableSchema[];
    try {
      described = await captured();
    } catch (error) {
      throw this.fail('describing the captured source tables', error);
    }
    const names: string[] = [];
    for (const source of described) {
      const name = tableName(source.id);
      if (!tables.has(name) && keyColumnsOf(source).length === 0) continue;
      if (!tables.has(name)) tables.set(name, this.merge(undefined, this.lastKnown(name, source), schema));
      names.push(name);
    }
    return names;
  }

  /**
   * A source table's definition as the stored checkpoint knew it (the target was made from it), else
   * `described` (the source's catalog now). After a restart the source reports DDL made while the
   * pipeline was down as schema events from that stored definition; starting from the catalog's
   * instead would, e.g., add a renamed column before the event that renames it.
   */
  private lastKnown(name: string, described: TableSchema): TableSchema {
    return this.stored?.schemas?.[name] ?? described;
  }

  private merge(existing: TargetTable | undefined, source: TableSchema, schema: string): TargetTable {
    if (existing !== undefined) return withSchema(existing, source);
    const name = targetTableName(source.id, this.config.tableNaming);
    const key = keyColumnsOf(source);
    const sourceName = tableName(source.id);
    if (key.length === 0) {
      throw new SinkError(
        `${this.dialect.name} sink: source table ${sourceName} has neither a primary key nor a chunk key: rows cannot be matched in the target`,
        { table: sourceName },
      );
    }
    return {
      source: sourceName,
      name,
      qualified: this.qualify(schema, name),
      key,
      columns: new Map(source.columns.map((c) => [c.name, c])),
      indexes: source.indexes ?? [],
    };
  }

  private tableOf(tables: ReadonlyMap<string, TargetTable>, name: string): TargetTable {
    const table = tables.get(name);
    if (table === undefined)
      throw new SinkError(`${this.dialect.name} sink: no definition of table ${name}`, { table: name });
    return table;
  }

  /**
   * `CREATE SCHEMA` (Postgres) or `CREATE DATABASE` (MySQL) when the target schema is missing and
   * `createTables` is true; null when it exists. Checked first rather than always running `… IF NOT
   * EXISTS`: Postgres checks the CREATE privilege on the database even when the schema exists, and
   * a sink user often has only its schema. On Postgres it runs in the first batch's transaction
   * (rolled back with it); on MySQL it commits at once, like all DDL there.
   */
  private async schemaDdl(session: SqlSession, schema: string): Promise<string | null> {
    let exists: boolean;
    try {
      exists = await this.dialect.schemaExists(session, schema);
    } catch (error) {
      throw this.fail('reading the target catalog', error);
    }
    if (exists) return null;
    const what = this.dialect.name === 'postgres' ? 'schema' : 'database';
    if (!this.config.createTables) {
      throw new SinkError(
        `${this.dialect.name} sink: target ${what} ${schema} does not exist and sink.createTables is false: create it, ` +
          'or set sink.createTables to true',
      );
    }
    this.context.logger.info({ schema }, `creating target ${what} ${schema}`);
    return this.dialect.createSchema(schema);
  }

  /**
   * The DDL that makes the target match `table`: CREATE TABLE (with the source's secondary indexes)
   * when it is missing; otherwise the schema change `actions`, each checked against the target's
   * catalog first (an add whose column exists, a rename or drop already done is skipped, so a batch
   * taken again after a crash between MySQL's DDL and its data runs safely), then ADD COLUMN and DROP
   * NOT NULL for what the target still lacks (not under `ignore`). Records the result in `ensured`;
   * returns the table as the target has it then, or null when the target table is dropped.
   */
  private async ddlFor(
    session: SqlSession,
    schema: string,
    source: TargetTable,
    ensured: Map<string, ReadonlyMap<string, boolean>>,
    actions: readonly TargetAction[],
  ): Promise<{ sql: { sql: string; table: string }[]; table: TargetTable | null }> {
    let table = source;
    const columns = (t: TargetTable) =>
      [...t.columns.values()].map((c) => ({
        name: c.name,
        type: c.type,
        nullable: c.nullable && !t.key.includes(c.name),
        defaultLiteral: constantDefault(c.default),
      }));
    const catalog = async (name: string) => {
      try {
        return await this.dialect.columnsOf(session, schema, name);
      } catch (error) {
        throw this.fail('reading the target catalog', error, this.qualify(schema, name));
      }
    };
    // A schema change is checked against the catalog as it is now, not as this sink last saw it:
    // another writer of the target (a cluster member adding a column its chunk needs) may have made
    // part of it already.
    let existing = actions.length > 0 ? undefined : ensured.get(table.qualified);
    if (existing === undefined) {
      const found = await catalog(table.name);
      if (found !== null) existing = new Map(found.map((c) => [c.name, c.nullable]));
    }
    const sql: { sql: string; table: string }[] = [];
    const log = (message: string, column?: string) =>
      this.context.logger.info({ table: table.qualified, ...(column === undefined ? {} : { column }) }, message);
    for (const action of actions) {
      if (action.kind === 'drop-table') {
        ensured.delete(table.qualified);
        if (existing === undefined) return { sql, table: null };
        log(`dropping ${table.qualified}: its source table was dropped`);
        return { sql: [...sql, { sql: this.dialect.dropTable(table.qualified), table: table.qualified }], table: null };
      }
      if (action.kind === 'rename-table') {
        const name = renamedTargetName(action.to, this.config.tableNaming);
        const renamed = { ...table, name, qualified: this.qualify(schema, name) };
        ensured.delete(table.qualified);
        if (existing !== undefined && (await catalog(name)) !== null) {
          // The new name is a target table already: captured in its own right (a pipeline restarted
          // after a rename made while it was down finds the table under its new name), with its own
          // snapshot. The old one goes, as on a drop.
          log(`dropping ${table.qualified}: its source table was renamed to ${action.to}, captured on its own`);
          return {
            sql: [...sql, { sql: this.dialect.dropTable(table.qualified), table: table.qualified }],
            table: null,
          };
        }
        if (existing !== undefined) {
          log(`renaming ${table.qualified} to ${renamed.qualified}: its source table was renamed to ${action.to}`);
          sql.push({ sql: this.dialect.renameTable(table.qualified, schema, name), table: table.qualified });
        } else {
          const there = await catalog(name);
          if (there !== null) existing = new Map(there.map((c) => [c.name, c.nullable]));
        }
        table = renamed;
      }
    }
    if (existing === undefined)
      return { sql: [...sql, ...this.createDdl(schema, table, columns(table), ensured)], table };
    const state = new Map(existing);
    const q = table.qualified;
    const isKey = (c: string) => table.key.includes(c);
    const column = (c: ColumnSchema, nullable = state.get(c.name) ?? true) => ({
      name: c.name,
      type: c.type,
      nullable,
      defaultLiteral: constantDefault(c.default),
    });
    for (const action of actions) {
      switch (action.kind) {
        case 'add-column':
          if (state.has(action.column.name)) break;
          log(`adding column ${action.column.name} to ${q}`, action.column.name);
          sql.push({ sql: this.dialect.addColumn(q, column(action.column, true), action.default), table: q });
          state.set(action.column.name, true);
          break;
        case 'drop-column':
          if (!state.has(action.column)) break;
          log(`dropping column ${action.column} of ${q}: dropped in the source`, action.column);
          sql.push({ sql: this.dialect.dropColumn(q, action.column), table: q });
          state.delete(action.column);
          break;
        case 'rename-column': {
          if (!state.has(action.from) || state.has(action.to)) break;
          log(`renaming column ${action.from} of ${q} to ${action.to}`, action.to);
          sql.push({ sql: this.dialect.renameColumn(q, action.from, action.to), table: q });
          state.set(action.to, state.get(action.from) as boolean);
          state.delete(action.from);
          break;
        }
        case 'alter-type':
          if (!state.has(action.column.name)) break;
          log(
            `changing the type of column ${action.column.name} of ${q} to ${action.column.nativeType}`,
            action.column.name,
          );
          sql.push({ sql: this.dialect.alterType(q, column(action.column), isKey(action.column.name)), table: q });
          break;
        case 'drop-not-null':
          if (state.get(action.column.name) !== false || isKey(action.column.name)) break;
          log(`dropping NOT NULL of column ${action.column.name} of ${q}`, action.column.name);
          sql.push({ sql: this.dialect.dropNotNull(q, column(action.column, true)), table: q });
          state.set(action.column.name, true);
          break;
        case 'set-not-null':
          if (state.get(action.column.name) !== true) break;
          log(`setting NOT NULL on column ${action.column.name} of ${q}`, action.column.name);
          sql.push({
            sql: this.dialect.setNotNull(q, column(action.column, false), isKey(action.column.name)),
            table: q,
          });
          state.set(action.column.name, false);
          break;
        case 'set-default':
          if (!state.has(action.column.name)) break;
          sql.push({ sql: this.dialect.setDefault(q, action.column.name, action.default), table: q });
          break;
        default:
          break;
      }
    }
    if (this.mode !== 'ignore') {
      for (const c of columns(table)) {
        const nullable = state.get(c.name);
        if (nullable === undefined) {
          log(`adding column ${c.name} to ${q}`, c.name);
          sql.push({ sql: this.dialect.addColumn(q, { ...c, nullable: true }, c.defaultLiteral), table: q });
        } else if (!nullable && c.nullable) {
          log(`column ${c.name} of ${q} is nullable in the source now (or dropped there): dropping NOT NULL`, c.name);
          sql.push({ sql: this.dialect.dropNotNull(q, c), table: q });
        } else {
          continue;
        }
        state.set(c.name, true);
      }
    }
    ensured.set(q, state);
    return { sql, table };
  }

  /** CREATE TABLE and its indexes, for a target table that does not exist. */
  private createDdl(
    schema: string,
    table: TargetTable,
    columns: readonly TargetColumn[],
    ensured: Map<string, ReadonlyMap<string, boolean>>,
  ): { sql: string; table: string }[] {
    if (!this.config.createTables) {
      throw new SinkError(
        `${this.dialect.name} sink: target table ${schema}.${table.name} does not exist and sink.createTables is false`,
        { table: `${schema}.${table.name}` },
      );
    }
    ensured.set(table.qualified, new Map(columns.map((c) => [c.name, c.nullable])));
    this.context.logger.info({ table: table.qualified }, `creating target table ${schema}.${table.name}`);
    const indexes = this.dialect.createIndexes(table.qualified, table.name, columns, table.indexes ?? []);
    for (const { index, why } of indexes.skipped) {
      this.context.logger.warn(
        { table: table.qualified, index },
        `index ${index} of ${table.source} is not created in ${table.qualified}: ${why}`,
      );
    }
    return [this.dialect.createTable(table.qualified, columns, table.key), ...indexes.statements].map((sql) => ({
      sql,
      table: table.qualified,
    }));
  }

  private async apply(
    queue: StatementQueue,
    group: StatementGroup,
    ensured: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
  ): Promise<void> {
    const { table } = group;
    const { session } = queue;
    /** Array statements are queued: nothing waits for their answers. */
    const queued = async (sql: string, params: readonly unknown[], qualified: string) =>
      queue.add({ sql, params, prepared: true, table: qualified });
    switch (group.kind) {
      case 'truncate':
        queue.add({ sql: this.dialect.truncate(table.qualified), params: [], prepared: false, table: table.qualified });
        return;
      case 'delete': {
        const keys = [...group.keys.values()];
        const keyEncoders = this.encodersOf(table, table.key);
        if (await this.arrays?.delete(session, table, keys, keyEncoders, queued)) return;
        const per = this.rowsPerStatement(table.key.length);
        for (let i = 0; i < keys.length; i += per) {
          const slice = keys.slice(i, i + per);
          const params = slice.flatMap((k) => k.map((v, j) => (keyEncoders[j] as Encoder)(v, k)));
          const sql = `DELETE FROM ${table.qualified} WHERE ${keyInList(this.dialect, table.key, slice.length)}`;
          queue.add({ sql, params, prepared: false, table: table.qualified });
        }
        return;
      }
      case 'upsert': {
        const rows = [...group.rows.values()];
        // Only source columns count: a NOT NULL column added to the target by hand has its own default.
        const omitted = [...(ensured.get(table.qualified) ?? [])].find(
          ([name, nullable]) => !nullable && table.columns.has(name) && !group.columns.includes(name),
        );
        if (omitted !== undefined) {
          await this.updateRows(session, table, group.columns, rows, omitted[0]);
          return;
        }
        // New rows in bulk; rows the target may have (updates) as one array statement where the
        // dialect has them (fewer statements than a stage: no table to create, load and drop).
        if (group.fresh && rows.length >= BULK_MIN_ROWS && (await this.bulkUpsert(session, group, rows))) return;
        const encoders = this.encodersOf(table, group.columns);
        if (await this.arrays?.upsert(session, table, group.columns, rows, encoders, queued)) return;
        if (
          this.dialect.bulkLoad?.stagesUpdates !== false &&
          !group.fresh &&
          rows.length >= BULK_MIN_ROWS &&
          (await this.bulkUpsert(session, group, rows))
        )
          return;
        const per = this.rowsPerStatement(group.columns.length);
        for (let i = 0; i < rows.length; i += per) {
          const slice = rows.slice(i, i + per);
          const params = slice.flatMap((row: Row) =>
            group.columns.map((c, j) => (encoders[j] as Encoder)(row[c] ?? null, row)),
          );
          const sql = this.dialect.upsert(table.qualified, group.columns, table.key, slice.length);
          queue.add({ sql, params, prepared: false, table: table.qualified });
        }
        return;
      }
    }
  }

  /**
   * Rows that leave out a NOT NULL column (an unchanged TOAST value the log did not carry) cannot be
   * upserted: the insert half is checked before the conflict is found. They update the stored row
   * instead, one statement each; a row missing from the target cannot be completed and fails.
   */
  private async updateRows(
    session: SqlSession,
    table: TargetTable,
    columns: readonly string[],
    rows: readonly Row[],
    omitted: string,
  ): Promise<void> {
    const q = (c: string) => this.dialect.quote(c);
    const keys = new Set(table.key);
    const set = columns.filter((c) => !keys.has(c));
    const where = (first: number) =>
      table.key.map((k, i) => `${q(k)} = ${this.dialect.param(first + i)}`).join(' AND ');
    const exists = `SELECT 1 AS found FROM ${table.qualified} WHERE ${where(1)}`;
    const assignments = set.map((c, i) => `${q(c)} = ${this.dialect.param(i + 1)}`).join(', ');
    const update = `UPDATE ${table.qualified} SET ${assignments} WHERE ${where(set.length + 1)}`;
    const keyEncoders = this.encodersOf(table, table.key);
    const setEncoders = this.encodersOf(table, set);
    for (const row of rows) {
      const key = table.key.map((k) => row[k] ?? null);
      const keyParams = table.key.map((_, i) => (keyEncoders[i] as Encoder)(key[i] ?? null, key));
      let found: unknown[];
      try {
        found = await session.query(exists, keyParams);
      } catch (error) {
        throw this.fail('SELECT statement', error, table.qualified);
      }
      if (found.length === 0) {
        throw new SinkError(
          `${this.dialect.name} sink: table ${table.qualified}, key ${jsonText(Object.fromEntries(table.key.map((k, i) => [k, key[i] ?? null])))}: ` +
            `the change leaves out column ${omitted} (NOT NULL; a value the source did not change, which its log does not carry) ` +
            'and the target has no row to keep it from: the target lost this row; run highwater verify and resnapshot the table',
          { table: table.qualified },
        );
      }
      if (set.length === 0) continue;
      const params = set.map((_, i) => (setEncoders[i] as Encoder)(row[set[i] as string] ?? null, key));
      await this.run(session, update, [...params, ...keyParams], table.qualified);
    }
  }

  /**
   * Writes the group's rows with the dialect's bulk load; false when the target has none or refuses
   * it (the caller then uses statements). New rows (snapshot reads, inserts) are loaded straight into the
   * table inside a savepoint of the batch's transaction; if a key exists already (rows the target
   * had before, a chunk whose rows another writer put there), the load is rolled back to the
   * savepoint and the rows are upserted through a stage instead — replaced, never doubled. Other
   * rows (updates) are loaded into a stage and upserted from it with one statement. Either way the
   * rows commit with the batch's checkpoint. `perKey` gives the rows one per key, for rows loaded
   * without that check ({@link freshRows}): the stage needs it.
   */
  private async bulkUpsert(
    session: SqlSession,
    group: UpsertGroup,
    loaded: readonly Row[],
    perKey?: () => readonly Row[],
  ): Promise<boolean> {
    const bulk = this.dialect.bulkLoad;
    const load = session.load?.bind(session);
    if (bulk === undefined || load === undefined || this.bulkUnavailable) return false;
    const { table, columns } = group;
    const types = columns.map((c) => table.columns.get(c)?.type ?? { kind: 'other' as const });
    let rows = loaded;
    const data = () => this.bulkData(bulk, group, rows);
    if (group.fresh) {
      await this.run(session, 'SAVEPOINT highwater_bulk', [], table.qualified);
      try {
        await load(bulk.statement(table.qualified, columns, types), data());
        await this.run(session, 'RELEASE SAVEPOINT highwater_bulk', [], table.qualified);
        return true;
      } catch (error) {
        const unavailable = bulk.isUnavailable?.(error) === true;
        if (!unavailable && !bulk.isDuplicateKey(error)) throw this.fail('bulk load', error, table.qualified);
        await this.run(session, 'ROLLBACK TO SAVEPOINT highwater_bulk', [], table.qualified);
        if (unavailable) return this.giveUpBulk(error, table.qualified);
        // A stage upserts each key once: rows not planned per key are planned now.
        if (perKey !== undefined) rows = perKey();
        this.context.logger.debug(
          { table: table.qualified, rows: rows.length },
          'bulk load found rows already in the target; upserting them instead',
        );
      }
    }
    const stage = `highwater_stage_${++this.stages}`;
    const quoted = this.dialect.quote(stage);
    await this.run(session, bulk.createStage(table.qualified, stage, columns), [], table.qualified);
    try {
      await load(bulk.statement(quoted, columns, types), data());
    } catch (error) {
      if (bulk.isUnavailable?.(error) !== true) throw this.fail('bulk load', error, table.qualified);
      if (bulk.dropStage !== undefined) await this.run(session, bulk.dropStage(stage), [], table.qualified);
      return this.giveUpBulk(error, table.qualified);
    }
    await this.run(session, bulk.upsertFromStage(table.qualified, stage, columns, table.key), [], table.qualified);
    if (bulk.dropStage !== undefined) await this.run(session, bulk.dropStage(stage), [], table.qualified);
    return true;
  }

  /** True while the target may take bulk loads on this session (it has them and has not refused one). */
  private canBulkLoad(session: SqlSession): boolean {
    return this.dialect.bulkLoad !== undefined && session.load !== undefined && !this.bulkUnavailable;
  }

  /**
   * One table's rows of a batch of new rows only ({@link freshRows}): bulk-loaded as they come,
   * without planning them per key first. A load that meets a key twice (or one already in the
   * target) is rolled back and the rows are planned per key for the stage; a target that refuses
   * bulk loads gets them planned and written with statements.
   */
  private async loadFresh(
    queue: StatementQueue,
    fresh: FreshRows,
    ensured: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
  ): Promise<void> {
    const group: UpsertGroup = {
      kind: 'upsert',
      table: fresh.table,
      columns: fresh.columns,
      rows: new Map(),
      fresh: true,
    };
    if (await this.bulkUpsert(queue.session, group, fresh.rows, () => plannedRows(fresh))) return;
    const rows = new Map(plannedRows(fresh).map((row, i) => [i, row]));
    await this.apply(queue, { ...group, rows }, ensured);
  }

  /** The target refuses bulk loads: statements from now on, said once. Returns false (not loaded). */
  private giveUpBulk(error: unknown, table: string): false {
    this.bulkUnavailable = true;
    this.context.logger.warn(
      { table, reason: error instanceof Error ? error.message : String(error) },
      `the ${this.dialect.name} target refuses bulk loads; writing rows with multi-row statements instead (slower)`,
    );
    return false;
  }

  /**
   * The rows of a group as the bulk load's data: UTF-8 bytes in pieces of {@link BULK_PIECE_BYTES},
   * each line written into the piece as it is made. (Joining lines into one long string and
   * converting that cost more than making the lines: V8 flattens the joined string first.)
   */
  private *bulkData(bulk: BulkLoad, group: UpsertGroup, rows: readonly Row[]): Generator<Buffer> {
    const { table, columns } = group;
    const encoders = this.encodersOf(table, columns);
    const width = columns.length;
    // One array for every row's values: `line` reads it before the next row is encoded.
    const values: unknown[] = new Array(width);
    let piece = Buffer.allocUnsafe(BULK_PIECE_BYTES);
    let used = 0;
    for (const row of rows) {
      for (let j = 0; j < width; j++) values[j] = (encoders[j] as Encoder)(row[columns[j] as string] ?? null, row);
      const line = bulk.line(values);
      // A UTF-16 code unit is at most 3 bytes of UTF-8.
      if (used + line.length * 3 > piece.length) {
        if (used > 0) yield piece.subarray(0, used);
        used = 0;
        if (line.length * 3 > BULK_PIECE_BYTES) {
          yield Buffer.from(line);
          piece = Buffer.allocUnsafe(BULK_PIECE_BYTES);
          continue;
        }
        piece = Buffer.allocUnsafe(BULK_PIECE_BYTES);
      }
      used += piece.write(line, used);
    }
    if (used > 0) yield piece.subarray(0, used);
  }

  private rowsPerStatement(width: number): number {
    const rows = this.config.batchSize ?? DEFAULT_STATEMENT_ROWS;
    return Math.max(1, Math.min(rows, Math.floor(this.dialect.maxParams / Math.max(1, width))));
  }

  /** The value encoders of `columns` of `table`, made once per table version and column. */
  private encodersOf(table: TargetTable, columns: readonly string[]): Encoder[] {
    let byColumn = this.encoders.get(table);
    if (byColumn === undefined) {
      byColumn = new Map();
      this.encoders.set(table, byColumn);
    }
    const out: Encoder[] = [];
    for (const column of columns) {
      let encoder = byColumn.get(column);
      if (encoder === undefined) {
        encoder = this.encoderOf(table, column);
        byColumn.set(column, encoder);
      }
      out.push(encoder);
    }
    return out;
  }

  /** A column's encoder: a value the target cannot hold fails the batch with a typed error naming the row's key. */
  private encoderOf(table: TargetTable, column: string): Encoder {
    const type = table.columns.get(column)?.type ?? { kind: 'other' as const };
    // The row (or key) being encoded, read only when a value is rejected: no closure per value.
    let current: Row | readonly Value[] = [];
    let rejected: Value = null;
    const reject = (reason: string): never => {
      const key = Array.isArray(current) ? current : table.key.map((k) => (current as Row)[k] ?? null);
      throw new UnrepresentableValueError({
        sink: this.dialect.name,
        table: table.qualified,
        column,
        key: jsonText(Object.fromEntries(table.key.map((k, i) => [k, key[i] ?? null]))),
        value: jsonText(rejected),
        reason,
      });
    };
    // A text key longer than the target's key column would fail in the database with no key named.
    const keyChars = type.kind === 'string' && table.key.includes(column) ? this.dialect.keyChars : undefined;
    return (value, source) => {
      current = source;
      rejected = value;
      if (
        keyChars !== undefined &&
        typeof value === 'string' &&
        value.length > keyChars &&
        [...value].length > keyChars
      ) {
        reject(`a key column of a ${this.dialect.name} target holds at most ${keyChars} characters`);
      }
      return this.dialect.encode(type, value, reject);
    };
  }

  private async run(session: SqlSession, sql: string, params: readonly unknown[], table?: string): Promise<void> {
    try {
      await session.query(sql, params);
    } catch (error) {
      throw this.fail(`${sql.split(' ', 1)[0]} statement`, error, table);
    }
  }

  private qualify(schema: string, name: string): string {
    return `${this.dialect.quote(schema)}.${this.dialect.quote(name)}`;
  }

  /** Wraps an error; a lost connection is dropped so the next call reconnects. */
  private fail(what: string, error: unknown, table?: string) {
    if (this.dialect.isConnectionLost(error)) {
      const session = this.session;
      this.session = null;
      void session?.close();
    }
    return sinkError(this.dialect, what, error, table);
  }
}

/** The target name of a source table renamed to `to` (a qualified name, as events name tables). */
function renamedTargetName(to: string, naming: 'table' | 'schema_table'): string {
  const parts = to.split('.');
  const name = parts[parts.length - 1] as string;
  const schema = parts[parts.length - 2];
  return targetTableName(schema === undefined ? { name } : { schema, name }, naming);
}

/** A change event with the target's renamed columns under their new names. */
function renamedEvent(table: TargetTable, event: ChangeEvent): ChangeEvent {
  return {
    ...event,
    key: renamedRow(table, event.key),
    before: event.before === null ? null : renamedRow(table, event.before),
    after: event.after === null ? null : renamedRow(table, event.after),
  };
}
