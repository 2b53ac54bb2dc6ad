import { registerConformanceTests } from '../src/index.js';
import { MemoryHarness } from './memory-harness.js';

// The reference adapter passes the whole suite…
registerConformanceTests({ harness: new MemoryHarness() });

// …and so it does when its log carries only keys as before-images (as Postgres does without
// REPLICA IDENTITY FULL), which takes the core's other path for key-moving updates and deletes.
registerConformanceTests({
  harness: new MemoryHarness({ name: 'memory, key-only before-images', adapter: { beforeImage: 'key' } }),
});

// …and when its chunk readers hand rows over undecoded, which the core decodes only when it emits
// the chunk (the Postgres adapter's COPY path).
registerConformanceTests({
  harness: new MemoryHarness({ name: 'memory, rows decoded on release', adapter: { deferDecoding: true } }),
});
