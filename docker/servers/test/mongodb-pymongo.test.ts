import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MongoSimulator, startMongoSimulator } from '../src/index.js';

// Debian's python3-pymongo installs for the system interpreter, not for whatever python3 comes first on PATH.
const PYTHON = '/usr/bin/python3';

function pymongoVersion(): string | undefined {
  try {
    return execFileSync(PYTHON, ['-c', 'import pymongo; print(pymongo.version)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const version = pymongoVersion();

// A second, independent client drives the simulator: handshake, CRUD, a change stream resumed from its token, and a
// transaction. Skipped (with this reason) where python3-pymongo is not installed; .ci/run installs it.
describe.skipIf(version === undefined)(
  'MongoDB simulator through pymongo (python3-pymongo not installed: skipped)',
  () => {
    let simulator: MongoSimulator;
    beforeAll(async () => {
      simulator = await startMongoSimulator();
    });
    afterAll(async () => {
      await simulator?.close();
    });

    it(`handshakes, writes, reads, streams changes and resumes (pymongo ${version})`, async () => {
      const script = fileURLToPath(new URL('./mongodb-pymongo-smoke.py', import.meta.url));
      const output = await new Promise<string>((resolve, reject) => {
        execFile(PYTHON, [script, simulator.url], { timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) =>
          error === null ? resolve(stdout) : reject(new Error(`pymongo smoke test failed: ${stderr || error.message}`)),
        );
      });
      const results = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
      expect(results).toEqual({
        setName: 'rs0',
        simulator: expect.stringMatching(/simulator/),
        docs: [
          { name: 'ada', age: 36, tags: ['math'] },
          { name: 'cy', n: 1099511627776 },
        ],
        count: 2,
        n: '1099511627776',
        generatedId: true,
        firstEvent: 'insert',
        resumedEvent: ['update', { x: 1 }],
        committed: true,
      });
    });
  },
);
