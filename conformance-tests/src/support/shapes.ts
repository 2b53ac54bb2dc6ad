import type { ChunkRange, Row, Value } from '@highwater/core';
import type { Random } from './random.js';
import type { RowShape } from './writer.js';

function boundOf(bound: readonly Value[] | null): number | null {
  if (bound === null) return null;
  const v = bound[0];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`an integer chunk bound was expected, got ${String(v)}`);
}

/**
 * `(id int64 primary key, v string, n int32)` with integer keys drawn from `[min, max]`; knows
 * chunk ranges over `id`, so hooks can write inside the chunk being read.
 */
export function intKeyShape(options: { readonly min: number; readonly max: number }): RowShape {
  const row = (id: number, random: Random): Row => ({ id, v: `v${random.int(1_000_000)}`, n: random.int(1000) });
  return {
    columns: [
      { name: 'id', type: { kind: 'int64' } },
      { name: 'v', type: { kind: 'string' } },
      { name: 'n', type: { kind: 'int32' } },
    ],
    keyColumns: ['id'],
    fresh(random, taken) {
      for (let i = 0; i < 20; i++) {
        const candidate = row(random.between(options.min, options.max), random);
        if (!taken(candidate)) return candidate;
      }
      for (let id = options.max + 1; ; id++) if (!taken({ id })) return row(id, random);
    },
    change: (_row, random): Row => (random.chance(0.5) ? { v: `u${random.int(1_000_000)}` } : { n: random.int(1000) }),
    inRange(range, r) {
      const id = r.id as number;
      const start = boundOf(range.start);
      const end = boundOf(range.end);
      return (start === null || id >= start) && (end === null || id < end);
    },
    freshIn(range: ChunkRange, random, taken) {
      const start = boundOf(range.start);
      const end = boundOf(range.end);
      // Candidates near the chunk's lower bound (or below its upper bound when it starts unbounded).
      const from = start ?? (end ?? options.max + 1) - 64;
      const to = end ?? from + 64;
      if (to <= from) return null;
      for (let i = 0; i < 10; i++) {
        const candidate = row(from + random.int(Math.min(64, to - from)), random);
        if (!taken(candidate)) return candidate;
      }
      for (let id = from; id < to && id < from + 10_000; id++) if (!taken({ id })) return row(id, random);
      return null;
    },
  };
}

/** `(region string, seq int32, v string)` keyed on `(region, seq)`. */
export function compositeKeyShape(emptyStrings: boolean): RowShape {
  const regions = ['eu', 'us-east', 'apac', 'über', '東京', ...(emptyStrings ? [''] : [])];
  return {
    columns: [
      { name: 'region', type: { kind: 'string' } },
      { name: 'seq', type: { kind: 'int32' } },
      { name: 'v', type: { kind: 'string' } },
    ],
    keyColumns: ['region', 'seq'],
    fresh(random, taken) {
      for (;;) {
        const candidate = { region: random.pick(regions), seq: random.between(-50, 400), v: `v${random.int(1e6)}` };
        if (!taken(candidate)) return candidate;
      }
    },
    change: (_row, random) => ({ v: `u${random.int(1e6)}` }),
  };
}

/**
 * `(k string primary key, v string)` with keys that stress collations and encodings: empty,
 * quotes, backslashes, accents, CJK, Greek, emoji, spaces and tabs. No two keys are equal under a
 * case- or accent-insensitive collation, so a database with one (MySQL's default) holds them all.
 */
export function stringKeyShape(emptyStrings: boolean): RowShape {
  const prefixes = ['k', 'ä', '日本', '🎉', 'ω', 'z z', 'ø-', '\\'];
  const specials = [
    ...(emptyStrings ? [''] : []),
    'plain',
    "it's",
    'back\\slash',
    'ünïcödé',
    '日本語テキスト',
    'Ελληνικά',
    '🎉 party',
    'tab\there',
    '%_like',
    'line\nbreak',
    'x'.repeat(200),
  ];
  return {
    columns: [
      { name: 'k', type: { kind: 'string' } },
      { name: 'v', type: { kind: 'string' } },
    ],
    keyColumns: ['k'],
    fresh(random, taken) {
      const unused = specials.filter((k) => !taken({ k }));
      if (unused.length > 0 && random.chance(0.3)) return { k: random.pick(unused), v: `v${random.int(1e6)}` };
      for (;;) {
        const candidate = { k: `${random.pick(prefixes)}${random.int(100_000)}`, v: `v${random.int(1e6)}` };
        if (!taken(candidate)) return candidate;
      }
    },
    change: (_row, random) => ({ v: `u${random.int(1e6)}` }),
  };
}

/** `(id uuid primary key, v string)`, random version-4 UUIDs in canonical lower case. */
export function uuidKeyShape(): RowShape {
  return {
    columns: [
      { name: 'id', type: { kind: 'uuid' } },
      { name: 'v', type: { kind: 'string' } },
    ],
    keyColumns: ['id'],
    fresh(random, taken) {
      for (;;) {
        const candidate = { id: randomUuid(random), v: `v${random.int(1e6)}` };
        if (!taken(candidate)) return candidate;
      }
    },
    change: (_row, random) => ({ v: `u${random.int(1e6)}` }),
  };
}

export function randomUuid(random: Random): string {
  const hex = Array.from({ length: 32 }, () => random.int(16).toString(16));
  hex[12] = '4';
  hex[16] = (8 + random.int(4)).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** Far outliers around a dense block of keys (both signs, up to 2^53 − 1). */
export const SKEWED_OUTLIERS: readonly number[] = [
  -1_000_000_000_000,
  -(2 ** 31),
  1_000_000,
  1_000_000_000,
  2 ** 40,
  2 ** 53 - 1,
];

/** Integer keys: a dense block `0..dense-1` plus far outliers on both sides (skewed, for the boundary walk). */
export function skewedKeyShape(dense: number): RowShape {
  const base = intKeyShape({ min: 0, max: dense + 50 });
  return {
    ...base,
    fresh(random, taken) {
      if (random.chance(0.3)) {
        const id = random.chance(0.5)
          ? random.pick(SKEWED_OUTLIERS) + random.between(-1000, -1)
          : random.between(dense, 10 ** 12);
        const candidate = { id, v: `v${random.int(1e6)}`, n: random.int(1000) };
        if (!taken(candidate)) return candidate;
      }
      return base.fresh(random, taken);
    },
    inRange: undefined,
    freshIn: undefined,
  };
}
