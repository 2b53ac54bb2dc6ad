import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Tests run against sources; this one checks what users get: each package's built ESM entry
// imports in plain Node (no vitest, no `source` condition) and exports what it should.
const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] })
  .workspaces;

const published = workspaces
  .map((dir) => ({
    dir,
    pkg: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
      private?: boolean;
      exports?: Record<string, unknown>;
    },
  }))
  .filter(({ pkg }) => pkg.private !== true && pkg.exports !== undefined);

describe('built packages', () => {
  it.each(published.map(({ pkg }) => [pkg.name, Object.keys(pkg.exports ?? {})] as const))(
    '%s imports from its built output in plain Node',
    (name, entries) => {
      for (const entry of entries) {
        const specifier = entry === '.' ? name : `${name}/${entry.slice(2)}`;
        const out = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).length);`,
          ],
          { cwd: root, encoding: 'utf8' },
        );
        expect(Number(out.trim())).toBeGreaterThan(0);
      }
    },
  );

  it('core exports the public API', async () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('@highwater/core'); console.log(Object.keys(m).sort().join(','));",
      ],
      { cwd: root, encoding: 'utf8' },
    );
    for (const name of [
      'createSource',
      'FileCheckpointStore',
      'MemoryCheckpointStore',
      'toDebeziumEnvelope',
      'toRowKinds',
      'HighwaterError',
      'MissingKeyError',
    ]) {
      expect(out.trim().split(',')).toContain(name);
    }
  });
});
