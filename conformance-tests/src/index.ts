/**
 * `@highwater/conformance`: the suite every Highwater adapter must pass. Write a
 * {@link ConformanceHarness} for your database and call {@link registerConformanceTests} from a
 * vitest test file; or run single cases with {@link runConformanceCase}.
 */
export type {
  ColumnDefinition,
  ConformanceHarness,
  HarnessCapabilities,
  TableDefinition,
  WriteOp,
} from './harness.js';
export type {
  CaseContext,
  ConformanceCapabilities,
  ConformanceCase,
  ConformanceConfig,
  SourceFactory,
} from './case.js';
export { capabilitiesOf } from './capabilities.js';
export { registerConformanceTests } from './register.js';
export { type CaseOutcome, runConformanceCase } from './run-case.js';
export * from './cases/index.js';
export { ConformanceFailure } from './support/failure.js';
export { SingleConnectionWrites } from './support/single-connection-writes.js';
export { collect, LogTap } from './support/log-tap.js';
export { currentPosition, offsetOrder } from './support/consumer.js';
export { Materialised, type OffsetOrder, type OpCounts, type TrackedTable } from './support/materialised.js';
export { createRandom, type Random } from './support/random.js';
export {
  type EventCheck,
  nothingStored,
  type Stored,
  TransactionalConsumer,
  type TransactionalConsumerOptions,
} from './support/transactional.js';
