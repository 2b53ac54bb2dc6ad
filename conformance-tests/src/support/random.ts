/** A seeded pseudo-random source (mulberry32): the same seed gives the same run, so failures replay. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An independent stream derived from this one's seed and a label (stable whatever else was drawn). */
  fork(label: string): Random;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random: Random = {
    next,
    int: (n) => Math.floor(next() * n),
    between: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    fork: (label) => createRandom(mixSeed(seed, label)),
  };
  return random;
}

/** A seed for `label` derived from `seed` (FNV-1a over the label, mixed with the seed). */
export function mixSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

let processSeed: number | null = null;

/** A seed from the environment (`HIGHWATER_SEED`), or one drawn once per process (so every registration shares it). */
export function seedFromEnvironment(): number {
  const given = typeof process === 'undefined' ? undefined : process.env.HIGHWATER_SEED;
  if (given !== undefined && given !== '' && Number.isSafeInteger(Number(given))) return Number(given) >>> 0;
  processSeed ??= Math.floor(Math.random() * 2 ** 31);
  return processSeed;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
