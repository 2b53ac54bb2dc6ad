import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Tests run against package sources, not built output: no rebuild between edits, and one copy of
  // each module (two copies of core would mean two sets of error classes).
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'adapters/*/test/**/*.test.ts',
      'sinks/*/test/**/*.test.ts',
      'conformance-tests/test/**/*.test.ts',
      'docker/*/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
