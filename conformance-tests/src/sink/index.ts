/**
 * `@highwater/conformance/sink`: the suite every Highwater sink must pass. Write a
 * {@link SinkHarness} for your destination (a factory for the sink and a way to read back what it
 * stored) and call {@link registerSinkConformanceTests} from a vitest test file. See
 * docs/writing-a-sink.md.
 */
export { type SinkCase, type SinkCaseContext, SinkConformanceFailure, sinkCases } from './cases.js';
export { differences, expectedEvents, expectedTables } from './expected.js';
export type {
  SinkHarness,
  StoredChange,
  StoredData,
  StoredEvent,
  StoredSchemaChange,
  StoredState,
  StoredTruncate,
} from './harness.js';
export { storedEventOfNativeLine } from './native-lines.js';
export { registerSinkConformanceTests, runSinkCase, type SinkConformanceConfig } from './register.js';
export {
  checkpointAt,
  describeFrom,
  ITEMS,
  itemRow,
  ORDERS,
  orderRow,
  positionOf,
  qualified,
  SOURCE_SCHEMA,
  silentLogger,
  Workload,
} from './workload.js';
