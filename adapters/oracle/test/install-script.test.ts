import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const json = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;

describe('oracledb install script', () => {
  // node-oracledb's `install` script (package/install.js) only checks the Node version and prints a
  // banner about Thick mode; Thin mode needs nothing built. The root package.json denies it
  // explicitly, so `npm ci` neither runs it nor warns that it is unreviewed.
  it('is reviewed (denied) in the root allowScripts, and Thin mode loads without it', async () => {
    const oracledbJson = await json(require.resolve('oracledb/package.json'));
    const root = await json(new URL('../../../package.json', import.meta.url).pathname);
    const scripts = (oracledbJson.scripts ?? {}) as Record<string, string>;
    const allow = (root.allowScripts ?? {}) as Record<string, boolean>;
    if (scripts.install !== undefined || scripts.postinstall !== undefined || scripts.preinstall !== undefined) {
      expect(allow.oracledb, 'oracledb has an install script: review it in the root package.json allowScripts').toBe(
        false,
      );
    }
    const oracledb = (await import('oracledb')).default as { thin: boolean; versionString: string };
    expect(oracledb.thin).toBe(true);
  });
});
