import { describe, expect, it } from 'vitest';
import {
  type ColumnSchema,
  compareTypes,
  constantDefault,
  diffTableSchemas,
  type LogicalType,
  type TableSchema,
} from '../../src/index.js';

const col = (name: string, type: LogicalType, extra: Partial<ColumnSchema> = {}): ColumnSchema => ({
  name,
  type,
  nativeType: type.kind,
  nullable: true,
  ...extra,
});

const table = (...columns: ColumnSchema[]): TableSchema => ({
  id: { schema: 's', name: 't' },
  columns,
  primaryKey: ['id'],
  chunkKey: ['id'],
});

const id = col('id', { kind: 'int32' }, { nullable: false });

describe('diffTableSchemas', () => {
  it('reports every kind of column change of one relation message, in column order, drops last', () => {
    const before = table(id, col('a', { kind: 'int32' }), col('b', { kind: 'string' }), col('c', { kind: 'date' }));
    const after = table(
      id,
      col('a', { kind: 'int64' }, { nullable: false, default: '0' }),
      col('b2', { kind: 'string' }),
      col('d', { kind: 'string', length: 5 }, { default: "'x'::text" }),
    );
    expect(diffTableSchemas(before, after, { renamedColumns: { b2: 'b' } })).toEqual([
      { kind: 'change-type', column: after.columns[1], from: before.columns[1], change: 'widening' },
      { kind: 'change-nullability', column: after.columns[1], nullable: false },
      { kind: 'change-default', column: after.columns[1], to: '0' },
      { kind: 'rename-column', from: 'b', column: after.columns[2] },
      { kind: 'add-column', column: after.columns[3] },
      { kind: 'drop-column', column: before.columns[3] },
    ]);
  });

  it('without a rename hint a renamed column is a drop and an add', () => {
    const kinds = diffTableSchemas(table(id, col('a', { kind: 'int32' })), table(id, col('b', { kind: 'int32' })));
    expect(kinds.map((c) => c.kind)).toEqual(['add-column', 'drop-column']);
  });

  it('reports new, dropped and renamed tables', () => {
    const t = table(id);
    expect(diffTableSchemas(null, t)).toEqual([{ kind: 'create-table' }]);
    expect(diffTableSchemas(t, null)).toEqual([{ kind: 'drop-table' }]);
    expect(diffTableSchemas(t, null, { renamedTo: 's.u' })).toEqual([{ kind: 'rename-table', to: 's.u' }]);
    expect(diffTableSchemas(t, t)).toEqual([]);
  });
});

describe('compareTypes', () => {
  const cases: [LogicalType, LogicalType, ReturnType<typeof compareTypes>][] = [
    [{ kind: 'int32' }, { kind: 'int64' }, 'widening'],
    [{ kind: 'int64' }, { kind: 'int32' }, 'narrowing'],
    [{ kind: 'int16' }, { kind: 'float64' }, 'widening'],
    [{ kind: 'int64' }, { kind: 'float64' }, 'incompatible'],
    [{ kind: 'int32' }, { kind: 'decimal', precision: 12, scale: 2 }, 'widening'],
    [{ kind: 'int32' }, { kind: 'decimal', precision: 9, scale: 0 }, 'incompatible'],
    [{ kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 12, scale: 3 }, 'widening'],
    [{ kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 10, scale: 3 }, 'incompatible'],
    [{ kind: 'decimal', precision: 12, scale: 3 }, { kind: 'decimal', precision: 10, scale: 2 }, 'narrowing'],
    [{ kind: 'string', length: 50 }, { kind: 'string', length: 500 }, 'widening'],
    [{ kind: 'string', length: 500 }, { kind: 'string' }, 'widening'],
    [{ kind: 'string' }, { kind: 'string', length: 50 }, 'narrowing'],
    [{ kind: 'string' }, { kind: 'int32' }, 'incompatible'],
    [{ kind: 'float32' }, { kind: 'float64' }, 'widening'],
    [{ kind: 'timestamp', precision: 3 }, { kind: 'timestamp', precision: 6 }, 'widening'],
    [{ kind: 'timestamp' }, { kind: 'timestamptz' }, 'incompatible'],
    [{ kind: 'enum', values: ['a'] }, { kind: 'enum', values: ['a', 'b'] }, 'widening'],
    [{ kind: 'bits', length: 4, varying: true }, { kind: 'bits', length: 8, varying: true }, 'widening'],
    [{ kind: 'array', element: { kind: 'int32' } }, { kind: 'array', element: { kind: 'int64' } }, 'widening'],
    [{ kind: 'uuid' }, { kind: 'uuid' }, 'same'],
  ];
  it.each(cases)('%j → %j is %s', (from, to, expected) => {
    expect(compareTypes(from, to)).toBe(expected);
  });
});

describe('constantDefault', () => {
  it.each([
    ['42', '42'],
    ['-1.5', '-1.5'],
    ['(-5)', '-5'],
    ["'new'::text", "'new'"],
    ["'it''s'::character varying", "'it''s'"],
    ["'new'", "'new'"],
    ['true', 'TRUE'],
    ['now()', null],
    ["nextval('t_id_seq'::regclass)", null],
    ['current_timestamp()', null],
  ])('%s → %s', (text, expected) => {
    expect(constantDefault(text)).toBe(expected);
  });
  it('has none without a default', () => expect(constantDefault(undefined)).toBeNull());
});
