import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { JsonValue } from '../values/value.js';
/**
 * Every error Highwater throws is a `HighwaterError` with a stable `code` (safe to match on) and
 * `retriable` (whether the same call can succeed later without a change by the user). The
 * database's own error is kept as `cause`, whole.
 */
export class HighwaterError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A setting is missing, malformed or contradicts another. */
export class ConfigError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_CONFIG', message, options);
  }
}

/** A table named in the configuration does not exist or is not visible to the user. */
export class TableNotFoundError extends HighwaterError {
  constructor(
    readonly table: string,
    message: string,
  ) {
    super('HW_TABLE_NOT_FOUND', message);
  }
}

/** A captured table has neither a primary key nor a configured chunk key. */
export class MissingKeyError extends HighwaterError {
  constructor(
    readonly table: string,
    message: string,
  ) {
    super('HW_TABLE_WITHOUT_KEY', message);
  }
}

/** The adapter lacks a capability the configuration asks for. */
export class UnsupportedError extends HighwaterError {
  constructor(message: string) {
    super('HW_UNSUPPORTED', message);
  }
}

/** The log no longer has the requested position (purged, truncated, slot lost). */
export class OffsetUnavailableError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_OFFSET_UNAVAILABLE', message, options);
  }
}

/** A connection dropped or timed out; the core retries these with backoff. */
export class ConnectionLostError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_CONNECTION_LOST', message, { ...options, retriable: true });
  }
}

/** The database refused an operation for lack of a privilege or a server setting. */
export class PermissionError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_PERMISSION_DENIED', message, options);
  }
}

/**
 * The database lacks something the pipeline needs that an administrator sets up: a server setting
 * (`wal_level`), a table's replica identity, a publication or replication slot the adapter is not
 * allowed to create, a free replication slot. The message names it and the statement that fixes it.
 */
export class DatabaseSetupError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_DATABASE_SETUP', message, options);
  }
}

/**
 * Closing did not finish: a call into an adapter or a sink (a reader's `close()`, a read it was
 * waiting for) did not settle within the close timeout. The close went on without it; the message
 * names what was left waiting, whose connection may stay open until the process exits.
 */
export class CloseTimeoutError extends HighwaterError {
  constructor(message: string) {
    super('HW_CLOSE_TIMEOUT', message);
  }
}

/** A checkpoint cannot be read, or belongs to another adapter or another table set. */
export class CheckpointError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_CHECKPOINT_INVALID', message, options);
  }
}

/** The source was closed, or stopped after an earlier failure. */
export class SourceClosedError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HW_SOURCE_CLOSED', message, options);
  }
}

/**
 * A pipeline run by several processes (`cluster:`) cannot coordinate: the coordinator (NATS
 * JetStream) is unreachable or refused an operation, or this process lost the leader lease another
 * member now holds. Retriable when the coordinator may answer later.
 */
export class ClusterError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super('HW_CLUSTER', message, options);
  }
}

/** Wraps an unexpected failure inside an adapter so it carries a code; the original is the `cause`. */
export class AdapterError extends HighwaterError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super('HW_ADAPTER', message, options);
  }
}

/**
 * A sink could not apply a batch or store its checkpoint (the target refused a write, a table
 * cannot be created, a type has no mapping). `table` names the target table when one is involved.
 */
export class SinkError extends HighwaterError {
  readonly table: string | null;

  /** `code` is for subclasses naming a more precise failure. */
  constructor(
    message: string,
    options: { cause?: unknown; retriable?: boolean; table?: string } = {},
    code = 'HW_SINK',
  ) {
    super(code, message, options);
    this.table = options.table ?? null;
  }
}

/**
 * A sink refused a batch whose fencing token (`EventBatch.fence`) is older than one it has already
 * committed for the same scope: another writer took over (a new cluster leader, a newer attempt of
 * the chunk). Nothing of the batch was stored. Not retriable: this writer is deposed and stops
 * writing; the newer one carries on.
 */
export class FencedWriteError extends SinkError {
  constructor(
    readonly scope: string,
    readonly token: number,
    readonly current: number,
    message: string,
  ) {
    super(message, {}, 'HW_SINK_FENCED');
  }
}

