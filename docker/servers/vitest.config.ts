import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Lets this package's tests run on their own (`npx vitest run --config docker/servers/vitest.config.ts`); the root
// config runs them too once its `include` has 'docker/*/test/**/*.test.ts'.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { conditions: ['source'] },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
