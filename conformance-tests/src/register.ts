import { afterAll, beforeAll, describe, it } from 'vitest';
import { capabilitiesOf, checkCaseIds, skipReason } from './capabilities.js';
import type { ConformanceConfig } from './case.js';
import { conformanceCases } from './cases/index.js';
import { runSeedOf, runStartedCase } from './run-case.js';

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Registers the Highwater conformance suite for one adapter as a vitest `describe` block: one test
 * per case, run one after another on a harness started once (`beforeAll`) and stopped at the end.
 * A case the adapter or harness lacks a capability for is registered as skipped, with the reason in
 * its title — cases are skipped by declared capability only, never by adapter name.
 *
 * The run's seed is printed; replay a failure with `HIGHWATER_SEED=<seed>`.
 *
 * @example
 * // test/my-adapter.conformance.test.ts
 * import { registerConformanceTests } from '@highwater/conformance';
 * import { MyDatabaseHarness } from './my-harness.js';
 *
 * registerConformanceTests({ harness: new MyDatabaseHarness(process.env.MYDB_URL) });
 *
 * @example
 * // Run a subset, or skip a case with a stated reason:
 * registerConformanceTests({
 *   harness,
 *   only: ['snapshot-concurrent-writes', 'crash-resume'],
 *   skip: { 'startup-timestamp': 'the server clock is not synchronised in CI' },
 * });
 */
export function registerConformanceTests<O, A>(config: ConformanceConfig<O, A>): void {
  const { harness } = config;
  checkCaseIds(config, conformanceCases);
  const capabilities = capabilitiesOf(harness);
  const seed = runSeedOf(config);
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = config.log ?? ((message: string) => console.info(message));
  const cases = conformanceCases.filter((c) => config.only === undefined || config.only.includes(c.id));

  describe(`Highwater conformance: ${harness.name}`, () => {
    beforeAll(async () => {
      log(`Highwater conformance (${harness.name}): seed ${seed} — replay with HIGHWATER_SEED=${seed}`);
      await harness.start();
    }, 120_000);
    afterAll(() => harness.stop(), 120_000);

    for (const c of cases) {
      const reason = skipReason(c, config, capabilities);
      if (reason !== null) {
        it.skip(`${c.id}: ${c.title} — skipped: ${reason}`, () => undefined);
        continue;
      }
      // The case enforces its own time limit with a clear message; vitest's is a backstop.
      it(`${c.id}: ${c.title}`, () => runStartedCase(c, { ...config, timeoutMs }, seed), timeoutMs + 15_000);
    }
  });
}
