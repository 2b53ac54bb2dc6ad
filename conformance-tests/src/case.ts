import type { AdapterCapabilities, LogicalType, Source, SourceAdapter, SourceOptions } from '@highwater/core';
import type { ConformanceHarness, TableDefinition } from './harness.js';
import type { Random } from './support/random.js';
import type { Serial } from './support/serial.js';

/** What a case may require: the adapter's declared capabilities and the harness's. */
export interface ConformanceCapabilities {
  readonly adapter: AdapterCapabilities;
  readonly harness: {
    readonly columnTypes: ReadonlySet<LogicalType['kind']>;
    readonly visibilityLag: boolean;
    readonly openConnections: boolean;
    readonly loseLog: boolean;
    readonly truncateTable: boolean;
    readonly unprivilegedAdapter: boolean;
    readonly emptyStringKeys: boolean;
    readonly immutableKeys: boolean;
    readonly commitTimeResolutionMs: number;
  };
}

/** What a running case gets: the harness, a seeded random source, and helpers that clean up after it. */
export interface CaseContext {
  /** The harness. Write through {@link CaseContext.serial} (the writers in `support/` do) so hooks can order writes exactly. */
  readonly harness: ConformanceHarness<unknown, never>;
  readonly capabilities: ConformanceCapabilities;
  /** The case's seed (derived from the run's seed and the case id); printed on failure. */
  readonly seed: number;
  readonly random: Random;
  /** The lock every write of the case goes through. Stopped when the case ends. */
  readonly serial: Serial;
  /** A fresh adapter from the harness (with the config's `adapterOptions`), its capabilities checked against the declared ones. */
  createAdapter(): Promise<SourceAdapter<unknown>>;
  /**
   * A source through the config's `createSource`, closed when the case ends. Test-friendly defaults
   * unless given: heartbeats every 5 ms (so a position is reported when nothing captured changes),
   * quick retries.
   */
  createSource(options: SourceOptions<unknown>): Source;
  /** Creates a table under a name unique to this run; dropped when the case ends. Returns the qualified name. */
  createTable(definition: TableDefinition): Promise<string>;
  /** Moves the log (`harness.moveLog`) under the write lock. */
  poke(): Promise<void>;
  /** Throws a timeout failure naming `what` once the case's time is up. */
  checkTime(what: string | (() => string)): void;
  /** Milliseconds left before the case times out. */
  timeLeft(): number;
  /** Runs `fn` when the case ends, pass or fail (last registered first). */
  defer(fn: () => Promise<void> | void): void;
  log(message: string): void;
}

/**
 * One conformance case: what it proves, how, and what passes (as Flink's `SourceTestSuiteBase`
 * asks), plus `run`, which throws on failure. Cases use no test framework, so they also run
 * outside vitest (see `runConformanceCase`).
 */
export interface ConformanceCase {
  /** Stable identifier, e.g. `snapshot-concurrent-writes`; used in titles and in `only`/`skip`. */
  readonly id: string;
  readonly title: string;
  /** What the case proves and how it works. */
  readonly purpose: string;
  /** What must hold for it to pass. */
  readonly passCondition: string;
  /** Why the case cannot run with these capabilities, or null when it can. Never looks at the adapter's name. */
  requires?(capabilities: ConformanceCapabilities): string | null;
  run(ctx: CaseContext): Promise<void>;
}

/** Creates a source; core's `createSource` by default. Tests inject deliberately broken variants through it. */
export type SourceFactory = <O>(options: SourceOptions<O>) => Source;

/** How to run the suite. */
export interface ConformanceConfig<O = unknown, A = never> {
  readonly harness: ConformanceHarness<O, A>;
  /** Passed to every `harness.createAdapter` call (e.g. an unsafe variant in a test that proves the suite catches it). */
  readonly adapterOptions?: A;
  /** Default: core's `createSource`. */
  readonly createSource?: SourceFactory;
  /** Run only these case ids. */
  readonly only?: readonly string[];
  /** Case ids not to run, each with the reason shown in the output. */
  readonly skip?: { readonly [caseId: string]: string };
  /** Seed for every random choice; default `HIGHWATER_SEED` from the environment, else random (and printed). */
  readonly seed?: number;
  /** Time limit per case in ms (default 30000). */
  readonly timeoutMs?: number;
  /** Where seeds and progress notes go (default `console.info`). */
  readonly log?: (message: string) => void;
}
