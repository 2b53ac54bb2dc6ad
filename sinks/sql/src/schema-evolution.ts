import { type ColumnSchema, constantDefault, type DdlChange, type DdlKind, type LogicalType } from '@highwater/core';

/**
 * What a table sink does with the source's DDL (`sink.schemaChanges`), named after Flink CDC 3.x's
 * `schema.change.behavior` (whose default, `lenient`, is ours too):
 * - `evolve`: apply every change the target can take;
 * - `lenient`: never lose data (add columns, keep dropped ones, widen types, keep dropped tables);
 * - `ignore`: the target's schema is the user's; rows are written with the columns both share;
 * - `exception`: stop at the first DDL with {@link SchemaChangeRefusedError}.
 */
export type SchemaChangesMode = 'evolve' | 'lenient' | 'ignore' | 'exception';

export const SCHEMA_CHANGES_MODES = ['evolve', 'lenient', 'ignore', 'exception'] as const;

/** Flink CDC's default (`LENIENT` since 3.2): users of its pipelines get the behaviour they know. */
export const DEFAULT_SCHEMA_CHANGES: SchemaChangesMode = 'lenient';

/**
 * One thing to do to a target table. Every action is idempotent against the target's catalog (the
 * sink skips an add whose column exists, a rename already done, a drop already done), so a MySQL
 * target, where DDL commits before the batch, takes the batch again safely after a crash.
 */
export type TargetAction =
  /** Nullable (rows that exist have no value) with the source's default where it is a constant. */
  | { readonly kind: 'add-column'; readonly column: ColumnSchema; readonly default: string | null }
  | { readonly kind: 'drop-column'; readonly column: string }
  | { readonly kind: 'rename-column'; readonly from: string; readonly to: string }
  | { readonly kind: 'alter-type'; readonly column: ColumnSchema }
  | { readonly kind: 'drop-not-null'; readonly column: ColumnSchema }
  | { readonly kind: 'set-not-null'; readonly column: ColumnSchema }
  | { readonly kind: 'set-default'; readonly column: ColumnSchema; readonly default: string | null }
  | { readonly kind: 'drop-table' }
  | { readonly kind: 'rename-table'; readonly to: string }
  | { readonly kind: 'truncate' }
  /** Nothing is done to the target; `why` is logged. */
  | { readonly kind: 'keep'; readonly why: string }
  /** The batch fails: `exception` mode, or a change the mode cannot take without losing data. */
  | { readonly kind: 'refuse'; readonly why: string };

/** What the decision needs of a target dialect: its name and its type mapping (the one tables are created with). */
export interface TargetTypes {
  readonly name: 'postgres' | 'mysql';
  columnType(type: LogicalType, isKey: boolean): string;
}

/** A source change as the decision sees it: a DDL change, or a truncate (its own event). */
export type SourceDdl = DdlChange | { readonly kind: 'truncate-table' };

/**
 * The target actions for one source change under `mode` (pure: the sink runs them). `isKey` says
 * whether a column is part of the target table's key.
 */
export function targetActions(
  change: SourceDdl,
  mode: SchemaChangesMode,
  target: TargetTypes,
  isKey: (column: string) => boolean = () => false,
): TargetAction[] {
  if (change.kind === 'create-table') return []; // created by the sink in every mode (sink.createTables)
  if (mode === 'exception') return [{ kind: 'refuse', why: 'sink.schemaChanges is exception' }];
  if (mode === 'ignore')
    return [{ kind: 'keep', why: 'sink.schemaChanges is ignore: the target schema is left as it is' }];
  const lenient = mode === 'lenient';
  switch (change.kind) {
    case 'truncate-table':
      return lenient ? [{ kind: 'keep', why: 'lenient keeps the rows of a truncated table' }] : [{ kind: 'truncate' }];
    case 'drop-table':
      return lenient ? [{ kind: 'keep', why: 'lenient keeps a dropped table' }] : [{ kind: 'drop-table' }];
    case 'rename-table':
      return lenient
        ? [{ kind: 'keep', why: `lenient keeps the table (renamed to ${change.to} in the source) under its name` }]
        : [{ kind: 'rename-table', to: change.to }];
    case 'add-column':
      return [{ kind: 'add-column', column: change.column, default: constantDefault(change.column.default) }];
    case 'drop-column':
      if (isKey(change.column.name)) return [{ kind: 'refuse', why: 'a key column was dropped' }];
      return lenient
        ? [{ kind: 'drop-not-null', column: change.column }]
        : [{ kind: 'drop-column', column: change.column.name }];
    case 'rename-column':
      if (lenient) {
        if (isKey(change.from)) return [{ kind: 'refuse', why: 'a key column was renamed' }];
        return [
          { kind: 'add-column', column: { ...change.column, nullable: true }, default: null },
          { kind: 'drop-not-null', column: { ...change.column, name: change.from } },
        ];
      }
      return [{ kind: 'rename-column', from: change.from, to: change.column.name }];
    case 'change-type': {
      const key = isKey(change.column.name);
      if (target.columnType(change.from.type, key) === target.columnType(change.column.type, key)) {
        return [{ kind: 'keep', why: `the target type is ${target.columnType(change.column.type, key)} either way` }];
      }
      if (change.change === 'widening') return [{ kind: 'alter-type', column: change.column }];
      if (change.change === 'narrowing') {
        return [{ kind: 'keep', why: 'a narrowing type change: the wider target type holds every new value' }];
      }
      return lenient
        ? [{ kind: 'refuse', why: 'an incompatible type change cannot be applied without converting stored values' }]
        : [{ kind: 'alter-type', column: change.column }];
    }
    case 'change-nullability':
      if (change.nullable) return [{ kind: 'drop-not-null', column: change.column }];
      return lenient
        ? [{ kind: 'keep', why: 'lenient keeps target columns nullable' }]
        : [{ kind: 'set-not-null', column: change.column }];
    case 'change-default':
      return lenient
        ? [{ kind: 'keep', why: 'lenient leaves target defaults (rows carry their values)' }]
        : [{ kind: 'set-default', column: change.column, default: constantDefault(change.to) }];
  }
}

/** Every DDL kind a source reports, for tables and docs that go through all of them. */
export const DDL_KINDS: readonly DdlKind[] = [
  'create-table',
  'drop-table',
  'rename-table',
  'truncate-table',
  'add-column',
  'drop-column',
  'rename-column',
  'change-type',
  'change-nullability',
  'change-default',
];
