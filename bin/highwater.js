#!/usr/bin/env node
// `npx highwater` in a checkout of this repository (the root package.json names this file as its bin):
// runs the built command of packages/cli. This file is committed with its executable bit, which tsc does
// not give to the built one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../packages/cli/dist/bin/highwater.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write(
    'highwater: the command is not built yet in this checkout: run `npm ci && npm run build` first\n',
  );
  process.exit(2);
}
await import(built.href);
