import type { Checkpoint } from '../../src/checkpoint/checkpoint.js';

/** A checkpoint with one table of each phase and every splitter strategy. */
export function sampleCheckpoint(overrides: Partial<Checkpoint> = {}): Checkpoint {
  return {
    version: 1,
    connector: 'postgres',
    position: { commitLsn: '0/16B3748', lsn: '0/16B3790', seq: 3 },
    complete: false,
    tables: {
      'public.orders': {
        phase: 'snapshot',
        splitter: {
          nextIndex: 5,
          nextStart: [{ $bigint: '9007199254740993' }],
          done: false,
          strategy: { kind: 'walk' },
        },
        unfinished: [
          { index: 3, start: [300], end: [400] },
          { index: 4, start: [400], end: [{ $bigint: '9007199254740993' }] },
        ],
        splitsDone: 3,
        rowsRead: 24_288,
      },
      'public.users': {
        phase: 'snapshot',
        splitter: {
          nextIndex: 2,
          nextStart: [16_192],
          done: false,
          strategy: { kind: 'even', step: '8096', max: '1000000' },
        },
        unfinished: [{ index: 1, start: [8096], end: [16_192] }],
        splitsDone: 1,
        rowsRead: 8096,
      },
      'public.fresh': {
        phase: 'snapshot',
        splitter: { nextIndex: 0, nextStart: null, done: false, strategy: { kind: 'undecided' } },
        unfinished: [],
        splitsDone: 0,
        rowsRead: 0,
      },
      'public.empty': {
        phase: 'snapshot',
        splitter: { nextIndex: 1, nextStart: null, done: true, strategy: { kind: 'walk' } },
        unfinished: [{ index: 0, start: null, end: null }],
        splitsDone: 0,
        rowsRead: 0,
      },
      'public.events': { phase: 'stream' },
      'public.ünïcødé 表 🚀': { phase: 'stream' },
    },
    ...overrides,
  };
}

/** A copy of `value` as plain mutable JSON, for building broken checkpoints. */
export function mutableCopy(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
