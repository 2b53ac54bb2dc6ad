import { registerConformanceTests } from '@highwater/conformance';
import { PostgresHarness } from './postgres-harness.js';

registerConformanceTests({
  harness: new PostgresHarness(),
  timeoutMs: 60_000,
});
