import { afterAll, beforeAll, describe, it } from 'vitest';
import { createRandom, mixSeed } from '../support/random.js';
import { type SinkCase, sinkCases } from './cases.js';
import type { SinkHarness } from './harness.js';

export interface SinkConformanceConfig {
  readonly harness: SinkHarness;
  /** Run only these cases. */
  readonly only?: readonly string[];
  /** Cases not run, each with the reason shown in its title. */
  readonly skip?: { readonly [caseId: string]: string };
  /** Per-case time limit (default 120 s: the large cases write 45 000 rows). */
  readonly timeoutMs?: number;
  /** Default: `HIGHWATER_SEED`, else random (printed, so a failure replays). */
  readonly seed?: number;
  readonly log?: (message: string) => void;
}

/**
 * Runs one sink case outside {@link registerSinkConformanceTests} (the harness already started):
 * resolves when it passes, rejects with a `SinkConformanceFailure` saying what differs.
 */
export async function runSinkCase(
  c: SinkCase,
  harness: SinkHarness,
  options: { readonly seed: number; readonly target?: string; readonly log?: (message: string) => void },
): Promise<void> {
  await c.run({
    harness,
    target: options.target ?? `cf_${c.id.replace(/-/g, '_')}`,
    random: createRandom(mixSeed(options.seed, c.id)),
    log: options.log ?? (() => undefined),
  });
}

function skipReason(c: SinkCase, config: SinkConformanceConfig): string | null {
  const given = config.skip?.[c.id];
  if (given !== undefined) return given;
  const { harness } = config;
  for (const need of c.needs ?? []) {
    if (need === 'tables' && harness.stores !== 'tables') return 'the sink keeps events, not rows per key';
    if (need === 'checkpoints' && !harness.storesCheckpoints) {
      return 'the sink does not store checkpoints (at-least-once with a checkpoint store)';
    }
    if (need === 'abandon' && harness.abandon === undefined) return 'the harness cannot abandon a sink (no abandon())';
  }
  return null;
}

/**
 * Registers the sink conformance suite for one sink as a vitest `describe` block: one test per case,
 * each on its own destination (`target`: `<case id with _>` plus a run-unique suffix). Cases that
 * need what the harness lacks are registered as skipped with the reason; a sink that stores
 * checkpoints must not skip the crash case.
 *
 * @example
 * // test/my-sink.conformance.test.ts
 * import { registerSinkConformanceTests } from '@highwater/conformance/sink';
 * registerSinkConformanceTests({ harness: new MySinkHarness() });
 */
export function registerSinkConformanceTests(config: SinkConformanceConfig): void {
  const { harness } = config;
  const known = new Set(sinkCases.map((c) => c.id));
  for (const id of [...(config.only ?? []), ...Object.keys(config.skip ?? {})]) {
    if (!known.has(id)) throw new Error(`sink conformance: no case ${id} (cases: ${[...known].join(', ')})`);
  }
  const envSeed = Number(process.env.HIGHWATER_SEED);
  const seed = config.seed ?? (Number.isInteger(envSeed) ? envSeed : Math.floor(Math.random() * 2 ** 31));
  const log = config.log ?? ((message: string) => console.info(message));
  const timeoutMs = config.timeoutMs ?? 120_000;
  const run = seed.toString(36).slice(-4);

  describe(`Highwater sink conformance: ${harness.name}`, () => {
    beforeAll(async () => {
      log(`Highwater sink conformance (${harness.name}): seed ${seed} — replay with HIGHWATER_SEED=${seed}`);
      await harness.start?.();
    }, 120_000);
    afterAll(() => harness.stop?.(), 120_000);

    for (const c of sinkCases) {
      if (config.only !== undefined && !config.only.includes(c.id)) continue;
      const reason = skipReason(c, config);
      if (reason !== null) {
        it.skip(`${c.id}: ${c.title} — skipped: ${reason}`, () => undefined);
        continue;
      }
      it(
        `${c.id}: ${c.title}`,
        async () => {
          await runSinkCase(c, harness, { seed, target: `cf_${c.id.replace(/-/g, '_')}_${run}`, log });
        },
        timeoutMs,
      );
    }
  });
}
