import { registerConformanceTests } from '@highwater/conformance';
import { MongoHarness } from './mongodb-harness.js';

// On the MongoDB simulator of @highwater/test-servers (or the replica set of HIGHWATER_MONGODB_URL), once per changelog mode.
for (const changelog of ['preImages', 'upsert', 'normalize'] as const) {
  registerConformanceTests({
    harness: new MongoHarness(changelog),
    timeoutMs: 60_000,
    skip: {
      'error-missing-key':
        'MongoDB has no keyless collections: every document has an _id, the chunk key of every collection',
    },
  });
}
