import { registerConformanceTests } from '@highwater/conformance';
import { MongoHarness } from './mongodb-harness.js';

/** The suite's key-moving update cannot be one MongoDB event. */
const IMMUTABLE_ID =
  "MongoDB's _id is immutable: the suite's key-moving update is written as a delete and an insert in one transaction " +
  '(two events, as the server logs them), and this case compares the events one by one with a single update. ' +
  'The same writes are checked by materialisation in the other cases, and adapter tests cover the startup modes.';

// On the MongoDB simulator of @highwater/test-servers (or the replica set of HIGHWATER_MONGODB_URL), once per changelog mode.
for (const changelog of ['preImages', 'upsert', 'normalize'] as const) {
  registerConformanceTests({
    harness: new MongoHarness(changelog),
    timeoutMs: 60_000,
    skip: {
      'error-missing-key':
        'MongoDB has no keyless collections: every document has an _id, the chunk key of every collection',
      'startup-initial': IMMUTABLE_ID,
      'startup-latest': IMMUTABLE_ID,
      'startup-earliest': IMMUTABLE_ID,
      'startup-offset': IMMUTABLE_ID,
      'startup-timestamp': IMMUTABLE_ID,
    },
  });
}
