import type { SchemaChangesMode } from './schema-evolution.js';

/**
 * A database connection: a URL (`postgres://…`, `mysql://…`) or its parts. The pipeline file's
 * `connection` (validated by the CLI) has this shape.
 */
export type ConnectionConfig =
  | string
  | {
      readonly host: string;
      readonly port?: number | undefined;
      readonly user: string;
      readonly password?: string | undefined;
      readonly database: string;
    };

/** The `sink` section of a pipeline that writes into `postgres` or `mysql` tables (docs/sinks.md). */
export interface SqlSinkConfig {
  readonly type: 'postgres' | 'mysql';
  readonly connection: ConnectionConfig;
  /** Target schema (Postgres) or database (MySQL) the tables are created in; default: the connection's. */
  readonly schema?: string | undefined;
  /** `schema.table` → `<targetSchema>.<table>` or `<targetSchema>.<schema>_<table>`. */
  readonly tableNaming: 'table' | 'schema_table';
  /** Create missing target tables from the source schema. */
  readonly createTables: boolean;
  /** Rows per multi-row INSERT/DELETE statement (default 500); a whole source batch is still one transaction. */
  readonly batchSize?: number | undefined;
  /** What the source's DDL does to target tables (default `lenient`; docs/sinks.md, "Schema changes"). */
  readonly schemaChanges?: SchemaChangesMode | undefined;
  /**
   * What to do at a pipeline's first start when a target table already holds rows it did not write:
   * `fail` (the default) refuses and names the tables; `overwrite` lets the snapshot overwrite the rows
   * whose keys the source has, with one warning per table.
   */
  readonly existingRows?: 'fail' | 'overwrite' | undefined;
}

/** A SQL sink's settings when the destination is chosen by the factory called (`postgresSink`, `mysqlSink`). */
export type SqlTargetConfig = Omit<SqlSinkConfig, 'type'>;
