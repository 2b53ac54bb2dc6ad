import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint/parse-checkpoint.js';
import { CheckpointError } from '../../src/errors/errors.js';
import { mutableCopy, sampleCheckpoint } from './sample-checkpoints.js';

const MISSING = Symbol('missing');
type Path = readonly (string | number)[];

/** A copy of the sample checkpoint with the value at `path` replaced (or removed, for MISSING). */
function broken(path: Path, value: unknown): Record<string, unknown> {
  const root = mutableCopy(sampleCheckpoint());
  let node: Record<string | number, unknown> = root;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === MISSING) delete node[last];
  else node[last] = value;
  return root;
}

function errorOf(json: unknown): CheckpointError {
  try {
    parseCheckpoint(json, 'state/checkpoint.json');
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error('parseCheckpoint accepted an invalid checkpoint');
}

const orders = ['tables', 'public.orders'] as const;

describe('parseCheckpoint', () => {
  it('accepts a valid checkpoint and returns an equal deep copy', () => {
    const input = sampleCheckpoint();
    const parsed = parseCheckpoint(input, 'test');
    expect(parsed).toEqual(input);
    expect(parsed).not.toBe(input);
    expect(parsed.tables).not.toBe(input.tables);
    expect(parsed.position).not.toBe(input.position);
  });

  it('keeps the table definitions (schemas) and refuses a malformed one, naming the field', () => {
    const schema = {
      id: { schema: 'public', name: 'orders' },
      columns: [{ name: 'id', type: { kind: 'int32' }, nativeType: 'integer', nullable: false }],
      primaryKey: ['id'],
      chunkKey: ['id'],
      sourceIds: { table: 16384, columns: { id: 1 } },
    };
    const withSchemas = { ...sampleCheckpoint(), schemas: { 'public.orders': schema } };
    expect(parseCheckpoint(withSchemas, 'test').schemas).toEqual({ 'public.orders': schema });
    const bad = { ...withSchemas, schemas: { 'public.orders': { ...schema, columns: [{ name: 'id' }] } } };
    expect(errorOf(bad).message).toContain('schemas["public.orders"].columns[0].nativeType must be a string');
    expect(errorOf({ ...withSchemas, schemas: [] }).message).toContain('schemas must be an object');
  });

  it('accepts what JSON.stringify and JSON.parse made of a checkpoint', () => {
    const input = sampleCheckpoint({ position: null, complete: true });
    expect(parseCheckpoint(JSON.parse(JSON.stringify(input)), 'test')).toEqual(input);
  });

  it('drops fields it does not know', () => {
    const json = mutableCopy(sampleCheckpoint());
    json.comment = 'written by a later release';
    (json.tables as Record<string, Record<string, unknown>>)['public.events']!.extra = 1;
    const parsed = parseCheckpoint(json, 'test');
    expect(parsed).toEqual(sampleCheckpoint());
    expect('comment' in parsed).toBe(false);
  });

  it('keeps a table named __proto__ as a table, without touching prototypes', () => {
    const text =
      '{"version":1,"connector":"x","position":{"__proto__":1},"complete":false,"tables":{"__proto__":{"phase":"stream"}}}';
    const parsed = parseCheckpoint(JSON.parse(text), 'test');
    expect(Object.keys(parsed.tables)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed.tables)).toBe(Object.prototype);
    expect(Object.keys(parsed.position as object)).toEqual(['__proto__']);
    expect(JSON.stringify(parsed)).toBe(text);
  });

  it('refuses values JSON cannot hold in JSON fields', () => {
    expect(errorOf(broken(['position'], Number.NaN)).message).toBe(
      'state/checkpoint.json: position must be JSON (a finite number), found NaN',
    );
    expect(errorOf(broken(['position'], { lsn: 10n })).message).toBe(
      'state/checkpoint.json: position["lsn"] must be JSON, found the bigint 10',
    );
    expect(errorOf(broken([...orders, 'unfinished', 0, 'start'], [new Date(0)])).message).toBe(
      'state/checkpoint.json: tables["public.orders"].unfinished[0].start[0] must be JSON, found a Date',
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(errorOf(broken(['position'], cyclic)).message).toBe(
      'state/checkpoint.json: position["self"] must be JSON (not a cyclic structure), found an object',
    );
  });

  // Each case: what is broken, and the exact message (path, expectation, what was found).
  const cases: Array<[string, unknown, string]> = [
    ['an array', [], 'the checkpoint must be a JSON object, found an array of 0'],
    ['null', null, 'the checkpoint must be a JSON object, found null'],
    ['a string', 'checkpoint', 'the checkpoint must be a JSON object, found the string "checkpoint"'],
    [
      'a later version',
      broken(['version'], 2),
      'version must be 1 (the only checkpoint format this release reads), found 2',
    ],
    [
      'no version',
      broken(['version'], MISSING),
      'version must be 1 (the only checkpoint format this release reads), found nothing (the field is missing)',
    ],
    ['a numeric connector', broken(['connector'], 7), 'connector must be a string, found 7'],
    ['an empty connector', broken(['connector'], ''), 'connector must be the adapter name, found the string ""'],
    ['no position', broken(['position'], MISSING), 'position must be JSON, found nothing (the field is missing)'],
    ['complete as a string', broken(['complete'], 'yes'), 'complete must be true or false, found the string "yes"'],
    [
      'tables as an array',
      broken(['tables'], [{ phase: 'stream' }]),
      'tables must be an object of table name to table progress, found an array of 1',
    ],
    [
      'a table as a string',
      broken([...orders], 'done'),
      'tables["public.orders"] must be an object, found the string "done"',
    ],
    [
      'an unknown phase',
      broken([...orders, 'phase'], 'snap'),
      `tables["public.orders"].phase must be 'snapshot' or 'stream', found the string "snap"`,
    ],
    [
      'no splitter',
      broken([...orders, 'splitter'], MISSING),
      'tables["public.orders"].splitter must be an object, found nothing (the field is missing)',
    ],
    [
      'a negative nextIndex',
      broken([...orders, 'splitter', 'nextIndex'], -1),
      'tables["public.orders"].splitter.nextIndex must be a non-negative integer, found -1',
    ],
    [
      'a fractional nextIndex',
      broken([...orders, 'splitter', 'nextIndex'], 5.5),
      'tables["public.orders"].splitter.nextIndex must be a non-negative integer, found 5.5',
    ],
    [
      'no nextStart',
      broken([...orders, 'splitter', 'nextStart'], MISSING),
      'tables["public.orders"].splitter.nextStart must be JSON, found nothing (the field is missing)',
    ],
    [
      'done as a number',
      broken([...orders, 'splitter', 'done'], 0),
      'tables["public.orders"].splitter.done must be true or false, found 0',
    ],
    [
      'an unknown strategy',
      broken([...orders, 'splitter', 'strategy', 'kind'], 'fast'),
      `tables["public.orders"].splitter.strategy.kind must be 'undecided', 'even' or 'walk', found the string "fast"`,
    ],
    [
      'an even strategy without step',
      broken(['tables', 'public.users', 'splitter', 'strategy', 'step'], MISSING),
      'tables["public.users"].splitter.strategy.step must be a string, found nothing (the field is missing)',
    ],
    [
      'an even strategy with a numeric max',
      broken(['tables', 'public.users', 'splitter', 'strategy', 'max'], 1e6),
      'tables["public.users"].splitter.strategy.max must be a string, found 1000000',
    ],
    [
      'unfinished as an object',
      broken([...orders, 'unfinished'], {}),
      'tables["public.orders"].unfinished must be an array of splits, found an object',
    ],
    [
      'a split without index',
      broken([...orders, 'unfinished', 1, 'index'], MISSING),
      'tables["public.orders"].unfinished[1].index must be a non-negative integer, found nothing (the field is missing)',
    ],
    [
      'a split without end',
      broken([...orders, 'unfinished', 0, 'end'], MISSING),
      'tables["public.orders"].unfinished[0].end must be JSON, found nothing (the field is missing)',
    ],
    [
      'a split not produced yet',
      broken([...orders, 'unfinished', 1, 'index'], 5),
      `tables["public.orders"].unfinished[1].index must be below the splitter's nextIndex (5): only produced splits can be unfinished, found 5`,
    ],
    [
      'a split listed twice',
      broken([...orders, 'unfinished', 1, 'index'], 3),
      'tables["public.orders"].unfinished[1].index must be unique among the unfinished splits, found 3',
    ],
    [
      'no splitsDone',
      broken([...orders, 'splitsDone'], MISSING),
      'tables["public.orders"].splitsDone must be a non-negative integer, found nothing (the field is missing)',
    ],
    [
      'rowsRead as a string',
      broken([...orders, 'rowsRead'], '24288'),
      'tables["public.orders"].rowsRead must be a non-negative integer, found the string "24288"',
    ],
    [
      'a table name with unicode',
      broken(['tables', 'public.ünïcødé 表 🚀', 'phase'], null),
      `tables["public.ünïcødé 表 🚀"].phase must be 'snapshot' or 'stream', found null`,
    ],
  ];

  it.each(cases)('refuses %s, naming the field and what it found', (_what, json, message) => {
    const error = errorOf(json);
    expect(error.message).toBe(`state/checkpoint.json: ${message}`);
    expect(error.code).toBe('HW_CHECKPOINT_INVALID');
    expect(error.retriable).toBe(false);
  });

  it('shortens long strings in messages', () => {
    const message = errorOf(broken(['complete'], 'x'.repeat(500))).message;
    expect(message.length).toBeLessThan(150);
    expect(message).toContain('..."');
  });
});
