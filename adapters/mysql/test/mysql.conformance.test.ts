import { registerConformanceTests } from '@highwater/conformance';
import { MysqlHarness } from './mysql-harness.js';

registerConformanceTests({
  harness: new MysqlHarness(),
  timeoutMs: 60_000,
});