/**
 * A value the source accepted that the target column's type cannot hold exactly (an infinite date in
 * a MySQL `DATETIME`, a year past 9999, NaN in a MySQL `DOUBLE`…). The batch fails rather than store
 * another value; docs/sinks.md lists every such source/target pair. Not retriable: the same value
 * fails again.
 */
export class UnrepresentableValueError extends SinkError {
  /** The target column. */
  readonly column: string;
  /** The row's key as JSON text, e.g. `{"id":3}`. */
  readonly key: string;
  /** The value as text. */
  readonly value: string;

  constructor(details: {
    readonly sink: string;
    readonly table: string;
    readonly column: string;
    readonly key: string;
    readonly value: string;
    readonly reason: string;
  }) {
    super(
      `${details.sink} sink: table ${details.table}, column ${details.column}, key ${details.key}: ` +
        `value ${details.value} cannot be stored: ${details.reason}. Nothing of this batch was written; ` +
        'change the value in the source, or leave the column or table out of the pipeline (docs/sinks.md lists the values each target cannot hold)',
      { table: details.table },
      'HW_SINK_VALUE_NOT_REPRESENTABLE',
    );
    this.column = details.column;
    this.key = details.key;
    this.value = details.value;
  }
}

/**
 * A sink stopped at a source DDL it was told not to apply (`sink.schemaChanges: exception`) or cannot
 * apply without losing data (an incompatible type change under `lenient`). Nothing of the batch was
 * written; the target holds everything up to `resumeFrom`, the checkpoint a restart resumes from.
 * Not retriable: the same DDL stops the same batch again until the target is handled by hand.
 */
export class SchemaChangeRefusedError extends SinkError {
  /** The kind of change (`add-column`, `change-type`, `drop-table`, …). */
  readonly change: string;
  /** The column involved, where one is. */
  readonly column: string | null;
  /** The statement where the source logged one. */
  readonly ddl: string | null;
  /** The source offset of the DDL, as the event carries it. */
  readonly offset: JsonValue | null;
  /** The checkpoint stored in the target (null when none is stored yet): a restart resumes from it. */
  readonly resumeFrom: Checkpoint | null;

  constructor(details: {
    readonly sink: string;
    readonly table: string;
    readonly change: string;
    readonly column?: string;
    readonly ddl: string | null;
    readonly offset: JsonValue | null;
    readonly resumeFrom: Checkpoint | null;
    readonly why: string;
  }) {
    const what = `${details.change}${details.column === undefined ? '' : ` of column ${details.column}`}`;
    super(
      `${details.sink} sink: table ${details.table}: source DDL ${what}` +
        `${details.ddl === null ? '' : ` (${details.ddl})`} at source offset ${JSON.stringify(details.offset)} ` +
        `not applied: ${details.why}. Nothing of this batch was written; the target holds every change up to the stored ` +
        `checkpoint ${JSON.stringify(details.resumeFrom)}, where a restart resumes. To go on past this DDL, apply it to the ` +
        'target by hand as you want it there, then run `highwater schema-change accept <pipeline file>` (it finds this ' +
        `refusal beside the stored checkpoint; add \`--table ${details.table}\` if it says none is noted, \`--as lenient\` or ` +
        '`--as ignore` to pass it as those modes would; the default, evolve, applies what the target still lacks) and start ' +
        'the pipeline again; later DDLs are decided by sink.schemaChanges again (docs/sinks.md)',
      { table: details.table },
      'HW_SINK_SCHEMA_CHANGE_REFUSED',
    );
    this.change = details.change;
    this.column = details.column ?? null;
    this.ddl = details.ddl;
    this.offset = details.offset;
    this.resumeFrom = details.resumeFrom;
  }
}

/** True when an error is worth retrying (a `HighwaterError` marked retriable). */
export function isRetriable(error: unknown): boolean {
  return error instanceof HighwaterError && error.retriable;
}

/**
 * The error as a `HighwaterError`: itself when it is one, otherwise wrapped in an `AdapterError`
 * that says where it happened and keeps the original as `cause`.
 */
export function asHighwaterError(error: unknown, where: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AdapterError(`${where}: ${message}`, { cause: error });
}
