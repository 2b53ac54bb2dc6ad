import type { ColumnSchema, DdlChange, LogicalType } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { mysqlDialect } from '@highwater/sink-mysql';
import { postgresDialect } from '@highwater/sink-postgres';
import {
  DDL_KINDS,
  SCHEMA_CHANGES_MODES,
  type SchemaChangesMode,
  type SourceDdl,
  type TargetAction,
  targetActions,
} from '../src/schema-evolution.js';

const col = (name: string, type: LogicalType, extra: Partial<ColumnSchema> = {}): ColumnSchema => ({
  name,
  type,
  nativeType: type.kind,
  nullable: true,
  ...extra,
});
const int = col('n', { kind: 'int32' });
const big = col('n', { kind: 'int64' });
const text = col('n', { kind: 'string' });

/** One source change of every kind (type changes once per class). */
const CHANGES: Record<string, SourceDdl> = {
  'create-table': { kind: 'create-table' },
  'drop-table': { kind: 'drop-table' },
  'rename-table': { kind: 'rename-table', to: 'src.renamed' },
  'truncate-table': { kind: 'truncate-table' },
  'add-column': { kind: 'add-column', column: col('d', { kind: 'string' }) },
  'add-column with default': { kind: 'add-column', column: col('d', { kind: 'string' }, { default: "'x'::text" }) },
  'drop-column': { kind: 'drop-column', column: int },
  'rename-column': { kind: 'rename-column', from: 'm', column: int },
  'change-type widening': { kind: 'change-type', column: big, from: int, change: 'widening' },
  'change-type narrowing': { kind: 'change-type', column: int, from: big, change: 'narrowing' },
  'change-type incompatible': { kind: 'change-type', column: int, from: text, change: 'incompatible' },
  'change-nullability to nullable': { kind: 'change-nullability', column: int, nullable: true },
  'change-nullability to NOT NULL': { kind: 'change-nullability', column: int, nullable: false },
  'change-default': { kind: 'change-default', column: int, to: '7' },
};

/** What each mode does per change, as action kinds (the behaviour table of docs/sinks.md). */
const EXPECTED: Record<string, Record<SchemaChangesMode, string>> = {
  'create-table': { evolve: '', lenient: '', ignore: '', exception: '' },
  'drop-table': { evolve: 'drop-table', lenient: 'keep', ignore: 'keep', exception: 'refuse' },
  'rename-table': { evolve: 'rename-table', lenient: 'keep', ignore: 'keep', exception: 'refuse' },
  'truncate-table': { evolve: 'truncate', lenient: 'keep', ignore: 'keep', exception: 'refuse' },
  'add-column': { evolve: 'add-column', lenient: 'add-column', ignore: 'keep', exception: 'refuse' },
  'add-column with default': { evolve: 'add-column', lenient: 'add-column', ignore: 'keep', exception: 'refuse' },
  'drop-column': { evolve: 'drop-column', lenient: 'drop-not-null', ignore: 'keep', exception: 'refuse' },
  'rename-column': {
    evolve: 'rename-column',
    lenient: 'add-column drop-not-null',
    ignore: 'keep',
    exception: 'refuse',
  },
  'change-type widening': { evolve: 'alter-type', lenient: 'alter-type', ignore: 'keep', exception: 'refuse' },
  'change-type narrowing': { evolve: 'keep', lenient: 'keep', ignore: 'keep', exception: 'refuse' },
  'change-type incompatible': { evolve: 'alter-type', lenient: 'refuse', ignore: 'keep', exception: 'refuse' },
  'change-nullability to nullable': {
    evolve: 'drop-not-null',
    lenient: 'drop-not-null',
    ignore: 'keep',
    exception: 'refuse',
  },
  'change-nullability to NOT NULL': { evolve: 'set-not-null', lenient: 'keep', ignore: 'keep', exception: 'refuse' },
  'change-default': { evolve: 'set-default', lenient: 'keep', ignore: 'keep', exception: 'refuse' },
};

const kinds = (actions: readonly TargetAction[]) => actions.map((a) => a.kind).join(' ');

describe('targetActions: DDL kind × mode × dialect', () => {
  it('covers every DDL kind a source reports', () => {
    const covered = new Set(Object.values(CHANGES).map((c) => c.kind));
    expect([...covered].sort()).toEqual([...DDL_KINDS].sort());
  });

  for (const dialect of [postgresDialect, mysqlDialect]) {
    for (const [name, change] of Object.entries(CHANGES)) {
      for (const mode of SCHEMA_CHANGES_MODES) {
        it(`${dialect.name}: ${name} under ${mode} → ${EXPECTED[name]?.[mode] || 'nothing'}`, () => {
          expect(kinds(targetActions(change, mode, dialect))).toBe(EXPECTED[name]?.[mode]);
        });
      }
    }
  }

  it('adds a column with the source default when it is a constant, without one otherwise', () => {
    const add = (d: string) =>
      targetActions(
        { kind: 'add-column', column: col('d', { kind: 'string' }, { default: d }) },
        'evolve',
        postgresDialect,
      );
    expect(add("'x'::text")).toEqual([expect.objectContaining({ kind: 'add-column', default: "'x'" })]);
    expect(add('now()')).toEqual([expect.objectContaining({ kind: 'add-column', default: null })]);
  });

  it('a type change the target maps to the same column type needs nothing (MySQL keys are VARCHAR(255) either way)', () => {
    const from = col('k', { kind: 'string', length: 300 });
    const to = col('k', { kind: 'string', length: 400 });
    const change: DdlChange = { kind: 'change-type', column: to, from, change: 'widening' };
    expect(kinds(targetActions(change, 'evolve', mysqlDialect, (c) => c === 'k'))).toBe('keep');
    expect(kinds(targetActions(change, 'evolve', postgresDialect, (c) => c === 'k'))).toBe('alter-type');
  });

  it('refuses to drop or (leniently) rename a key column: rows could no longer be matched', () => {
    const isKey = (c: string) => c === 'n' || c === 'm';
    expect(kinds(targetActions(CHANGES['drop-column'] as SourceDdl, 'evolve', postgresDialect, isKey))).toBe('refuse');
    expect(kinds(targetActions(CHANGES['rename-column'] as SourceDdl, 'lenient', mysqlDialect, isKey))).toBe('refuse');
    expect(kinds(targetActions(CHANGES['rename-column'] as SourceDdl, 'evolve', mysqlDialect, isKey))).toBe(
      'rename-column',
    );
  });
});
