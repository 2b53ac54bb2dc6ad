import { createSource as coreCreateSource, type Source, type SourceAdapter, type SourceOptions } from '@highwater/core';
import { capabilitiesOf, capabilityMismatch, skipReason } from './capabilities.js';
import type { CaseContext, ConformanceCase, ConformanceConfig } from './case.js';
import type { ConformanceHarness } from './harness.js';
import { ConformanceFailure, fail } from './support/failure.js';
import { createRandom, mixSeed, seedFromEnvironment } from './support/random.js';
import { Serial } from './support/serial.js';

/** How a case ended when it did not fail (a failure is thrown). */
export type CaseOutcome = { readonly status: 'passed' } | { readonly status: 'skipped'; readonly reason: string };

const DEFAULT_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 5_000;

/** The seed of a run: the config's, else `HIGHWATER_SEED`, else a fresh one. */
export function runSeedOf<O, A>(config: ConformanceConfig<O, A>): number {
  return config.seed ?? seedFromEnvironment();
}

/**
 * Runs one case programmatically, outside any test framework: starts the harness, runs the case,
 * stops the harness. Resolves with `passed` or `skipped` (and the reason); rejects with a
 * `ConformanceFailure` that names the case and the seed to replay it with.
 *
 * @example
 * const outcome = await runConformanceCase(concurrentWritesCase, { harness: new MyHarness() });
 */
export async function runConformanceCase<O, A>(
  c: ConformanceCase,
  config: ConformanceConfig<O, A>,
): Promise<CaseOutcome> {
  const reason = skipReason(c, config, capabilitiesOf(config.harness));
  if (reason !== null) return { status: 'skipped', reason };
  await config.harness.start();
  try {
    await runStartedCase(c, config, runSeedOf(config));
  } finally {
    await config.harness.stop();
  }
  return { status: 'passed' };
}

let tableCounter = 0;
const RUN_TAG = Math.random().toString(36).slice(2, 6).padEnd(4, '0');

/** Runs a case on a started harness, cleaning up whatever it created. */
export async function runStartedCase<O, A>(
  c: ConformanceCase,
  config: ConformanceConfig<O, A>,
  runSeed: number,
): Promise<void> {
  const seed = mixSeed(runSeed, c.id);
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const harness: ConformanceHarness<unknown, never> = config.harness;
  const factory = config.createSource ?? coreCreateSource;
  const serial = new Serial();
  const deferred: (() => Promise<void> | void)[] = [];
  const tables: string[] = [];
  const log = config.log ?? ((message: string) => console.info(message));

  const ctx: CaseContext = {
    harness,
    capabilities: capabilitiesOf(config.harness),
    seed,
    random: createRandom(seed),
    serial,
    async createAdapter() {
      const adapter = (await config.harness.createAdapter(config.adapterOptions)) as SourceAdapter<unknown>;
      const mismatch = capabilityMismatch(config.harness.adapterCapabilities, adapter.capabilities);
      if (mismatch.length > 0) {
        fail(`harness.adapterCapabilities does not match the adapter's capabilities (${mismatch.join(', ')})`);
      }
      return adapter;
    },
    createSource(options: SourceOptions<unknown>): Source {
      const source = factory({
        heartbeatIntervalMs: 5,
        retry: { attempts: 3, initialDelayMs: 5, maxDelayMs: 50 },
        ...options,
      });
      deferred.push(() => withTimeout(source.close(), CLOSE_TIMEOUT_MS, 'source.close()'));
      return source;
    },
    async createTable(definition) {
      const name = `hw_${definition.name}_${RUN_TAG}${++tableCounter}`;
      const qualified = await harness.createTable({ ...definition, name });
      tables.push(qualified);
      return qualified;
    },
    async poke() {
      await serial.run(() => harness.moveLog());
    },
    checkTime(what) {
      if (Date.now() <= deadline) return;
      fail(`timed out after ${timeoutMs} ms ${typeof what === 'string' ? what : what()}`);
    },
    timeLeft: () => Math.max(0, deadline - Date.now()),
    defer(fn) {
      deferred.push(fn);
    },
    log,
  };

  let failure: unknown = null;
  try {
    await c.run(ctx);
  } catch (error) {
    failure = error;
  }
  const cleanupErrors = await cleanUp(serial, deferred, harness, tables);
  if (failure !== null) throw describeFailure(c, runSeed, failure, cleanupErrors);
  if (cleanupErrors.length > 0) {
    throw new ConformanceFailure(`[${c.id}] cleaning up failed: ${cleanupErrors.join('; ')}${replay(runSeed)}`);
  }
}

async function cleanUp(
  serial: Serial,
  deferred: (() => Promise<void> | void)[],
  harness: ConformanceHarness<unknown, never>,
  tables: readonly string[],
): Promise<string[]> {
  const errors: string[] = [];
  // Let go of hooks waiting for the write lock first: closing a source waits for its chunk readers.
  serial.stop();
  for (const fn of deferred.reverse()) {
    try {
      await fn();
    } catch (error) {
      errors.push(messageOf(error));
    }
  }
  try {
    await harness.capabilities.visibilityLag?.release();
  } catch (error) {
    errors.push(messageOf(error));
  }
  for (const table of tables) {
    try {
      await harness.dropTable(table);
    } catch (error) {
      errors.push(`dropping ${table}: ${messageOf(error)}`);
    }
  }
  return errors;
}

function describeFailure(c: ConformanceCase, runSeed: number, error: unknown, cleanupErrors: readonly string[]): Error {
  const detail =
    error instanceof ConformanceFailure
      ? error.message
      : `failed with ${error instanceof Error ? `${error.name}${codeOf(error)}: ${error.message}` : String(error)}`;
  const cleanup = cleanupErrors.length > 0 ? `\n(cleaning up also failed: ${cleanupErrors.join('; ')})` : '';
  return new ConformanceFailure(`[${c.id}] ${detail}${cleanup}${replay(runSeed)}`, { cause: error });
}

function replay(runSeed: number): string {
  return `\n(run seed ${runSeed}: replay with HIGHWATER_SEED=${runSeed})`;
}

function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? ` (${code})` : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects with a failure naming `what` if the promise does not settle in time. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceFailure(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
