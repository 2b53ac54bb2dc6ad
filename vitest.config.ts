import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against package sources, not built output, so no rebuild is needed between edits.
    conditions: ['source'],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'adapters/*/test/**/*.test.ts', 'conformance-tests/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
